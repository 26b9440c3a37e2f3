"""The simulated Billbee API: auth, paging, filters, throttling, tags, invoices, faults.

Every answer is checked against Billbee's spec with ``validate_billbee_response``, and every
well-formed request with ``validate_billbee_request``, so the sandbox cannot drift from it.
"""

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.core.cache import cache

from sandbox.billbee.models import SandboxAccount, SandboxOrder
from sandbox.billbee.services import fault_inject, orders_generate
from tests.contracts.billbee import validate_billbee_request, validate_billbee_response

API = "/sandbox/billbee/api/v1"
START = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_throttle(settings):
    settings.SANDBOX_BILLBEE_THROTTLE = False
    cache.clear()


@pytest.fixture
def account(db) -> SandboxAccount:
    return SandboxAccount.objects.create(name="Test", username="shop@example.com")


@pytest.fixture
def orders(account) -> list[SandboxOrder]:
    orders_generate(account=account, count=7, seed=3, start=START)
    return list(account.orders.order_by("billbee_id"))


def auth_headers(account, password=None) -> dict[str, str]:
    secret = f"{account.username}:{password or account.api_password}".encode()
    return {
        "X-Billbee-Api-Key": account.api_key,
        "Authorization": "Basic " + base64.b64encode(secret).decode(),
    }


def call(client, account, method, path, params=None, body=None, headers=None, valid=True):
    """One API call, with the request (if meant to be valid) and the answer checked."""
    url = API + path + (f"?{urlencode(params, doseq=True)}" if params else "")
    headers = auth_headers(account) if headers is None else headers
    if valid:
        validate_billbee_request(method, url, body=body, headers=headers)
    response = client.generic(
        method, url, data=body or "", content_type="application/json", headers=headers
    )
    if response["Content-Type"].startswith("application/json"):
        validate_billbee_response(method, url, status=response.status_code, body=response.content)
    return response


def decoded(response):
    return json.loads(response.content, parse_float=Decimal)


# --- Authentication ----------------------------------------------------------------------


def test_missing_api_key_is_refused_like_billbee(client, account):
    headers = auth_headers(account)
    del headers["X-Billbee-Api-Key"]

    response = call(client, account, "GET", "/orders", headers=headers, valid=False)

    assert response.status_code == 401
    assert decoded(response) == {"Message": "Authorization has been denied for this request."}


def test_wrong_api_password_is_refused(client, account):
    headers = auth_headers(account, password="wrong")

    assert call(client, account, "GET", "/orders", headers=headers).status_code == 401


def test_right_credentials_are_let_in(client, account):
    assert call(client, account, "GET", "/orders").status_code == 200


# --- Orders ------------------------------------------------------------------------------


def test_orders_are_paged_in_id_order_with_the_paging_envelope(client, account, orders):
    pages = [
        decoded(call(client, account, "GET", "/orders", {"page": page, "pageSize": 3}))
        for page in (1, 2, 3)
    ]

    assert [page["Paging"] for page in pages] == [
        {"Page": page, "TotalPages": 3, "TotalRows": 7, "PageSize": 3} for page in (1, 2, 3)
    ]
    ids = [order["BillBeeOrderId"] for page in pages for order in page["Data"]]
    assert ids == [order.billbee_id for order in orders]


def test_a_page_size_above_250_is_refused_with_a_model_state(client, account):
    response = call(client, account, "GET", "/orders", {"pageSize": 251})

    assert response.status_code == 400
    assert "pageSize" in decoded(response)["ModelState"]


def test_modified_at_min_returns_only_orders_changed_after_it(client, account, orders):
    cutoff = orders[3].last_modified_at
    expected = {o.billbee_id for o in orders if o.last_modified_at > cutoff}
    naive_utc = cutoff.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")

    data = decoded(call(client, account, "GET", "/orders", {"modifiedAtMin": naive_utc}))["Data"]

    assert {order["BillBeeOrderId"] for order in data} == expected
    assert orders[3].billbee_id not in expected


def test_shop_and_state_filters_take_repeated_values(client, account, orders):
    shop_ids = sorted({o.shop.billbee_id for o in orders})[:2]
    states = sorted({o.state for o in orders})[:2]
    expected = {o.billbee_id for o in orders if o.shop.billbee_id in shop_ids and o.state in states}

    params = {"shopId": shop_ids, "orderStateId": states}
    data = decoded(call(client, account, "GET", "/orders", params))["Data"]

    assert {order["BillBeeOrderId"] for order in data} == expected
    assert all(order["Seller"]["BillbeeShopId"] in shop_ids for order in data)


def test_the_tag_filter_ignores_case_and_can_exclude(client, account, orders):
    tagged = orders[1]
    tagged.tags, tagged.tags_key = ["sevDesk"], "|sevdesk|"
    tagged.save()

    with_tag = decoded(call(client, account, "GET", "/orders", {"tag": "SEVDESK"}))["Data"]
    without = decoded(
        call(client, account, "GET", "/orders", {"tag": "sevdesk", "excludeTags": "true"})
    )["Data"]

    assert [order["BillBeeOrderId"] for order in with_tag] == [tagged.billbee_id]
    assert tagged.billbee_id not in {order["BillBeeOrderId"] for order in without}
    assert len(without) == len(orders) - 1


