"""The sandbox Billbee records payments as Billbee does: split payments and later ones."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sandbox.billbee.services import account_get_or_create, order_payment_add, orders_generate

D = Decimal


@pytest.fixture
def sandbox(db):
    account, _created = account_get_or_create(name="Payments")
    orders_generate(account=account, count=300, seed=5, start=datetime(2026, 6, 1, tzinfo=UTC))
    return account


def test_some_paid_orders_are_paid_partly_by_gift_card_and_always_add_up(sandbox):
    paid = [o.data for o in sandbox.orders.all() if o.data["Payments"]]
    split = [d for d in paid if len(d["Payments"]) == 2]

    assert 0.03 < len(split) / len(paid) < 0.2
    for document in split:
        gift, rest = document["Payments"]
        assert gift["PaymentType"] == 6
        assert rest["PaymentType"] == document["PaymentMethod"]
        assert gift["BillbeeId"] != rest["BillbeeId"]
    for document in paid:
        values = sum((D(p["PayValue"]) for p in document["Payments"]), D(0))
        assert values == D(document["PaidAmount"]) == D(document["TotalCost"])


def test_a_part_payment_leaves_the_order_unpaid_until_the_rest_arrives(sandbox):
    order = sandbox.orders.filter(paid_at__isnull=True).order_by("pk")[0]
    total = D(order.data["TotalCost"])
    before = order.last_modified_at

    order = order_payment_add(order=order, amount=D("5.00"), payment_type=6)
    assert order.paid_at is None and order.data["PayedAt"] is None
    assert D(order.data["PaidAmount"]) == D("5.00")
    assert order.last_modified_at > before

    order = order_payment_add(order=order, amount=total - D("5.00"), payment_type=3)
    assert order.paid_at is not None and order.data["PayedAt"]
    assert [p["PaymentType"] for p in order.data["Payments"]] == [6, 3]
    assert D(order.data["PaidAmount"]) == total


def test_the_pay_command_adds_a_payment(sandbox):
    from django.core.management import call_command

    order = sandbox.orders.filter(paid_at__isnull=True).order_by("pk")[0]

    call_command("sandbox_billbee_pay", order=order.billbee_id, amount="2.50", type=6)

    order.refresh_from_db()
    assert [(p["PaymentType"], D(p["PayValue"])) for p in order.data["Payments"]] == [
        (6, D("2.50"))
    ]
