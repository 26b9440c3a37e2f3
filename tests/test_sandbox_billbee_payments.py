"""The sandbox Billbee records payments as Billbee does: split payments and later ones."""

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.timezone import make_aware

from orders.billbee_client import parse_order
from sandbox.billbee.models import SandboxAccount, SandboxOrder
from sandbox.billbee.representations import billbee_timestamp, parse_billbee_timestamp
from sandbox.billbee.services import (
    account_get_or_create,
    order_payment_add,
    orders_generate,
    orders_mutate,
)
from tests.contracts.billbee import validate_billbee_request, validate_billbee_response

D = Decimal
API = "/sandbox/billbee/api/v1"
START = datetime(2026, 6, 1, tzinfo=UTC)
GIFT_CARD = 6
PAYPAL = 3


@pytest.fixture(autouse=True)
def no_throttle(settings):
    settings.SANDBOX_BILLBEE_THROTTLE = False
    cache.clear()


@pytest.fixture
def sandbox(db) -> SandboxAccount:
    account, _created = account_get_or_create(name="Payments")
    orders_generate(account=account, count=300, seed=5, start=START)
    return account


def paid_documents(account: SandboxAccount) -> list[dict]:
    return [o.data for o in account.orders.order_by("billbee_id") if o.data["Payments"]]


def an_open_order(account: SandboxAccount) -> SandboxOrder:
    return account.orders.filter(paid_at__isnull=True).order_by("billbee_id")[0]


def get(client, account: SandboxAccount, path: str, params: dict | None = None) -> dict:
    """A GET of the sandbox API with request and answer checked against Billbee's spec."""
    url = API + path + (f"?{urlencode(params)}" if params else "")
    secret = base64.b64encode(f"{account.username}:{account.api_password}".encode()).decode()
    headers = {"X-Billbee-Api-Key": account.api_key, "Authorization": f"Basic {secret}"}
    validate_billbee_request("GET", url, headers=headers)
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.content[:300]
    validate_billbee_response("GET", url, status=200, body=response.content)
    return json.loads(response.content, parse_float=Decimal)


# --- The generator -------------------------------------------------------------------------


def test_some_paid_orders_are_paid_partly_by_gift_card_and_the_rest_by_their_method(sandbox):
    paid = paid_documents(sandbox)
    split = [d for d in paid if len(d["Payments"]) == 2]

    assert 0.04 < len(split) / len(paid) < 0.2
    assert all(len(d["Payments"]) in (1, 2) for d in paid)
    for document in split:
        gift, rest = document["Payments"]
        total = D(document["TotalCost"])
        assert gift["PaymentType"] == GIFT_CARD
        assert rest["PaymentType"] == document["PaymentMethod"]
        assert gift["BillbeeId"] != rest["BillbeeId"]
        assert gift["TransactionId"] != rest["TransactionId"]
        assert D("0.10") * total - D("0.005") <= D(gift["PayValue"]) <= D("0.30") * total
        assert D(gift["PayValue"]) == D(gift["PayValue"]).quantize(D("0.01"))
        # the payment that completed the order is the later one, and its date is PayedAt
        assert gift["PayDate"] <= rest["PayDate"] == document["PayedAt"]
        assert gift["PayDate"] >= document["CreatedAt"]


def test_every_paid_order_is_paid_exactly_its_total(sandbox):
    for document in paid_documents(sandbox):
        values = sum((D(p["PayValue"]) for p in document["Payments"]), D(0))
        assert values == D(document["PaidAmount"]) == D(document["TotalCost"])
        assert document["PayedAt"] == document["Payments"][-1]["PayDate"]


def test_the_same_seed_splits_the_same_orders(db):
    first, _ = account_get_or_create(name="First")
    second, _ = account_get_or_create(name="Second")
    orders_generate(account=first, count=120, seed=8, start=START)
    orders_generate(account=second, count=120, seed=8, start=START)

    payments = [[d["Payments"] for d in paid_documents(a)] for a in (first, second)]

    assert payments[0] == payments[1]
    assert any(len(entry) == 2 for entry in payments[0])


