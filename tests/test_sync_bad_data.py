"""Orders outside the mirror's column limits: refused one by one, never blocking the sync.

Billbee's answers go over HTTP (``responses`` at the client boundary), so parsing, validation
and storage are the real ones. The same tests run on SQLite and on PostgreSQL, which differ in
what goes wrong without the checks: PostgreSQL refuses the value (and the page with it), SQLite
stores it and fails when it is read back.
"""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.billbee_client import BillbeeError, BillbeeShop, OrdersPage
from orders.models import BillbeeAccount, Order, Shop, SyncRejection, SyncRun
from orders.services import OrderRefused, order_upsert, orders_sync, shops_store
from tests.contracts.billbee import billbee_json, sample_order
from tests.orders_factories import BillbeeAccountFactory, FakeBillbee, billbee_order

BASE = "https://app.billbee.io/api/v1"
LIST = reverse("orders:order_list")
SETUP = reverse("orders:billbee_account")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def billbee_base_url(settings):
    settings.BILLBEE_API_BASE_URL = BASE


@pytest.fixture
def account(merchant):
    return BillbeeAccountFactory(merchant=merchant)


def serve_shops(billbee_http) -> None:
    shop = {"Id": 4711, "Name": "Amazon DE", "AccountType": "Amazon"}
    paging = {"Page": 1, "TotalPages": 1, "TotalRows": 1, "PageSize": 250}
    billbee_http.get(f"{BASE}/shopaccounts", body=billbee_json({"Paging": paging, "Data": [shop]}))


def serve_orders(billbee_http, orders: list[dict], *, page=1, total_pages=1) -> None:
    """One more ``GET /orders`` answer; ``responses`` serves them in order, the last repeats."""
    paging = {"Page": page, "TotalPages": total_pages, "TotalRows": len(orders), "PageSize": 250}
    body = billbee_json({"Paging": paging, "ErrorMessage": None, "Data": orders})
    billbee_http.get(f"{BASE}/orders", body=body, content_type="application/json")


def serve_pages(billbee_http, *pages: list[dict]) -> None:
    serve_shops(billbee_http)
    for number, orders in enumerate(pages, start=1):
        serve_orders(billbee_http, orders, page=number, total_pages=len(pages))


def good(billbee_id: int, **overrides) -> dict:
    return sample_order(
        **{"BillBeeOrderId": billbee_id, "OrderNumber": f"WEB-{billbee_id}", **overrides}
    )


def mirrored(account) -> set[int]:
    return set(Order.objects.for_merchant(account.merchant).values_list("billbee_id", flat=True))


def open_rejections(account) -> dict[str, str]:
    rows = SyncRejection.objects.filter(account=account, resolved_at__isnull=True)
    return dict(rows.values_list("billbee_order_id", "reason"))


# --- One order outside the limits ------------------------------------------------------------

