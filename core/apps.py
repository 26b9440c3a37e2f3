from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Operations")

    def ready(self) -> None:
        from core.schedules import Schedule, register_schedule, setup_periodic_tasks

        register_schedule(
            Schedule(
                name="Worker heartbeat",
                task="core.heartbeat",
                every_seconds=60,
                description="Records that a worker is alive; shown on /health/.",
            )
        )
        post_migrate.connect(setup_periodic_tasks, sender=self)
