"""BillbeeClient against recorded-shape answers; HTTP is mocked only at the session boundary."""

import base64
import json
import logging
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import responses

from core.ratelimit import RateLimiter
from orders.billbee_client import (
    BillbeeAuthenticationFailed,
    BillbeeClient,
    BillbeeMalformedData,
    BillbeeNotFound,
    BillbeeRateLimited,
    BillbeeRejected,
    BillbeeTemporaryError,
    EnumEntry,
    parse_order,
)
from orders.enums import ORDER_STATES, PAYMENT_TYPES, order_state_name, payment_type_name
from tests.contracts.billbee import billbee_json, sample_order

BASE = "https://app.billbee.io/api/v1"
PASSWORD = "s3cret-api-password"


class FakeTime:
    """Records every sleep of the client (429 waits) instead of sleeping."""

    def __init__(self):
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make_client(fake_time: FakeTime, **options) -> BillbeeClient:
    defaults = {
        # A fresh key and limiter per client, so no other test's limits or pauses apply.
        "api_key": f"key-{uuid.uuid4()}",
        "min_interval_per_endpoint": 0,
        "limiter": RateLimiter(jitter=lambda: 0.0),
    }
    return BillbeeClient(
        base_url=BASE,
        username="shop@example.com",
        api_password=PASSWORD,
        sleep=fake_time.sleep,
        **(defaults | options),
    )


@pytest.fixture
def client(fake_time) -> BillbeeClient:
    return make_client(fake_time)


def envelope(data, **extra) -> str:
    body = {"ErrorMessage": None, "ErrorCode": 0, "ErrorDescription": "NoError", "Data": data}
    return billbee_json(body | extra)


def page_body(orders, *, page=1, total_pages=1, total_rows=None, page_size=250) -> str:
    paging = {
        "Page": page,
        "TotalPages": total_pages,
        "TotalRows": len(orders) if total_rows is None else total_rows,
        "PageSize": page_size,
    }
    return envelope(orders, Paging=paging)


def query_of(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


# --- Orders ------------------------------------------------------------------------------


def test_paging_walks_three_pages_asking_for_250_per_page(client, billbee_http):
    for page in (1, 2, 3):
        billbee_http.get(
            f"{BASE}/orders",
            body=page_body([sample_order(BillBeeOrderId=page)], page=page, total_pages=3),
            match=[responses.matchers.query_param_matcher({"page": str(page), "pageSize": "250"})],
        )

    seen, page_number, total_pages = [], 1, 1
    while page_number <= total_pages:
        page = client.get_orders_page(page=page_number)
        seen += [order.billbee_id for order in page.orders]
        total_pages, page_number = page.total_pages, page_number + 1

    assert seen == [1, 2, 3]
    assert [query_of(call)["page"] for call in billbee_http.calls] == [["1"], ["2"], ["3"]]


def test_page_size_above_250_is_capped(client, billbee_http):
    billbee_http.get(f"{BASE}/orders", body=page_body([]))

    client.get_orders_page(page=1, page_size=1000)

    assert query_of(billbee_http.calls[0])["pageSize"] == ["250"]


def test_filters_are_sent_as_repeated_parameters_and_naive_utc_timestamps(client, billbee_http):
    billbee_http.get(f"{BASE}/orders", body=page_body([]))
    berlin_noon = datetime(2024, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))

    client.get_orders_page(
        page=1, modified_at_min=berlin_noon, shop_ids=[4, 5], order_state_ids=[3, 7]
    )

    query = query_of(billbee_http.calls[0])
    assert query["modifiedAtMin"] == ["2024-07-01T10:00:00.000"]
    assert query["shopId"] == ["4", "5"]
    assert query["orderStateId"] == ["3", "7"]
    assert "modifiedAtMax" not in query


def test_both_credentials_go_with_every_request(billbee_http, fake_time):
    client = make_client(fake_time, api_key="the-app-key")
    billbee_http.get(f"{BASE}/orders", body=page_body([]))

    client.get_orders_page(page=1)

    headers = billbee_http.calls[0].request.headers
    expected = base64.b64encode(f"shop@example.com:{PASSWORD}".encode()).decode()
    assert headers["X-Billbee-Api-Key"] == "the-app-key"
    assert headers["Authorization"] == f"Basic {expected}"


def test_an_order_is_parsed_with_its_invoice_number_money_and_parties(client, billbee_http):
    billbee_http.get(f"{BASE}/orders/300000012345", body=envelope(sample_order()))

    order = client.get_order(300000012345)

    assert order.invoice_number == "RN-2022-0083"
    assert order.has_invoice
    assert order.total_cost == Decimal("24.80")
    assert order.shop_id == 4711 and order.shop_name == "Amazon DE"
    assert order.customer.number == "10042"
    assert order.invoice_address.city == "Köln"
    assert order.items[0].quantity == Decimal(2)
    assert order.payments[0].amount == Decimal("24.80")
    assert order.tags == ("Priorität",)


