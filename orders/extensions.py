"""Extension points of the order screens, for the apps that build on the Billbee side.

The sevDesk side knows which orders its connections send; the order list shows it without
`orders` importing `connections`. Providers are registered in ``AppConfig.ready()``.
"""

from collections.abc import Callable

from django.http import HttpRequest

OrderListContext = Callable[[HttpRequest, list], dict]

_order_list_contexts: list[OrderListContext] = []


def add_order_list_context(provider: OrderListContext) -> None:
    """`provider(request, orders_on_the_page)` adds to the order list's context."""
    if provider not in _order_list_contexts:
        _order_list_contexts.append(provider)


def order_list_context(request: HttpRequest, orders: list) -> dict:
    context: dict = {}
    for provider in _order_list_contexts:
        context.update(provider(request, orders))
    return context
