"""Periodic schedules, declared by the apps and written into django-celery-beat's tables.

Each app registers its schedules in its ``AppConfig.ready()``; ``setup_periodic_tasks`` runs
after every ``migrate``. A schedule that already exists is left as it is, so an operator's
changes in the admin (interval, enabled) survive restarts and upgrades.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    every_seconds: int
    description: str


_schedules: dict[str, Schedule] = {}


def register_schedule(schedule: Schedule) -> None:
    _schedules[schedule.name] = schedule


def declared_schedules() -> list[Schedule]:
    return list(_schedules.values())


def setup_periodic_tasks(**kwargs) -> list[str]:
    """Create the declared periodic tasks that do not exist yet; return the names created."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    created = []
    for schedule in declared_schedules():
        if PeriodicTask.objects.filter(name=schedule.name).exists():
            continue
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=schedule.every_seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.create(
            name=schedule.name,
            task=schedule.task,
            interval=interval,
            description=schedule.description,
        )
        created.append(schedule.name)
    return created