def test_decimal_values_with_28_digits_survive_exactly(client, billbee_http):
    long_value = "846.1929411764705882352941177"
    order = sample_order(TotalCost=Decimal(long_value))
    order["OrderItems"][0]["TaxAmount"] = Decimal("135.1062352941176470588235294")
    billbee_http.get(f"{BASE}/orders/1", body=envelope(order))

    parsed = client.get_order(1)

    assert parsed.total_cost == Decimal(long_value)
    assert str(parsed.items[0].tax_amount) == "135.1062352941176470588235294"


def test_timestamps_without_offset_are_utc_by_default_and_offsets_are_honoured(
    client, billbee_http
):
    order = sample_order(CreatedAt="2023-04-22T14:56:23.843", PayedAt="2023-04-22T17:00:00+02:00")
    billbee_http.get(f"{BASE}/orders/1", body=envelope(order))

    parsed = client.get_order(1)

    assert parsed.created_at == datetime(2023, 4, 22, 14, 56, 23, 843000, tzinfo=UTC)
    assert parsed.paid_at == datetime(2023, 4, 22, 15, 0, tzinfo=UTC)


def test_timestamps_without_offset_follow_a_configured_time_zone():
    berlin = ZoneInfo("Europe/Berlin")

    parsed = parse_order(sample_order(CreatedAt="2023-04-22T14:56:23"), naive_timezone=berlin)

    assert parsed.created_at == datetime(2023, 4, 22, 12, 56, 23, tzinfo=UTC)


def test_order_without_invoice_number_has_no_invoice():
    order = parse_order(sample_order(InvoiceNumber=0, InvoiceDate=None))

    assert order.invoice_number is None
    assert not order.has_invoice


def test_unknown_payment_type_and_order_state_ids_are_kept_and_named(client, billbee_http):
    billbee_http.get(f"{BASE}/orders/1", body=envelope(sample_order(PaymentMethod=157, State=42)))

    order = client.get_order(1)

    assert (order.payment_method, order.state) == (157, 42)
    assert payment_type_name(157) == "Unbekannt (157)"
    assert order_state_name(42) == "Unbekannt (42)"
    assert payment_type_name(3) == "PayPal"
    assert order_state_name(3) == "Zahlung erhalten"


def test_one_malformed_order_is_rejected_and_the_rest_of_the_page_is_kept(client, billbee_http):
    broken = sample_order(BillBeeOrderId=2, TotalCost="zwölf")
    orders = [sample_order(BillBeeOrderId=1), broken, sample_order(BillBeeOrderId=3)]
    billbee_http.get(f"{BASE}/orders", body=page_body(orders))

    page = client.get_orders_page(page=1)

    assert [order.billbee_id for order in page.orders] == [1, 3]
    assert len(page.rejected) == 1
    assert page.rejected[0].billbee_id == 2
    assert "order 2, field TotalCost" in page.rejected[0].message
    assert page.rejected[0].raw["TotalCost"] == "zwölf"


def test_an_order_without_currency_is_malformed_rather_than_guessed():
    with pytest.raises(BillbeeMalformedData, match="Currency: missing"):
        parse_order(sample_order(Currency=None))


# --- Failures ----------------------------------------------------------------------------


def test_429_with_a_short_retry_after_is_waited_out_and_retried(client, billbee_http, fake_time):
    url = f"{BASE}/orders"
    billbee_http.get(url, status=429, headers={"Retry-After": "1"}, json={"Message": "Slow"})
    billbee_http.get(url, body=page_body([sample_order()]))

    page = client.get_orders_page(page=1)

    assert fake_time.sleeps == [1.0]
    assert len(page.orders) == 1
    assert len(billbee_http.calls) == 2


def test_429_with_a_long_retry_after_pauses_the_endpoint_for_every_client_of_the_account(
    billbee_http, fake_time
):
    # given two clients of one key + user sharing a limiter (as two workers share Redis)
    limiter = RateLimiter()
    first = make_client(fake_time, api_key="app-key", limiter=limiter)
    second = make_client(fake_time, api_key="app-key", limiter=limiter)
    billbee_http.get(f"{BASE}/orders", status=429, headers={"Retry-After": "7"}, json={})
    billbee_http.get(f"{BASE}/shopaccounts", body=page_body([]))
    # when the first one is told to wait 7 s
    with pytest.raises(BillbeeRateLimited) as failure:
        first.get_orders_page(page=1)
    # then it does not sleep through it, and the second sends nothing to that endpoint
    assert failure.value.retry_after == 7.0
    with pytest.raises(BillbeeRateLimited) as paused:
        second.get_orders_page(page=2)
    assert 6 < paused.value.retry_after <= 7
    assert fake_time.sleeps == []
    assert len(billbee_http.calls) == 1
    # other endpoints are not paused
    assert second.get_shops() == []
    assert billbee_http.calls[1].request.url.startswith(f"{BASE}/shopaccounts")