REFUSED = [
    pytest.param(
        {"OrderNumber": "N" * 101},
        "Bestellung 2: Bestellnummer länger als 100 Zeichen",
        id="order-number-101-chars",
    ),
    pytest.param(
        {"Currency": "EURO"},
        "Bestellung WEB-2: Währung „EURO“ ist kein ISO-4217-Code (drei Großbuchstaben)",
        id="currency-EURO",
    ),
    pytest.param(
        {"State": 40000}, "Status 40000 außerhalb des Bereichs 0 bis 32767", id="state-40000"
    ),
    pytest.param({"State": -1}, "Status -1 außerhalb des Bereichs 0 bis 32767", id="state-minus-1"),
    pytest.param(
        {"TotalCost": Decimal("12345678901234.50")},
        "Summe (brutto) 12345678901234.50000000 hat mehr als 12 Stellen vor dem Komma",
        id="total-14-digits",
    ),
    pytest.param(
        {"BillBeeOrderId": 2**63},
        "Billbee-ID 9223372036854775808 außerhalb des Bereichs -9223372036854775808 bis "
        "9223372036854775807",
        id="billbee-id-2^63",
    ),
    pytest.param(
        {"CreatedAt": "9999-12-31T23:30:00-05:00"},
        "Bestelldatum 9999-12-31 23:30:00-05:00 liegt außerhalb der Jahre 2000 bis 2100",
        id="date-after-9999-in-utc",
    ),
    pytest.param(
        {"PayedAt": "1999-12-31T23:59:59"},
        "Bezahlt am 1999-12-31 23:59:59+00:00 liegt außerhalb der Jahre 2000 bis 2100",
        id="paid-in-1999",
    ),
    pytest.param(
        {"Customer": {**sample_order()["Customer"], "Email": "e" * 251 + "@x.de"}},
        "Kunden-E-Mail länger als 255 Zeichen",
        id="email-256-chars",
    ),
    pytest.param(
        {"OrderItems": [{**sample_order()["OrderItems"][0], "TaxIndex": 70000}]},
        "Position 1: Steuersatz-Index 70000 außerhalb des Bereichs 0 bis 32767",
        id="item-tax-index",
    ),
    pytest.param(
        {"Payments": [{**sample_order()["Payments"][0], "PayValue": Decimal("1E+30")}]},
        "Zahlung 1: Betrag 1E+30 hat mehr als 12 Stellen vor dem Komma",
        id="payment-1E+30",
    ),
    pytest.param(
        {"Seller": {**sample_order()["Seller"], "BillbeeShopId": 2**64}},
        "Shop: Billbee-ID 18446744073709551616 außerhalb des Bereichs",
        id="shop-id-2^64",
    ),
]


@pytest.mark.parametrize(("bad_values", "reason"), REFUSED)
def test_an_order_outside_the_column_limits_is_refused_and_the_rest_of_the_page_stored(
    account, billbee_http, bad_values, reason
):
    bad = good(2, **bad_values)
    serve_pages(billbee_http, [good(1), bad, good(3)])

    run = orders_sync(account=account)

    account.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert mirrored(account) == {1, 3}
    assert (run.orders_created, run.orders_rejected) == (2, 1)
    assert "(Seite 1) nicht übernommen" in run.errors and reason.split(": ")[-1] in run.errors
    assert account.sync_cursor == run.window_to  # the refused order blocks nothing
    rejection = SyncRejection.objects.get()
    assert rejection.billbee_order_id == str(bad["BillBeeOrderId"])
    assert rejection.reason.startswith("Bestellung ") and reason in rejection.reason
    assert rejection.resolved_at is None and rejection.merchant == account.merchant


def test_nul_bytes_are_stripped_from_every_text_and_the_order_stored(account, billbee_http):
    address = {**sample_order()["InvoiceAddress"], "LastName": "Muster\x00mann"}
    customer = {**sample_order()["Customer"], "Name": "Erika\x00 Mustermann"}
    item = {**sample_order()["OrderItems"][0], "Product": {"Title": "Tee\x00becher"}}
    bad = good(2, InvoiceAddress=address, Customer=customer, Tags=["Prio\x00"], OrderItems=[item])
    serve_pages(billbee_http, [good(1), bad])

    run = orders_sync(account=account)

    assert run.status == SyncRun.Status.SUCCEEDED and run.orders_rejected == 0
    order = Order.objects.get(billbee_id=2)
    assert order.customer_name == "Erika Mustermann"
    assert order.invoice_address["last_name"] == "Mustermann"
    assert order.tags == ["Prio"] and order.items.get().title == "Teebecher"
    assert order.raw["Customer"]["Name"] == "Erika Mustermann"  # the raw document too (jsonb)


def test_unpaired_surrogates_and_nan_in_the_raw_document_are_stored(account, billbee_http):
    # Half an emoji, as .NET writes a UTF-16 string cut in the middle: valid JSON, but no
    # database can encode the lone surrogate it decodes to.
    broken = good(2, Customer={**sample_order()["Customer"], "Name": "Emoji HALF"})
    broken["Weight"] = float("nan")  # Python's JSON reads NaN; jsonb has no place for it
    serve_shops(billbee_http)
    paging = {"Page": 1, "TotalPages": 1, "TotalRows": 1, "PageSize": 250}
    body = billbee_json({"Paging": paging, "Data": [broken]}).replace("HALF", "\\ud83d")
    billbee_http.get(f"{BASE}/orders", body=body, content_type="application/json")

    orders_sync(account=account)

    order = Order.objects.get(billbee_id=2)
    assert order.customer_name == "Emoji \ufffd" and order.raw["Weight"] == "nan"


