from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReconciliationConfig(AppConfig):
    name = "reconciliation"
    verbose_name = _("Reconciliation")

    def ready(self) -> None:
        from core.schedules import Schedule, register_schedule

        register_schedule(
            Schedule(
                name="sevDesk reconciliation: monthly reports",
                task="reconciliation.schedule_monthly",
                every_seconds=86400,
                description="From the 3rd of each month: the previous month's reconciliation "
                "report for every active connection (once per month and connection).",
            )
        )