def test_429_without_retry_after_backs_off_exponentially_then_gives_up(billbee_http, fake_time):
    client = make_client(fake_time)
    billbee_http.get(f"{BASE}/orders", status=429, json={"Message": "Slow"})

    with pytest.raises(BillbeeRateLimited) as failure:
        client.get_orders_page(page=1)

    # 1 s and 2 s are sat out; the next step (4 s) is the caller's to schedule
    assert fake_time.sleeps == [1.0, 2.0]
    assert failure.value.retry_after == 4.0
    assert len(billbee_http.calls) == 3


def test_a_success_starts_the_back_off_afresh(billbee_http, fake_time):
    client = make_client(fake_time)
    url = f"{BASE}/orders"
    billbee_http.get(url, status=429, json={})
    billbee_http.get(url, body=page_body([]))
    billbee_http.get(url, status=429, json={})
    billbee_http.get(url, body=page_body([]))

    client.get_orders_page(page=1)
    client.get_orders_page(page=2)

    # (between them the first pause is sat out again: the fake sleep let no time pass)
    assert fake_time.sleeps[0] == 1.0
    assert fake_time.sleeps[-1] == 1.0  # the second 429 starts at 1 s again, not at 2 s
    assert len(billbee_http.calls) == 4


def test_429s_give_up_after_the_allowed_retries(billbee_http, fake_time):
    client = make_client(fake_time, max_rate_limit_retries=2)
    billbee_http.get(f"{BASE}/orders", status=429, headers={"Retry-After": "0.5"}, json={})

    with pytest.raises(BillbeeRateLimited) as failure:
        client.get_orders_page(page=1)

    assert failure.value.retry_after == 0.5
    assert fake_time.sleeps == [0.5, 0.5]
    assert len(billbee_http.calls) == 3


def test_calls_to_one_endpoint_are_limited_but_other_endpoints_are_not(billbee_http, fake_time):
    # given Billbee's 2 requests/s per endpoint, kept by a real limiter
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    limiter = RateLimiter(sleep=sleep)
    client = make_client(fake_time, min_interval_per_endpoint=0.5, limiter=limiter)
    billbee_http.get(f"{BASE}/orders", body=page_body([]))
    billbee_http.get(f"{BASE}/shopaccounts", body=page_body([]))
    started = time.monotonic()
    # when: two orders calls and one shops call fit into the first second
    client.get_orders_page(page=1)
    client.get_shops()
    client.get_orders_page(page=2)
    assert waits == []
    # then the third orders call waits for the window to move on
    client.get_orders_page(page=3)
    assert time.monotonic() - started >= 0.95
    assert sum(waits) >= 0.9
    assert len(billbee_http.calls) == 4


def test_malformed_json_raises_malformed_data(client, billbee_http):
    billbee_http.get(f"{BASE}/orders", body='{"Paging": {"Page": 1,', content_type="text/json")

    with pytest.raises(BillbeeMalformedData, match="invalid JSON"):
        client.get_orders_page(page=1)


def test_an_html_error_page_is_a_temporary_error_with_a_clear_message(client, billbee_http):
    html = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
    billbee_http.get(f"{BASE}/orders", status=502, body=html, content_type="text/html")

    with pytest.raises(BillbeeTemporaryError, match="502 with an HTML page instead of JSON"):
        client.get_orders_page(page=1)


def test_an_html_page_with_status_200_is_malformed_data(client, billbee_http):
    billbee_http.get(f"{BASE}/orders", status=200, body="<html>Wartung</html>")

    with pytest.raises(BillbeeMalformedData, match="200 with an HTML page"):
        client.get_orders_page(page=1)


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (401, {"Message": "Authorization has been denied."}, BillbeeAuthenticationFailed, "401"),
        (403, {"Message": "API disabled"}, BillbeeAuthenticationFailed, "API disabled"),
        (404, {"Message": "No order"}, BillbeeNotFound, "404"),
        (500, {"Message": "An error has occurred."}, BillbeeTemporaryError, "500"),
        (
            400,
            {"Message": "The request is invalid.", "ModelState": {"id": ["Not a number"]}},
            BillbeeRejected,
            "The request is invalid. id: Not a number",
        ),
    ],
)
def test_each_status_maps_to_its_error(client, billbee_http, status, body, error, text):
    billbee_http.get(f"{BASE}/orders/1", status=status, json=body)

    with pytest.raises(error) as failure:
        client.get_order(1)

    assert text in failure.value.message


