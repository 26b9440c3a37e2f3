"""The sandbox Billbee's overview page (the API itself is in api.py).

Each merchant sees the sandbox accounts it owns (API key and password are credentials) and
their orders, nothing else; a login without a merchant account gets 404.
"""

from django.conf import settings
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from orders.enums import order_state_name, payment_type_name

from .invoices import invoice_number
from .models import SandboxAccount, SandboxOrder
from .selectors import LATEST_ORDERS


def order_list(request: HttpRequest) -> HttpResponse:
    """The merchant's accounts with their credentials, shops and order counts, and the latest
    orders."""
    if request.merchant is None:
        raise Http404
    accounts = (
        SandboxAccount.objects.filter(owner=request.merchant)
        .annotate(order_count=Count("orders"))
        .prefetch_related("shops")
    )
    latest = (
        SandboxOrder.objects.filter(account__owner=request.merchant)
        .select_related("account", "shop")
        .order_by("-last_modified_at")[:LATEST_ORDERS]
    )
    orders = [
        {
            "order": order,
            "state": order_state_name(order.state),
            "payment": payment_type_name(order.data.get("PaymentMethod")),
            "invoice_number": invoice_number(order.data),
            "total": order.data.get("TotalCost"),
            "currency": order.data.get("Currency"),
        }
        for order in latest
    ]
    context = {
        "accounts": list(accounts),
        "orders": orders,
        "api_base_url": f"{settings.SITE_URL}/sandbox/billbee/api/v1",
    }
    return render(request, "sandbox/billbee/order_list.html", context)