def test_over_long_free_text_is_cut_to_its_column_and_kept_whole_in_the_raw_document(
    account, billbee_http
):
    customer = {**sample_order()["Customer"], "Name": "N" * 300}
    serve_pages(billbee_http, [good(1, Customer=customer)])

    orders_sync(account=account)

    order = Order.objects.get(billbee_id=1)
    assert order.customer_name == "N" * 255 and order.raw["Customer"]["Name"] == "N" * 300


@pytest.mark.parametrize(
    "bad_values",
    [
        pytest.param({"TotalCost": Decimal("12345678901234.50")}, id="total-14-digits"),
        pytest.param({"CreatedAt": "9999-12-31T23:30:00-05:00"}, id="date-after-9999-in-utc"),
        # 12 digits fit the column, but SQLite's 15-digit floats round it up to 13 on reading
        pytest.param({"TotalCost": Decimal("999999999999.9999")}, id="total-rounding-past-12"),
    ],
)
def test_the_order_list_still_opens_after_a_sync_with_unreadable_values(
    account, billbee_http, member_client, bad_values
):
    serve_pages(billbee_http, [good(1), good(2, **bad_values)])
    orders_sync(account=account)

    response = member_client.get(LIST)

    assert response.status_code == 200
    assert "WEB-1" in response.content.decode()
    assert mirrored(account) == {1}


def test_a_value_the_database_still_refuses_refuses_only_that_order(
    account, billbee_http, monkeypatch, caplog
):
    # A gap in the checks: the state -1 reaches the database, whose CHECK constraint refuses it.
    monkeypatch.setattr("orders.services._order_problems", lambda merchant, order: [])
    serve_pages(billbee_http, [good(1), good(2, State=-1), good(3)])

    run = orders_sync(account=account)

    assert run.status == SyncRun.Status.SUCCEEDED and mirrored(account) == {1, 3}
    assert "Datenbank hat sie abgelehnt" in open_rejections(account)["2"]
    assert "refused by the database" in caplog.text  # the operator sees the traceback


def test_after_a_refused_bulk_store_existing_orders_are_updated_one_by_one(
    account, billbee_http, monkeypatch
):
    serve_pages(billbee_http, [good(1), good(3)])
    serve_orders(billbee_http, [good(1, State=4), good(2, State=-1), good(3, State=4)])
    orders_sync(account=account)
    monkeypatch.setattr("orders.services._order_problems", lambda merchant, order: [])

    run = orders_sync(account=account)

    assert (run.orders_created, run.orders_updated, run.orders_rejected) == (0, 2, 1)
    orders = Order.objects.for_merchant(account.merchant).order_by("billbee_id")
    assert [(order.billbee_id, order.state, order.items.count()) for order in orders] == [
        (1, 4, 1),
        (3, 4, 1),
    ]


def test_order_upsert_of_an_order_the_mirror_cannot_hold_raises_with_the_reason(account):
    with pytest.raises(OrderRefused, match="Währung"):
        order_upsert(merchant=account.merchant, billbee_order=billbee_order(currency="eur"))

    assert not Order.objects.exists()


def test_a_shop_whose_id_does_not_fit_is_skipped_and_long_names_are_cut(account):
    shops = [BillbeeShop(2**63, "zu groß", None), BillbeeShop(5, "S" * 300 + "\x00", "P" * 200)]

    stored = shops_store(merchant=account.merchant, shops=shops)

    assert list(stored) == [5]
    shop = Shop.objects.get()
    assert (shop.name, shop.platform) == ("S" * 255, "P" * 100)


# --- A page of 250 ---------------------------------------------------------------------------

FIVE_BAD = {
    10: {"OrderNumber": "N" * 101},
    60: {"Currency": "EURO"},
    110: {"State": 40000},
    160: {"TotalCost": Decimal("12345678901234.50")},
    210: {"BillBeeOrderId": 2**63},
}