def test_other_accounts_orders_are_invisible(client, account, orders):
    other = SandboxAccount.objects.create(name="Other", username="other@example.com")

    response = call(client, other, "GET", f"/orders/{orders[0].billbee_id}")

    assert response.status_code == 404
    assert decoded(call(client, other, "GET", "/orders"))["Data"] == []


def test_one_order_is_answered_with_timestamps_without_offset(client, account, orders):
    data = decoded(call(client, account, "GET", f"/orders/{orders[0].billbee_id}"))["Data"]

    assert data["BillBeeOrderId"] == orders[0].billbee_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", data["CreatedAt"])


def test_long_decimals_are_written_as_exact_json_numbers(client, account, orders):
    order = orders[0]
    order.data["OrderItems"][0]["TaxAmount"] = "846.1929411764705882352941177"
    order.save()

    response = call(client, account, "GET", f"/orders/{order.billbee_id}")

    assert b'"TaxAmount": 846.1929411764705882352941177' in response.content
    item = decoded(response)["Data"]["OrderItems"][0]
    assert item["TaxAmount"] == Decimal("846.1929411764705882352941177")


# --- Throttling --------------------------------------------------------------------------


def test_a_third_call_within_a_second_is_throttled_with_retry_after(client, account, settings):
    settings.SANDBOX_BILLBEE_THROTTLE = True

    answers = [call(client, account, "GET", "/orders") for _ in range(3)]
    other_endpoint = call(client, account, "GET", "/shopaccounts")

    # The window is one wall-clock second; if it turned over mid-test, the third call passed.
    statuses = [answer.status_code for answer in answers]
    assert statuses in ([200, 200, 429], [200, 200, 200])
    if statuses[2] == 429:
        assert answers[2]["Retry-After"] == "1"
    assert other_endpoint.status_code == 200


def test_throttling_allows_two_calls_per_second_and_refuses_more(client, account, settings):
    settings.SANDBOX_BILLBEE_THROTTLE = True

    statuses = [call(client, account, "GET", "/enums/orderstates").status_code for _ in range(6)]

    assert statuses.count(429) >= 2  # six calls span at most two one-second windows
    assert statuses[:2] == [200, 200]


# --- Tags --------------------------------------------------------------------------------


def test_tags_are_added_case_insensitively_and_bump_last_modified(client, account, orders):
    order = orders[0]
    order.tags, order.tags_key, order.data["Tags"] = ["SevDesk"], "|sevdesk|", ["SevDesk"]
    order.save()
    before = order.last_modified_at

    response = call(
        client,
        account,
        "POST",
        f"/orders/{order.billbee_id}/tags",
        body=json.dumps({"Tags": ["sevdesk", "Exportiert"]}),
    )

    order.refresh_from_db()
    assert response.status_code == 200
    assert order.tags == ["SevDesk", "Exportiert"]
    assert order.data["Tags"] == ["SevDesk", "Exportiert"]
    assert order.last_modified_at > before


def test_adding_only_existing_tags_changes_nothing(client, account, orders):
    order = orders[0]
    order.tags, order.tags_key = ["sevDesk"], "|sevdesk|"
    order.save()
    before = order.last_modified_at

    call(
        client,
        account,
        "POST",
        f"/orders/{order.billbee_id}/tags",
        body=json.dumps({"Tags": ["SEVDESK"]}),
    )

    order.refresh_from_db()
    assert order.tags == ["sevDesk"]
    assert order.last_modified_at == before


# --- Invoices ----------------------------------------------------------------------------


def test_an_invoiced_order_answers_its_invoice_with_a_pdf(client, account, orders):
    order = next(o for o in orders if o.data["InvoiceNumber"])

    response = call(
        client,
        account,
        "POST",
        f"/orders/CreateInvoice/{order.billbee_id}",
        {"includeInvoicePdf": "true"},
    )

    data = decoded(response)["Data"]
    assert data["InvoiceNumber"] == f"RE-2024-{order.data['InvoiceNumber']}"
    assert data["TotalGross"] == Decimal(order.data["TotalCost"])
    assert base64.b64decode(data["PDFData"]).startswith(b"%PDF-1.4")


def test_an_order_without_invoice_gets_an_error_and_no_invoice_is_created(client, account, orders):
    order = next(o for o in orders if not o.data["InvoiceNumber"])

    response = call(client, account, "POST", f"/orders/CreateInvoice/{order.billbee_id}")

    body = decoded(response)
    assert body["ErrorMessage"] and body["Data"] is None
    order.refresh_from_db()
    assert order.data["InvoiceNumber"] is None


# --- Shops and enums ---------------------------------------------------------------------


def test_shop_accounts_are_listed_with_paging(client, account, orders):
    body = decoded(call(client, account, "GET", "/shopaccounts", {"page": 1, "pageSize": 2}))

    assert body["Paging"] == {"Page": 1, "TotalPages": 2, "TotalRows": 3, "PageSize": 2}
    assert [shop["Name"] for shop in body["Data"]] == ["Mein Shopify-Shop", "Amazon DE"]


