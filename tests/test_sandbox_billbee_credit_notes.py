"""The simulated Billbee issues credit notes as Billbee does: an invoiced order cancelled with
a "<invoice number>-GS" credit note, listed by GET /orders/invoices with Type "creditnote" and
negative amounts; our client and document mirror read them, and a cancelled export with its
credit note in Billbee is not reported as missing one."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders.billbee_client import parse_invoice_entry
from sandbox.billbee.services import orders_generate, orders_refund
from tests.test_sandbox_billbee_api import START, call, decoded

pytestmark = pytest.mark.usefixtures("no_throttle")

REFUNDED_AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def account(db):
    from sandbox.billbee.models import SandboxAccount

    return SandboxAccount.objects.create(name="Test", username="shop@example.com")


@pytest.fixture
def no_throttle(settings):
    from django.core.cache import cache

    settings.SANDBOX_BILLBEE_THROTTLE = False
    cache.clear()


def test_a_refund_cancels_the_order_and_lists_its_credit_note(client, account):
    orders_generate(account=account, count=12, seed=5, start=START)
    (order,) = orders_refund(account=account, count=1, seed=1, now=REFUNDED_AT)

    body = decoded(call(client, account, "GET", "/orders/invoices", {"includePositions": "true"}))

    assert order.state == 8
    notes = [e for e in body["Data"] if e["Type"] == "creditnote"]
    (note,) = notes
    invoice = next(
        e for e in body["Data"] if e["Type"] == "invoice" and e["BillbeeId"] == order.billbee_id
    )
    assert note["InvoiceNumber"] == f"{invoice['InvoiceNumber']}-GS"
    assert note["BillbeeId"] == order.billbee_id
    assert note["TotalGross"] == -invoice["TotalGross"] < 0
    assert [p["TotalGrossValue"] for p in note["Positions"]] == [
        -p["TotalGrossValue"] for p in invoice["Positions"]
    ]
    assert note["AdditionalFees"][0]["VatAmount"] == -invoice["AdditionalFees"][0]["VatAmount"]
    assert body["Data"].index(note) > body["Data"].index(invoice)


def test_the_credit_note_is_listed_by_its_own_date(client, account):
    orders_generate(account=account, count=12, seed=5, start=START)
    orders_refund(account=account, count=2, seed=1, now=REFUNDED_AT)
    since = REFUNDED_AT.replace(tzinfo=None).isoformat(timespec="milliseconds")

    body = decoded(call(client, account, "GET", "/orders/invoices", {"minInvoiceDate": since}))

    assert sorted(e["Type"] for e in body["Data"]) == ["creditnote", "creditnote"]
    assert body["Paging"]["TotalRows"] == 2


def test_our_client_reads_the_sandboxs_credit_note(client, account):
    orders_generate(account=account, count=12, seed=5, start=START)
    orders_refund(account=account, count=1, seed=1, now=REFUNDED_AT)
    body = decoded(call(client, account, "GET", "/orders/invoices", {"includePositions": "true"}))

    entries = [parse_invoice_entry(raw) for raw in body["Data"]]

    (note,) = [e for e in entries if e.type == "creditnote"]
    assert note.total_gross < 0
    assert sum(p["total_gross"] for p in note.positions) + sum(
        f["gross"] for f in note.fees
    ) <= Decimal(0)
