"""Reads for the sandbox Billbee's overview page."""

from django.db.models import Count

from .models import SandboxAccount, SandboxOrder

LATEST_ORDERS = 25


def accounts_overview() -> list[SandboxAccount]:
    return list(
        SandboxAccount.objects.annotate(order_count=Count("orders")).prefetch_related("shops")
    )


def orders_latest(*, limit: int = LATEST_ORDERS) -> list[SandboxOrder]:
    return list(
        SandboxOrder.objects.select_related("account", "shop").order_by("-last_modified_at")[:limit]
    )
