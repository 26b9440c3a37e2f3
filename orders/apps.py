from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Billbee orders")

    def ready(self) -> None:
        from core.schedules import Schedule, register_schedule

        register_schedule(
            Schedule(
                name="Billbee webhooks check",
                task="orders.webhooks_check",
                # Six-hourly: the quarter-hourly poll covers a dropped webhook meanwhile, and
                # idle cost stays low (README, "Billbee API budget").
                every_seconds=6 * 3600,
                description="Registers an account's webhook again when Billbee dropped it.",
            )
        )
        register_schedule(
            Schedule(
                name="Billbee sync",
                task="orders.sync_all",
                every_seconds=60,
                description=(
                    "Each minute: fetches the orders changed in Billbee of every account that "
                    "is due (its sync interval passed, or a webhook asked)."
                ),
            )
        )
