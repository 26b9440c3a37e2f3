"""The sandbox must not run in production: its pages and APIs are simulators with demo
credentials, its accounts accept any client that knows a token."""

from django.conf import settings
from django.core import checks


def sandbox_not_in_production(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if not settings.PRODUCTION:
        return []
    return [
        checks.Error(
            "SANDBOX_ENABLED is on with APP_ENV=production.",
            hint=(
                "The sandbox (simulated Billbee and sevDesk, demo data) is for development "
                "only: remove SANDBOX_ENABLED or set it to false."
            ),
            id="sandbox.E001",
        )
    ]
