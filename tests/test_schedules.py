import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.schedules import declared_schedules, setup_periodic_tasks


@pytest.mark.django_db
def test_migrate_creates_every_declared_schedule():
    names = set(PeriodicTask.objects.values_list("name", flat=True))

    assert {schedule.name for schedule in declared_schedules()} <= names
    assert PeriodicTask.objects.get(name="Worker heartbeat").task == "core.heartbeat"


@pytest.mark.django_db
def test_setting_up_schedules_again_creates_nothing_and_keeps_admin_changes():
    task = PeriodicTask.objects.get(name="Worker heartbeat")
    task.interval, _ = IntervalSchedule.objects.get_or_create(
        every=300, period=IntervalSchedule.SECONDS
    )
    task.enabled = False
    task.save()

    created = setup_periodic_tasks()

    assert created == []
    task.refresh_from_db()
    assert (task.interval.every, task.enabled) == (300, False)
    assert PeriodicTask.objects.filter(name="Worker heartbeat").count() == 1


@pytest.mark.django_db
def test_a_deleted_schedule_comes_back():
    PeriodicTask.objects.filter(name="Worker heartbeat").delete()

    assert setup_periodic_tasks() == ["Worker heartbeat"]
