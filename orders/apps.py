from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Billbee orders")

    def ready(self) -> None:
        from core.schedules import Schedule, register_schedule

        register_schedule(
            Schedule(
                name="Billbee sync",
                task="orders.sync_all",
                every_seconds=settings.BILLBEE_SYNC_INTERVAL_MINUTES * 60,
                description="Fetches the orders changed in Billbee of every enabled account.",
            )
        )