def test_a_page_of_250_with_5_bad_orders_stores_245_lists_5_and_moves_the_cursor(
    account, billbee_http, member_client
):
    page = [good(n, **FIVE_BAD.get(n, {})) for n in range(1, 251)]
    serve_pages(billbee_http, page)
    serve_orders(billbee_http, [])  # the next run: nothing changed since

    first = orders_sync(account=account)
    account.refresh_from_db()
    cursor = account.sync_cursor
    second = orders_sync(account=account)
    account_page = member_client.get(SETUP).content.decode()

    assert first.status == SyncRun.Status.SUCCEEDED
    assert (first.orders_created, first.orders_rejected) == (245, 5)
    assert len(mirrored(account)) == 245 and not mirrored(account) & set(FIVE_BAD)
    assert cursor == first.window_to
    assert len(first.errors.splitlines()) == 5
    assert set(open_rejections(account)) == {"10", "60", "110", "160", str(2**63)}
    assert second.status == SyncRun.Status.SUCCEEDED
    assert (second.orders_created, second.orders_rejected, second.errors) == (0, 0, "")
    assert SyncRejection.objects.count() == 5 and len(open_rejections(account)) == 5
    assert "Nicht übernommene Bestellungen" in account_page
    for reason in open_rejections(account).values():
        assert reason in account_page


def test_a_refused_order_sent_valid_later_is_stored_and_its_rejection_resolved(
    account, billbee_http, member_client
):
    serve_pages(billbee_http, [good(1), good(2, Currency="EURO")])
    serve_orders(billbee_http, [good(2, Currency="EUR")])  # corrected in Billbee

    orders_sync(account=account)
    assert "Nicht übernommene Bestellungen" in member_client.get(SETUP).content.decode()
    second = orders_sync(account=account)

    assert mirrored(account) == {1, 2} and second.orders_created == 1
    rejection = SyncRejection.objects.get()
    assert rejection.resolved_at is not None
    assert "Nicht übernommene Bestellungen" not in member_client.get(SETUP).content.decode()


def test_a_resolved_rejection_refused_again_is_reopened_not_duplicated(account, billbee_http):
    serve_pages(billbee_http, [good(2, State=40000)])
    serve_orders(billbee_http, [good(2)])
    serve_orders(billbee_http, [good(2, State=-1)])

    for _run in range(3):
        orders_sync(account=account)

    rejection = SyncRejection.objects.get()
    assert rejection.resolved_at is None and "Status -1" in rejection.reason
    assert rejection.first_seen_at < rejection.last_seen_at


def test_an_order_the_client_could_not_read_is_listed_too(account, billbee_http, member_client):
    serve_pages(billbee_http, [good(1), good(3, Currency=None)])

    run = orders_sync(account=account)

    assert run.orders_rejected == 1
    assert open_rejections(account) == {
        "3": "Bestellung WEB-3: nicht lesbar (order 3, field Currency: missing)"
    }


def test_the_account_page_lists_the_newest_100_and_counts_the_rest(account, member_client):
    now = timezone.now()
    SyncRejection.objects.bulk_create(
        SyncRejection(
            merchant=account.merchant,
            account=account,
            billbee_order_id=str(n),
            reason=f"Bestellung {n}: Grund",
            first_seen_at=now,
            last_seen_at=now,
        )
        for n in range(103)
    )

    page = member_client.get(SETUP).content.decode()

    assert page.count("Bestellung 10") >= 1 and "… und 3 weitere Bestellungen." in page


# --- Paging that does not advance ------------------------------------------------------------


class StuckBillbee(FakeBillbee):
    """Answers every request with page 1, whatever page was asked for."""

    def get_orders_page(self, *, page, **kwargs) -> OrdersPage:
        if len(self.page_calls()) >= 10:
            raise AssertionError("the sync keeps asking: it loops")
        answer = super().get_orders_page(page=1, **kwargs)
        self.calls[-1]["page"] = page  # what we asked for, not what came back
        return answer


