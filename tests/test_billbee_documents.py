"""Billbee's documents: the invoice list (GET /orders/invoices) read into a mirror, the
reference the voucher is built from (issue: the voucher equals the invoice, rate by rate)."""

import datetime
import json
import uuid
from dataclasses import replace
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from core.ratelimit import RateLimiter
from orders.billbee_client import (
    BillbeeClient,
    BillbeeInvoiceEntry,
    BillbeeRateLimited,
    parse_invoice_entry,
)
from orders.models import BillbeeAccount, BillbeeDocument
from orders.selectors import documents_cover, invoice_document_for
from orders.services import documents_sync, order_upsert
from tests.contracts.billbee import billbee_json, validate_billbee_response
from tests.orders_factories import BillbeeAccountFactory, FakeBillbee, billbee_order

BASE = "https://app.billbee.io/api/v1"
BERLIN = datetime.timezone(datetime.timedelta(hours=1))


def entry_json(number="RE-1001", *, billbee_id=1001, **changes):
    """One InvoiceApiModel as Billbee sends it: 3 x 0.99 at 19 %, VAT rounded per line."""
    entry = {
        "InvoiceNumber": number,
        "Type": "invoice",
        "Title": None,
        "Salutation": None,
        "LastName": "Mustermann",
        "FirstName": "Erika",
        "Company": None,
        "CustomerNumber": 4711,
        "DebtorNumber": None,
        "InvoiceDate": "2026-11-30T00:00:00",
        "TotalNet": Decimal("6.45"),
        "Currency": "EUR",
        "TotalGross": Decimal("7.87"),
        "PaymentTypeId": 3,
        "OrderNumber": "1001",
        "TransactionId": None,
        "Email": "erika@example.com",
        "ShopName": "Hauptshop",
        "Positions": [
            {
                "Position": n,
                "Amount": Decimal(1),
                "NetValue": Decimal("0.83"),
                "TotalNetValue": Decimal("0.83"),
                "GrossValue": Decimal("0.99"),
                "TotalGrossValue": Decimal("0.99"),
                "VatRate": Decimal(19),
                "ArticleBillbeeId": None,
                "Sku": f"SKU-{n}",
                "Title": "Sticker",
                "BillbeeId": 10010 + n,
                "TotalVatAmount": Decimal("0.16"),
                "RebatePercent": Decimal(0),
            }
            for n in (1, 2, 3)
        ],
        "PayDate": "2026-11-30T10:00:00",
        "VatMode": 0,
        "BillbeeId": billbee_id,
        "ShippingCountry": "DE",
        "AdditionalFees": [
            {
                "Type": "ShipCost",
                "Gross": Decimal("4.90"),
                "Net": Decimal("4.12"),
                "VatAmount": Decimal("0.78"),
                "VatRate": Decimal(19),
            }
        ],
        "MerchantVatId": "DE123456789",
        "CustomerVatId": None,
        "VatFlags": None,
    }
    entry.update(changes)
    return entry


def list_body(entries, *, page=1, total_pages=1):
    body = {
        "Paging": {
            "Page": page,
            "TotalPages": total_pages,
            "TotalRows": len(entries),
            "PageSize": 250,
        },
        "ErrorMessage": None,
        "ErrorCode": 0,
        "ErrorDescription": "NoError",
        "Data": entries,
    }
    return billbee_json(body)


def make_client(limiter=None) -> BillbeeClient:
    return BillbeeClient(
        base_url=BASE,
        api_key=f"key-{uuid.uuid4()}",
        username="shop@example.com",
        api_password="pw",
        min_interval_per_endpoint=0,
        limiter=limiter or RateLimiter(jitter=lambda: 0.0),
        sleep=lambda seconds: None,
    )


# --- The client ----------------------------------------------------------------------------


def test_our_sample_answer_is_one_billbees_spec_allows():
    body = json.loads(list_body([entry_json()]))
    validate_billbee_response("GET", f"{BASE}/orders/invoices", status=200, body=body)


def test_the_invoice_list_is_asked_with_positions_from_a_date(billbee_http):
    billbee_http.get(f"{BASE}/orders/invoices", body=list_body([entry_json()]))
    since = datetime.datetime(2026, 11, 29, tzinfo=datetime.UTC)

    page = make_client().get_invoices_page(page=1, min_invoice_date=since)

    query = parse_qs(urlsplit(billbee_http.calls[0].request.url).query)
    assert query["includePositions"] == ["true"]
    assert query["minInvoiceDate"] == ["2026-11-29T00:00:00.000"]
    assert query["page"] == ["1"] and query["pageSize"] == ["250"]
    (entry,) = page.entries
    assert (entry.number, entry.type, entry.billbee_order_id) == ("RE-1001", "invoice", 1001)
    assert [p["total_vat"] for p in entry.positions] == [Decimal("0.16")] * 3
    assert entry.fees[0] == {
        "type": "ShipCost",
        "net": Decimal("4.12"),
        "gross": Decimal("4.90"),
        "vat": Decimal("0.78"),
        "vat_rate": Decimal(19),
    }


