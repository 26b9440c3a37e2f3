from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = _("sevDesk exports")

    def ready(self) -> None:
        from core.schedules import Schedule, register_schedule

        register_schedule(
            Schedule(
                name="sevDesk export",
                task="exports.run_all",
                every_seconds=settings.SEVDESK_EXPORT_INTERVAL_MINUTES * 60,
                description="Exports the eligible orders of every active sevDesk connection.",
            )
        )