def test_mutate_pays_what_an_earlier_part_payment_left_open(sandbox):
    order = an_open_order(sandbox)
    order = order_payment_add(order=order, amount=D("5.00"), payment_type=GIFT_CARD)
    order.state = order.data["State"] = 1
    order.save(update_fields=["state", "data"])

    orders_mutate(account=sandbox, count=300, seed=1)  # as many as there are: every one moves

    order.refresh_from_db()
    assert order.paid_at is not None

    values = [D(p["PayValue"]) for p in order.data["Payments"]]
    assert values[0] == D("5.00")
    assert sum(values) == D(order.data["PaidAmount"]) == D(order.data["TotalCost"])


# --- order_payment_add ---------------------------------------------------------------------


def test_a_part_payment_leaves_the_order_unpaid_until_the_rest_arrives(sandbox):
    order = an_open_order(sandbox)
    total = D(order.data["TotalCost"])
    before = order.last_modified_at
    first_day = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    second_day = datetime(2026, 11, 5, 14, 0, tzinfo=UTC)

    order = order_payment_add(order=order, amount=D("5.00"), payment_type=GIFT_CARD, when=first_day)

    assert order.paid_at is None and order.data["PayedAt"] is None
    assert D(order.data["PaidAmount"]) == D("5.00")
    assert order.last_modified_at > before
    assert order.data["LastModifiedAt"] == billbee_timestamp(order.last_modified_at)
    after_first = order.last_modified_at

    order = order_payment_add(
        order=order, amount=total - D("5.00"), payment_type=PAYPAL, when=second_day
    )

    order.refresh_from_db()
    assert order.paid_at == second_day
    assert order.data["PayedAt"] == "2026-11-05T14:00:00.000"
    assert order.last_modified_at > after_first
    assert [(p["PaymentType"], D(p["PayValue"])) for p in order.data["Payments"]] == [
        (GIFT_CARD, D("5.00")),
        (PAYPAL, total - D("5.00")),
    ]
    assert [p["PayDate"] for p in order.data["Payments"]] == [
        "2026-11-02T09:30:00.000",
        "2026-11-05T14:00:00.000",
    ]
    assert D(order.data["PaidAmount"]) == total


def test_mark_paid_sets_the_pay_date_before_the_total_is_reached(sandbox):
    order = an_open_order(sandbox)
    when = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

    order = order_payment_add(
        order=order, amount=D("1.00"), payment_type=PAYPAL, when=when, mark_paid=True
    )

    assert order.paid_at == when
    assert D(order.data["PaidAmount"]) == D("1.00") < D(order.data["TotalCost"])


def test_mark_paid_false_records_a_full_payment_without_marking_the_order_paid(sandbox):
    order = an_open_order(sandbox)

    order = order_payment_add(
        order=order, amount=D(order.data["TotalCost"]), payment_type=PAYPAL, mark_paid=False
    )

    assert order.paid_at is None and order.data["PayedAt"] is None
    assert D(order.data["PaidAmount"]) == D(order.data["TotalCost"])


def test_a_later_payment_never_clears_or_moves_the_pay_date(sandbox):
    order = sandbox.orders.filter(paid_at__isnull=False).order_by("billbee_id")[0]
    paid_at, payed_at = order.paid_at, order.data["PayedAt"]

    order = order_payment_add(
        order=order, amount=D("-3.00"), payment_type=PAYPAL, when=paid_at + timedelta(days=3)
    )

    assert (order.paid_at, order.data["PayedAt"]) == (paid_at, payed_at)
    assert D(order.data["PaidAmount"]) == D(order.data["TotalCost"]) - D("3.00")


