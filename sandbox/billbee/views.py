"""The sandbox Billbee's overview page (the API itself is in api.py)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from orders.enums import order_state_name, payment_type_name

from .invoices import invoice_number
from .selectors import accounts_overview, orders_latest


def order_list(request: HttpRequest) -> HttpResponse:
    """Accounts with their credentials, shops and order counts, and the latest orders."""
    orders = [
        {
            "order": order,
            "state": order_state_name(order.state),
            "payment": payment_type_name(order.data.get("PaymentMethod")),
            "invoice_number": invoice_number(order.data),
            "total": order.data.get("TotalCost"),
            "currency": order.data.get("Currency"),
        }
        for order in orders_latest()
    ]
    context = {
        "accounts": accounts_overview(),
        "orders": orders,
        "api_base_url": f"{settings.SITE_URL}/sandbox/billbee/api/v1",
    }
    return render(request, "sandbox/billbee/order_list.html", context)
