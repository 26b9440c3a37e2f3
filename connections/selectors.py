"""Reads of the sevDesk side."""

from django.http import HttpRequest

from connections.models import Connection


def orders_outside_connections(*, merchant, orders) -> set[int]:
    """The orders (of those given) that no active connection of the merchant sends: their
    shop belongs to none, or they are manual orders and no connection takes those."""
    active = Connection.objects.for_merchant(merchant).filter(is_active=True)
    covered_shops = set(active.values_list("shops", flat=True)) - {None}
    manual_covered = active.filter(include_manual_orders=True).exists()
    return {
        order.pk
        for order in orders
        if (order.shop_id is None and not manual_covered)
        or (order.shop_id is not None and order.shop_id not in covered_shops)
    }


def order_list_context(request: HttpRequest, orders) -> dict:
    return {
        "outside_connections": orders_outside_connections(merchant=request.merchant, orders=orders)
    }
