from django.db.models import Count

from accounts_mapping.models import AccountAssignment
from connections.models import Connection
from orders.enums import PAYMENT_TYPES, payment_type_name
from orders.models import Order


def payment_methods_for(*, connection: Connection) -> tuple[list[tuple[int, str]], list]:
    """(payment methods seen in the merchant's orders or assigned, most used first; the rest)."""
    seen = (
        Order.objects.for_merchant(connection.merchant)
        .exclude(payment_method=None)
        .values("payment_method")
        .annotate(orders=Count("pk"))
        .order_by("-orders", "payment_method")
    )
    first = [row["payment_method"] for row in seen]
    assigned = AccountAssignment.objects.filter(connection=connection).exclude(payment_method=None)
    first += [pm for pm in assigned.values_list("payment_method", flat=True) if pm not in first]
    rest = [pm for pm in sorted(PAYMENT_TYPES) if pm not in first]
    return (
        [(pm, payment_type_name(pm)) for pm in first],
        [(pm, payment_type_name(pm)) for pm in rest],
    )


def assignments_by_method(*, connection: Connection) -> dict[int | None, AccountAssignment]:
    return {a.payment_method: a for a in AccountAssignment.objects.filter(connection=connection)}