def test_a_404_is_also_a_permanent_rejection(client, billbee_http):
    billbee_http.get(f"{BASE}/orders/1", status=404, json={"Message": "No order"})

    with pytest.raises(BillbeeRejected) as failure:
        client.get_order(1)

    assert failure.value.status == 404


def test_an_error_message_in_a_200_body_is_a_rejection(client, billbee_http):
    body = envelope(None, ErrorMessage="Order not found", ErrorCode=2, ErrorDescription="x")
    billbee_http.get(f"{BASE}/orders/1", body=body)

    with pytest.raises(BillbeeRejected, match="Order not found") as failure:
        client.get_order(1)

    assert failure.value.status == 200


@pytest.mark.parametrize(
    "exception", [requests.Timeout("read timed out"), requests.ConnectionError("refused")]
)
def test_timeouts_and_connection_errors_are_temporary(client, billbee_http, exception):
    billbee_http.get(f"{BASE}/orders", body=exception)

    with pytest.raises(BillbeeTemporaryError):
        client.get_orders_page(page=1)


def test_secrets_appear_in_no_log_message_error_or_repr(client, billbee_http, caplog):
    billbee_http.get(f"{BASE}/orders", status=401, json={"Message": "Denied"})
    caplog.set_level(logging.DEBUG)

    with pytest.raises(BillbeeAuthenticationFailed) as failure:
        client.get_orders_page(page=1)

    assert PASSWORD not in caplog.text
    assert PASSWORD not in str(failure.value)
    assert PASSWORD not in repr(client)


# --- Shops, enums, tags, invoices --------------------------------------------------------


def test_shops_are_collected_from_every_page(client, billbee_http):
    shop = {"Id": 1, "Name": "Amazon DE", "AccountType": 3, "LastSyncDate": None}
    billbee_http.get(f"{BASE}/shopaccounts", body=page_body([shop], page=1, total_pages=2))
    billbee_http.get(
        f"{BASE}/shopaccounts", body=page_body([shop | {"Id": 2}], page=2, total_pages=2)
    )

    shops = client.get_shops()

    assert [(shop.id, shop.name, shop.account_type) for shop in shops] == [
        (1, "Amazon DE", "3"),
        (2, "Amazon DE", "3"),
    ]


def test_enum_lists_come_from_billbee_when_available(client, billbee_http):
    billbee_http.get(f"{BASE}/enums/paymenttypes", json=[{"Id": 157, "Name": "NeuPay"}])

    assert client.get_payment_types() == [EnumEntry(id=157, name="NeuPay")]


def test_enum_lists_fall_back_to_the_built_in_names_when_billbee_fails(client, billbee_http):
    billbee_http.get(f"{BASE}/enums/orderstates", status=500, json={"Message": "Error"})
    billbee_http.get(f"{BASE}/enums/paymenttypes", body="<html></html>")

    states = client.get_order_states()
    payment_types = client.get_payment_types()

    assert EnumEntry(id=7, name="Abgeschlossen") in states
    assert len(states) == len(ORDER_STATES)
    assert EnumEntry(id=61, name="Amazon Marketplace") in payment_types
    assert len(payment_types) == len(PAYMENT_TYPES)


def test_add_tags_posts_the_tags_body(client, billbee_http):
    billbee_http.post(f"{BASE}/orders/77/tags", body=envelope({}))

    client.add_tags(77, ["sevDesk", "Export 2024"])

    assert json.loads(billbee_http.calls[0].request.body) == {"Tags": ["sevDesk", "Export 2024"]}


def test_invoice_pdf_is_decoded_from_base64(client, billbee_http):
    pdf = b"%PDF-1.4\n...\n%%EOF\n"
    data = {
        "OrderNumber": "A-1",
        "InvoiceNumber": "RE-2024-0042",
        "PDFData": base64.b64encode(pdf).decode(),
        "InvoiceDate": "2024-03-01T09:30:00",
        "TotalGross": Decimal("119.00"),
        "TotalNet": Decimal("100.00"),
        "PdfDownloadUrl": None,
    }
    billbee_http.post(f"{BASE}/orders/CreateInvoice/9", body=envelope(data))

    invoice = client.get_invoice_pdf(9)

    assert invoice.pdf == pdf
    assert invoice.invoice_number == "RE-2024-0042"
    assert invoice.invoice_date == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    assert invoice.total_gross == Decimal("119.00")
    assert query_of(billbee_http.calls[0]) == {"includeInvoicePdf": ["true"]}


def test_invoice_answer_without_pdf_is_malformed(client, billbee_http):
    billbee_http.post(f"{BASE}/orders/CreateInvoice/9", body=envelope({"InvoiceNumber": "R-1"}))

    with pytest.raises(BillbeeMalformedData, match="no invoice number or PDF"):
        client.get_invoice_pdf(9)