def test_a_page_number_that_does_not_advance_stops_the_sync_with_a_message(account):
    billbee = StuckBillbee(page_size_cap=2)
    billbee.put(*[billbee_order() for _ in range(5)])

    with pytest.raises(BillbeeError):
        orders_sync(account=account, client=billbee)

    run = SyncRun.objects.get()
    assert [call["page"] for call in billbee.page_calls()] == [1, 2]
    assert run.status == SyncRun.Status.FAILED
    assert "Billbee hat auf die Anfrage nach Seite 2 mit Seite 1 geantwortet" in run.errors
    assert (run.pages_done, run.resume_page) == (1, 2)  # the next run resumes at page 2
    assert BillbeeAccount.objects.get().sync_cursor is None


def test_a_page_echoing_the_page_number_but_repeating_the_orders_stops_too(account):
    class EchoingBillbee(FakeBillbee):
        def get_orders_page(self, *, page, **kwargs) -> OrdersPage:
            answer = super().get_orders_page(page=1, **kwargs)
            return OrdersPage(**{**answer.__dict__, "page": page})

    billbee = EchoingBillbee(page_size_cap=2)
    billbee.put(*[billbee_order() for _ in range(5)])

    with pytest.raises(BillbeeError):
        orders_sync(account=account, client=billbee)

    assert len(billbee.page_calls()) == 2
    assert "dieselben Bestellungen" in SyncRun.objects.get().errors


def test_orders_on_a_page_beyond_total_pages_stop_the_sync(account, billbee_http):
    serve_shops(billbee_http)
    serve_orders(billbee_http, [good(1)], page=1, total_pages=2)
    serve_orders(billbee_http, [good(2)], page=2, total_pages=1)  # TotalPages shrank to 1

    with pytest.raises(BillbeeError):
        orders_sync(account=account)

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED and "Seite 2 von nur 1 Seiten" in run.errors
    assert mirrored(account) == {1}


@pytest.mark.parametrize("answered_page", [1, 0])
def test_an_empty_first_page_with_zero_total_pages_is_a_normal_end(
    account, billbee_http, answered_page
):
    serve_shops(billbee_http)
    serve_orders(billbee_http, [], page=answered_page, total_pages=0)

    run = orders_sync(account=account)

    assert run.status == SyncRun.Status.SUCCEEDED and run.errors == ""


# --- Crafted query values on the screens ------------------------------------------------------


@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775808", "1000001"])
def test_a_page_beyond_any_order_count_is_not_found(member_client, page):
    assert member_client.get(LIST, {"page": page}).status_code == 404


@pytest.mark.parametrize("page", ["²", "٣", "\x00", "-1", "0", "1e3", " 2", "", "9" * 5000])
def test_a_page_that_is_no_number_shows_the_first_page(member_client, page):
    response = member_client.get(LIST, {"page": page})

    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assert response.context["page"] == 1


@pytest.mark.parametrize(
    "query",
    [
        {"shop": "99999999999999999999"},
        {"shop": "\x00"},
        {"shop": "-1"},
        {"state": "99999999999999999999"},
        {"state": "²"},
        {"q": "\x00"},
        {"tag": "\x00"},
        {"export_status": "\x00"},
        {"invoice": "\x00", "paid": "²"},
    ],
)
def test_crafted_filter_values_are_ignored(member_client, query):
    response = member_client.get(LIST, query)

    assert response.status_code == 200


@pytest.mark.parametrize(
    "path", ["/orders/99999999999999999999/", "/orders/9223372036854775808/", "/orders/0/"]
)
def test_huge_or_impossible_order_ids_are_not_found(member_client, path):
    detail = member_client.get(path)
    pdf = member_client.get(path + "invoice.pdf")

    assert (detail.status_code, pdf.status_code) == (404, 404)


# --- Nothing stored that cannot be read back ---------------------------------------------------

LARGEST = Decimal("999999999999.99")  # 12 digits: the most that SQLite reads back, too
BIGINT = 2**63 - 1