def test_a_payment_of_nothing_is_refused(sandbox):
    with pytest.raises(ValueError):
        order_payment_add(order=an_open_order(sandbox), amount=D("0.00"), payment_type=PAYPAL)


# --- The API answers with them -------------------------------------------------------------


def test_the_orders_api_answers_both_payments_to_a_sync_by_modification_date(client, sandbox):
    order = an_open_order(sandbox)
    total = D(order.data["TotalCost"])
    cursor = billbee_timestamp(sandbox.orders.order_by("-last_modified_at")[0].last_modified_at)
    order_payment_add(order=order, amount=D("7.50"), payment_type=GIFT_CARD)
    order_payment_add(order=order, amount=total - D("7.50"), payment_type=PAYPAL)

    answer = get(client, sandbox, "/orders", {"modifiedAtMin": cursor, "pageSize": 250})

    [found] = answer["Data"]
    assert found["BillBeeOrderId"] == order.billbee_id
    assert [(p["PaymentType"], p["PayValue"]) for p in found["Payments"]] == [
        (GIFT_CARD, D("7.50")),
        (PAYPAL, total - D("7.50")),
    ]
    assert (found["PaidAmount"], found["TotalCost"]) == (total, total)
    assert parse_billbee_timestamp(found["LastModifiedAt"]) > parse_billbee_timestamp(cursor)
    parsed = parse_order(found)
    assert [p.amount for p in parsed.payments] == [D("7.50"), total - D("7.50")]
    assert parsed.paid_at is not None


def test_a_generated_split_order_is_answered_and_parsed_with_both_payments(client, sandbox):
    split = next(d for d in paid_documents(sandbox) if len(d["Payments"]) == 2)

    found = get(client, sandbox, f"/orders/{split['BillBeeOrderId']}")["Data"]

    assert [p["PayValue"] for p in found["Payments"]] == [
        D(p["PayValue"]) for p in split["Payments"]
    ]
    parsed = parse_order(found)
    assert [p.payment_type for p in parsed.payments] == [GIFT_CARD, split["PaymentMethod"]]
    assert sum(p.amount for p in parsed.payments) == parsed.paid_amount == parsed.total_cost


# --- The command ---------------------------------------------------------------------------


def test_the_pay_command_adds_a_payment(sandbox, capsys):
    order = an_open_order(sandbox)

    call_command(
        "sandbox_billbee_pay",
        "--account",
        str(sandbox.pk),
        "--order",
        str(order.billbee_id),
        "--amount",
        "2.50",
        "--type",
        "6",
        "--when",
        "2026-11-02T10:30",
    )

    order.refresh_from_db()
    [payment] = order.data["Payments"]
    assert (payment["PaymentType"], D(payment["PayValue"])) == (GIFT_CARD, D("2.50"))
    # a time without offset is in the site's time zone
    assert payment["PayDate"] == billbee_timestamp(make_aware(datetime(2026, 11, 2, 10, 30)))
    assert order.paid_at is None
    assert "paid 2.50 of" in capsys.readouterr().out


def test_the_pay_command_can_mark_the_order_paid(sandbox):
    order = an_open_order(sandbox)

    call_command(
        "sandbox_billbee_pay", order=order.billbee_id, amount="1.00", type=3, mark_paid=True
    )

    order.refresh_from_db()
    assert order.paid_at is not None and order.data["PayedAt"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"amount": "zwölf"}, "Not an amount"),
        ({"amount": "1.005"}, "in cents"),
        ({"amount": "0"}, "amount"),
        ({"when": "gestern"}, "ISO 8601"),
        ({"account": 0}, "No sandbox order"),
    ],
)
def test_the_pay_command_refuses_what_it_cannot_book(sandbox, options, message):
    order = an_open_order(sandbox)

    with pytest.raises(CommandError, match=message):
        call_command("sandbox_billbee_pay", order=order.billbee_id, **({"amount": "1"} | options))

    order.refresh_from_db()
    assert order.data["Payments"] == []
