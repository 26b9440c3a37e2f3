from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = _("sevDesk connections")

    def ready(self) -> None:
        from connections.selectors import order_list_context
        from core.schedules import Schedule, register_schedule
        from orders.extensions import add_order_list_context

        add_order_list_context(order_list_context)

        register_schedule(
            Schedule(
                name="sevDesk: re-check rejected tokens",
                task="connections.recheck_tokens",
                every_seconds=60,
                description="Tries a rejected token again 1, 5 and 15 minutes after the 401.",
            )
        )