def extreme_order(billbee_id: int, sign: int, date: str) -> dict:
    """An order at the edges of what the mirror accepts: longest texts, largest numbers."""
    amount = LARGEST * sign
    item = {
        "BillbeeId": BIGINT if sign > 0 else -(2**63),
        "Product": {"Title": "T" * 500, "SKU": "S" * 200, "IsDigital": True},
        "Quantity": amount,
        "TotalPrice": amount,
        "TaxAmount": amount,
        "TaxIndex": 32767 if sign > 0 else 0,
        "Discount": amount,
        "IsCoupon": True,
    }
    payment = {
        "BillbeeId": BIGINT,
        "TransactionId": "X" * 255,
        "PayDate": date,
        "PaymentType": 32767 if sign > 0 else 0,
        "PayValue": amount,
        "Purpose": "P" * 500,
        "Name": "N" * 255,
    }
    return sample_order(
        BillBeeOrderId=billbee_id,
        Id="M" * 100,
        OrderNumber=("O" * 99) + str(billbee_id)[-1],
        State=32767 if sign > 0 else 0,
        VatMode=32767 if sign > 0 else 0,
        CreatedAt=date,
        PayedAt=date,
        ShippedAt=date,
        InvoiceDate=date,
        LastModifiedAt=date,
        InvoiceNumberPrefix="R" * 89,
        InvoiceNumber=2**31 - 1,  # 10 digits: 100 characters in all
        InvoiceNumberPostfix="X",
        Currency="XAU",
        TotalCost=amount,
        ShippingCost=amount,
        AdjustmentCost=amount,
        PaidAmount=amount,
        TaxRate1=Decimal("999.9999") * sign,
        TaxRate2=Decimal("999.9999") * sign,
        PaymentMethod=32767 if sign > 0 else 0,
        Seller={"Platform": "P" * 100, "BillbeeShopName": "S" * 255, "BillbeeShopId": BIGINT},
        Customer={
            "Id": BIGINT if sign > 0 else -(2**63),
            "Name": "C" * 255,
            "Email": "e" * 250 + "@x.de",
            "Number": "K" * 100,
            "VatId": "V" * 50,
        },
        OrderItems=[item],
        Payments=[payment],
    )


EXTREMES = [
    # the latest moment in UTC, written with an offset that puts it in the next year locally
    (BIGINT, 1, "2100-12-31T23:59:59.999999"),
    # the earliest moment in UTC, written in a time zone where it is still 1999
    (-(2**63), -1, "1999-12-31T23:00:00-01:00"),
]


def test_extreme_accepted_values_round_trip_through_sync_orm_list_and_detail(
    account, billbee_http, member_client
):
    serve_pages(billbee_http, [extreme_order(*values) for values in EXTREMES])

    run = orders_sync(account=account)
    listing = member_client.get(LIST)

    assert (run.orders_created, run.orders_rejected) == (2, 0), run.errors
    assert listing.status_code == 200
    for billbee_id, sign, _date in EXTREMES:
        order = Order.objects.get(billbee_id=billbee_id)
        assert order.order_number in listing.content.decode()
        detail = member_client.get(reverse("orders:order_detail", args=[order.pk]))
        assert detail.status_code == 200
        assert len(order.marketplace_id) == len(order.invoice_number) == 100
        assert len(order.customer_name) == len(order.customer_email) == 255
        assert order.total_gross == order.paid_amount == LARGEST * sign
        assert order.tax_rate_regular == Decimal("999.9999") * sign
        assert order.state == order.vat_mode == order.payment_method == (32767 if sign > 0 else 0)
        assert order.customer_billbee_id == (BIGINT if sign > 0 else -(2**63))
        assert order.shop.billbee_id == BIGINT and len(order.shop.name) == 255
        item, payment = order.items.get(), order.payments.get()
        assert item.quantity == item.total_price == item.discount_percent == LARGEST * sign
        assert (len(item.title), len(item.sku), len(payment.transaction_id)) == (500, 200, 255)
        assert payment.amount == LARGEST * sign and payment.payment_type == order.state
    latest = Order.objects.get(billbee_id=BIGINT)
    earliest = Order.objects.get(billbee_id=-(2**63))
    assert latest.order_date.isoformat() == "2100-12-31T23:59:59.999999+00:00"
    assert earliest.paid_at.isoformat() == "2000-01-01T00:00:00+00:00"