def test_one_unreadable_entry_is_reported_and_the_others_kept(billbee_http):
    bad = entry_json("RE-1002", TotalGross="viel", billbee_id=1002)
    credit_note = entry_json("1001-GS", Type="creditnote", TotalGross=Decimal("-0.99"))
    billbee_http.get(f"{BASE}/orders/invoices", body=list_body([entry_json(), bad, credit_note]))

    page = make_client().get_invoices_page(
        page=1, min_invoice_date=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    )

    assert [e.number for e in page.entries] == ["RE-1001", "1001-GS"]
    assert page.entries[1].type == "creditnote"
    (rejected,) = page.rejected
    assert rejected.number == "RE-1002" and "TotalGross" in rejected.message


def test_the_same_page_and_date_are_asked_once_a_minute_at_most(billbee_http):
    billbee_http.get(f"{BASE}/orders/invoices", body=list_body([entry_json()]))
    client = make_client()
    since = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    client.get_invoices_page(page=1, min_invoice_date=since)

    with pytest.raises(BillbeeRateLimited) as raised:
        client.get_invoices_page(page=1, min_invoice_date=since)
    client.get_invoices_page(page=2, min_invoice_date=since)  # another page: its own minute

    assert 0 < raised.value.retry_after <= 60
    assert len(billbee_http.calls) == 2


# --- The mirror ----------------------------------------------------------------------------


def entry(number="RE-1001", **changes) -> BillbeeInvoiceEntry:
    return replace(parse_invoice_entry(entry_json(number)), **changes)


@pytest.fixture
def account(db):
    return BillbeeAccountFactory(sync_since=datetime.date(2026, 11, 1))


def test_a_read_stores_each_document_links_its_order_and_moves_the_cursor(account):
    order, _ = order_upsert(merchant=account.merchant, billbee_order=billbee_order(billbee_id=1001))
    fake = FakeBillbee(documents=[entry(), entry("1001-GS", type="creditnote")])

    result = documents_sync(account=account, client=fake)

    assert (result.pages, result.stored, result.rejected) == (1, 2, [])
    invoice = BillbeeDocument.objects.get(type="invoice")
    assert invoice.order == order
    assert invoice.total_gross == Decimal("7.87")
    assert invoice.positions[0]["total_vat"] == "0.16"  # Billbee's digits, as text
    assert BillbeeDocument.objects.get(type="creditnote").number == "1001-GS"
    account.refresh_from_db()
    assert account.documents_synced_at is not None
    first_ask = fake.calls[0]["min_invoice_date"]
    assert first_ask.date() == datetime.date(2026, 11, 1)
    assert account.documents_cursor > first_ask


def test_reading_again_changes_nothing_and_follows_billbees_corrections(account):
    today = timezone.now()
    fake = FakeBillbee(documents=[entry(invoice_date=today)])
    documents_sync(account=account, client=fake)
    fake.documents = [entry(invoice_date=today, total_gross=Decimal("7.88"))]

    documents_sync(account=account, client=fake)

    assert BillbeeDocument.objects.count() == 1
    assert BillbeeDocument.objects.get().total_gross == Decimal("7.88")
    assert fake.calls[1]["min_invoice_date"] > fake.calls[0]["min_invoice_date"]


def test_one_document_the_database_refuses_never_stops_the_others(account):
    fake = FakeBillbee(documents=[entry("RE-1"), entry("RE-2", vat_mode=-1), entry("RE-3")])

    result = documents_sync(account=account, client=fake)

    assert set(BillbeeDocument.objects.values_list("number", flat=True)) == {"RE-1", "RE-3"}
    assert result.stored == 2
    assert result.rejected and result.rejected[0].startswith("RE-2")


def test_a_document_read_before_its_order_is_found_by_the_orders_billbee_id(account):
    documents_sync(account=account, client=FakeBillbee(documents=[entry()]))
    order, _ = order_upsert(
        merchant=account.merchant,
        billbee_order=billbee_order(billbee_id=1001, invoice_number="RE-1001"),
    )

    document = invoice_document_for(order=order)

    assert document is not None and document.number == "RE-1001"


def test_the_mirror_covers_an_invoice_only_once_a_read_began_after_it(account):
    order, _ = order_upsert(merchant=account.merchant, billbee_order=billbee_order(billbee_id=1001))
    assert not documents_cover(order=order)  # never read

    BillbeeAccount.objects.filter(pk=account.pk).update(
        documents_synced_at=order.invoice_date + datetime.timedelta(minutes=10)
    )
    assert documents_cover(order=order)
    BillbeeAccount.objects.filter(pk=account.pk).update(
        documents_synced_at=order.invoice_date - datetime.timedelta(minutes=10)
    )
    assert not documents_cover(order=order)
    assert timezone.is_aware(order.invoice_date)


def test_a_read_from_a_recent_invoice_keeps_the_cursor_and_counts_when_contiguous(account):
    fake = FakeBillbee(documents=[entry(invoice_date=timezone.now())])
    documents_sync(account=account, client=fake)  # a complete read
    cursor, complete = account.documents_cursor, account.documents_synced_at
    recent = timezone.now() - datetime.timedelta(minutes=1)

    documents_sync(account=account, client=fake, since=recent)

    assert fake.calls[-1]["min_invoice_date"] == recent  # its own minInvoiceDate
    account.refresh_from_db()
    assert account.documents_cursor == cursor
    assert account.documents_synced_at > complete  # reaches back past the last complete read

    later = timezone.now() + datetime.timedelta(hours=1)
    before = account.documents_synced_at
    documents_sync(account=account, client=fake, since=later)  # a gap: not complete
    account.refresh_from_db()
    assert account.documents_synced_at == before