def test_enum_lists_are_id_name_pairs(client, account):
    states = decoded(call(client, account, "GET", "/enums/orderstates"))
    payments = decoded(call(client, account, "GET", "/enums/paymenttypes"))

    assert {"Id": 3, "Name": "Zahlung erhalten"} in states
    assert {"Id": 61, "Name": "Amazon Marketplace"} in payments


# --- Faults ------------------------------------------------------------------------------


def test_injected_500_and_502_faults_answer_once_each(client, account):
    fault_inject(account=account, kind="http_500")
    fault_inject(account=account, kind="html_502")

    statuses = [call(client, account, "GET", "/orders").status_code for _ in range(3)]
    assert statuses == [500, 502, 200]


def test_the_html_fault_is_an_html_page(client, account):
    fault_inject(account=account, kind="html_502")

    response = call(client, account, "GET", "/orders")

    assert response["Content-Type"].startswith("text/html")
    assert b"<html>" in response.content


def test_a_malformed_order_fault_breaks_one_order_of_a_page(client, account, orders):
    fault_inject(account=account, kind="malformed_order")
    url = f"{API}/orders"

    response = client.get(url, headers=auth_headers(account))

    data = json.loads(response.content)["Data"]
    assert data[0]["TotalCost"] == "n/a"
    with pytest.raises(AssertionError, match="Data/0/TotalCost"):
        validate_billbee_response("GET", url, status=200, body=response.content)
    assert isinstance(data[1]["TotalCost"], int | float)


def test_a_fault_can_be_limited_to_paths(client, account, orders):
    fault_inject(account=account, kind="http_500", path_contains="/shopaccounts")

    assert call(client, account, "GET", "/orders").status_code == 200
    assert call(client, account, "GET", "/shopaccounts").status_code == 500


def test_unknown_fault_kinds_are_refused(account):
    with pytest.raises(ValueError, match="unknown fault kind"):
        fault_inject(account=account, kind="http_418")


# --- The overview page -------------------------------------------------------------------


def test_the_overview_page_needs_a_login(client, db):
    response = client.get("/sandbox/billbee/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_overview_page_shows_credentials_and_latest_orders(
    member_client, merchant, account, orders
):
    account.owner = merchant  # the page shows a merchant only the sandbox accounts it owns
    account.save(update_fields=["owner"])
    orders[0].tags = ["Priorität"]
    orders[0].last_modified_at = START + timedelta(days=400)
    orders[0].save()

    page = member_client.get("/sandbox/billbee/").content.decode()

    assert account.api_key in page and account.api_password in page
    assert "Amazon DE" in page
    assert str(orders[0].billbee_id) in page
    assert "Priorität" in page


# --- Invoice list ------------------------------------------------------------------------


def test_the_invoice_list_holds_invoiced_orders_with_positions_and_shipping(
    client, account, orders
):
    invoiced = sorted(
        (o for o in orders if o.invoice_date), key=lambda o: (o.invoice_date, o.billbee_id)
    )

    body = decoded(call(client, account, "GET", "/orders/invoices", {"includePositions": "true"}))

    assert [entry["BillbeeId"] for entry in body["Data"]] == [o.billbee_id for o in invoiced]
    first, order = body["Data"][0], invoiced[0]
    assert first["Type"] == "invoice"
    assert first["InvoiceNumber"] == f"RE-2024-{order.data['InvoiceNumber']}"
    assert first["TotalGross"] == Decimal(order.data["TotalCost"])
    positions = sum(p["TotalGrossValue"] for p in first["Positions"])
    assert positions + first["AdditionalFees"][0]["Gross"] == first["TotalGross"] - Decimal(
        order.data["AdjustmentCost"]
    )


def test_the_invoice_list_filters_by_invoice_date_and_leaves_out_positions(client, account, orders):
    invoiced = sorted(o.invoice_date for o in orders if o.invoice_date)
    cutoff = invoiced[len(invoiced) // 2]
    naive_utc = cutoff.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")

    body = decoded(call(client, account, "GET", "/orders/invoices", {"minInvoiceDate": naive_utc}))

    assert body["Paging"]["TotalRows"] == sum(1 for d in invoiced if d >= cutoff)
    assert all(entry["Positions"] is None for entry in body["Data"])


def test_the_sandbox_answers_after_its_configured_latency(client, account, settings, monkeypatch):
    """SANDBOX_BILLBEE_LATENCY_MS plays the real Billbee's round trip (bench/latency.py)."""
    import sandbox.billbee.api as api

    slept = []
    monkeypatch.setattr(api.time, "sleep", slept.append)
    settings.SANDBOX_BILLBEE_LATENCY_MS = 150
    response = call(client, account, "GET", "/shopaccounts")
    assert response.status_code == 200
    assert slept == [0.15]

    settings.SANDBOX_BILLBEE_LATENCY_MS = 0
    call(client, account, "GET", "/shopaccounts")
    assert slept == [0.15]
