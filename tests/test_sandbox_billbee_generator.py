"""The sandbox's order generator and the changes it simulates over time."""

import copy
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from orders.billbee_client import parse_order
from sandbox.billbee.api import order_document
from sandbox.billbee.models import SandboxAccount
from sandbox.billbee.representations import billbee_dumps
from sandbox.billbee.services import orders_generate, orders_mutate
from tests.contracts.billbee import validate_billbee_response

START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def account(db) -> SandboxAccount:
    return SandboxAccount.objects.create(name="Gen", username="gen@example.com")


@pytest.fixture
def many_orders(account) -> list[dict]:
    orders_generate(account=account, count=600, seed=11, start=START)
    return [order.data for order in account.orders.order_by("billbee_id")]


def without_ids(document: dict) -> dict:
    """The order minus what depends on database ids, to compare two generations."""
    document = copy.deepcopy(document)
    document.pop("BillBeeOrderId")
    for party in ("Seller", "Buyer"):
        document[party].pop("BillbeeShopId")
    return document


def test_the_same_seed_generates_the_same_orders(db):
    first = SandboxAccount.objects.create(name="A", username="a@example.com")
    second = SandboxAccount.objects.create(name="B", username="b@example.com")

    orders_generate(account=first, count=40, seed=5, start=START)
    orders_generate(account=second, count=40, seed=5, start=START)

    documents = [
        [without_ids(o.data) for o in account.orders.order_by("billbee_id")]
        for account in (first, second)
    ]
    assert documents[0] == documents[1]


def test_another_seed_generates_other_orders(db):
    first = SandboxAccount.objects.create(name="A", username="a@example.com")
    second = SandboxAccount.objects.create(name="B", username="b@example.com")

    orders_generate(account=first, count=10, seed=1, start=START)
    orders_generate(account=second, count=10, seed=2, start=START)

    totals = [
        [o.data["TotalCost"] for o in account.orders.order_by("billbee_id")]
        for account in (first, second)
    ]
    assert totals[0] != totals[1]


def test_generated_orders_vary_like_a_real_german_shop(many_orders):
    items = [item for order in many_orders for item in order["OrderItems"]]

    assert {1, 2, 3, 4, 7, 8} <= {order["State"] for order in many_orders}
    assert {0, 2, 3} <= {order["VatMode"] for order in many_orders}
    assert {"EUR", "USD", "CHF"} <= {order["Currency"] for order in many_orders}
    assert {1, 3, 31, 59, 61, 98, 157} <= {order["PaymentMethod"] for order in many_orders}
    assert {"Mein Shopify-Shop", "Amazon DE", "eBay"} == {
        order["Seller"]["BillbeeShopName"] for order in many_orders
    }
    assert any(order["InvoiceNumber"] is None for order in many_orders)
    assert any(order["PayedAt"] is None for order in many_orders)
    assert {1, 2} <= {item["TaxIndex"] for item in items if not item["IsCoupon"]}
    assert any(item["IsCoupon"] for item in items)
    assert any(Decimal(item["Discount"]) > 0 for item in items)
    assert any(len(item["TaxAmount"].split(".")[-1]) > 20 for item in items)
    assert all(order["CustomerVatId"] for order in many_orders if order["VatMode"] == 2)
    countries = {order["InvoiceAddress"]["CountryISO2"] for o in many_orders for order in [o]}
    assert {"DE", "CH", "US"} <= countries


def test_order_totals_add_up_to_lines_shipping_and_adjustment(many_orders):
    for order in many_orders:
        lines = sum(Decimal(item["TotalPrice"]) for item in order["OrderItems"])
        expected = lines + Decimal(order["ShippingCost"]) + Decimal(order["AdjustmentCost"])
        assert Decimal(order["TotalCost"]) == expected, order["BillBeeOrderId"]


def test_every_generated_order_matches_the_spec_and_parses(account, many_orders):
    body = {"ErrorMessage": None, "ErrorCode": 0, "ErrorDescription": "NoError"}
    body["Paging"] = {"Page": 1, "TotalPages": 1, "TotalRows": 600, "PageSize": 600}
    body["Data"] = [order_document(order) for order in account.orders.all()]

    validate_billbee_response("GET", "/api/v1/orders", status=200, body=billbee_dumps(body))
    parsed = [parse_order(order) for order in body["Data"]]
    assert len(parsed) == 600
    assert all(
        order.has_invoice == bool(raw["InvoiceNumber"])
        for order, raw in zip(parsed, body["Data"], strict=True)
    )


def test_invoice_numbers_are_unique_and_continue_across_runs(account):
    orders_generate(account=account, count=50, seed=1, start=START)
    orders_generate(account=account, count=50, seed=2, start=START)

    numbers = [o.data["InvoiceNumber"] for o in account.orders.all() if o.data["InvoiceNumber"]]
    assert len(numbers) == len(set(numbers))
    assert sorted(numbers) == list(range(1, len(numbers) + 1))


def test_a_small_business_account_sells_without_vat(db):
    account = SandboxAccount.objects.create(
        name="Klein", username="k@example.com", small_business=True
    )

    orders_generate(account=account, count=30, seed=4, start=START)

    documents = [order.data for order in account.orders.all()]
    assert {doc["VatMode"] for doc in documents} == {1}
    assert all(Decimal(i["TaxAmount"]) == 0 for doc in documents for i in doc["OrderItems"])


def test_mutate_moves_orders_on_and_bumps_last_modified(account):
    orders_generate(account=account, count=60, seed=9, start=START)
    before = {o.pk: (o.state, o.last_modified_at, o.data) for o in account.orders.all()}
    now = datetime.now(UTC) + timedelta(seconds=5)

    changed = orders_mutate(account=account, count=20, seed=9, now=now)

    assert len(changed) == 20
    for order in changed:
        order.refresh_from_db()
        _, old_modified, old_data = before[order.pk]
        assert order.last_modified_at > old_modified
        assert order.data["LastModifiedAt"] != old_data["LastModifiedAt"]
        assert order.data != old_data
    unchanged = account.orders.exclude(pk__in=[o.pk for o in changed])
    assert all(o.last_modified_at == before[o.pk][1] for o in unchanged)


def test_mutate_eventually_pays_and_invoices_open_orders(account):
    orders_generate(account=account, count=40, seed=2, start=START)
    open_before = account.orders.filter(paid_at__isnull=True).count()

    for round_number in range(6):
        orders_mutate(account=account, count=40, seed=round_number)

    assert account.orders.filter(paid_at__isnull=True).count() < open_before
    steps = Counter(o.state for o in account.orders.all())
    assert steps[7] > 0
    invoiced = [o.data["InvoiceNumber"] for o in account.orders.all() if o.data["InvoiceNumber"]]
    assert len(invoiced) == len(set(invoiced))


def test_twenty_thousand_orders_are_generated_quickly(account):
    started = datetime.now(UTC)

    orders_generate(account=account, count=20_000, seed=1)

    assert account.orders.count() == 20_000
    assert datetime.now(UTC) - started < timedelta(seconds=45)


def test_the_command_creates_the_account_and_prints_its_credentials(db, capsys):
    call_command("sandbox_billbee_generate", "--orders", "12", "--account-name", "Demo")

    account = SandboxAccount.objects.get(name="Demo")
    output = capsys.readouterr().out
    assert account.orders.count() == 12
    assert account.api_key in output and account.api_password in output
    assert account.username in output
