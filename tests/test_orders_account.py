"""The Billbee setup screen: secrets encrypted and never shown, connection test, sync now."""

import base64
import logging
from datetime import UTC, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from orders.models import BillbeeAccount, Order, Shop
from orders.services import orders_sync
from tests.contracts.billbee import billbee_json, sample_order
from tests.orders_factories import BillbeeAccountFactory

BASE = "https://app.billbee.io/api/v1"
SETUP = reverse("orders:billbee_account")
API_KEY = "0f5e9d1c-7a3b-4e2d-9c8b-61a7f4e23f9a"
API_PASSWORD = "Pw-for-the-API-only-7731"


@pytest.fixture(autouse=True)
def billbee_base_url(settings):
    settings.BILLBEE_API_BASE_URL = BASE


def form(**overrides) -> dict:
    data = {"api_key": API_KEY, "username": "shop@example.com", "api_password": API_PASSWORD}
    data.update({"sync_enabled": "on", "sync_since": "2026-01-01", "action": "save"})
    data.update(overrides)
    return data


def shops_answer() -> str:
    shop = {"Id": 4711, "Name": "Amazon DE", "AccountType": "Amazon"}
    return billbee_json(
        {"Paging": {"Page": 1, "TotalPages": 1, "TotalRows": 1, "PageSize": 250}, "Data": [shop]}
    )


def orders_answer(orders: list[dict], page: int, total_pages: int) -> str:
    paging = {"Page": page, "TotalPages": total_pages, "TotalRows": 3, "PageSize": 250}
    return billbee_json({"Paging": paging, "ErrorMessage": None, "Data": orders})


def test_saving_the_form_stores_the_account_with_its_secrets(member_client, merchant):
    response = member_client.post(SETUP, form())

    assert response.status_code == 302
    account = BillbeeAccount.objects.for_merchant(merchant).get()
    assert (account.api_key, account.api_password) == (API_KEY, API_PASSWORD)
    assert account.connection_status == BillbeeAccount.ConnectionStatus.UNTESTED
    assert str(account.sync_since) == "2026-01-01"


def test_setup_page_never_renders_the_secrets_back(member_client, merchant):
    member_client.post(SETUP, form())

    page = member_client.get(SETUP).content.decode()

    assert API_KEY not in page and API_PASSWORD not in page
    assert "••••3f9a" in page  # recognisable, not readable
    assert "shop@example.com" in page


def test_empty_secret_fields_keep_the_stored_secrets(member_client, merchant):
    member_client.post(SETUP, form())

    member_client.post(SETUP, form(api_key="", api_password="", username="new@example.com"))

    account = BillbeeAccount.objects.for_merchant(merchant).get()
    assert (account.api_key, account.api_password) == (API_KEY, API_PASSWORD)
    assert account.username == "new@example.com"


def test_first_save_without_secrets_is_refused(member_client, merchant):
    response = member_client.post(SETUP, form(api_key="", api_password=""))

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"api_key", "api_password"}
    assert not BillbeeAccount.objects.exists()


def test_connection_test_sends_both_credentials_and_marks_the_account_ok(
    member_client, merchant, billbee_http, caplog
):
    billbee_http.get(f"{BASE}/shopaccounts", body=shops_answer(), content_type="application/json")
    caplog.set_level(logging.DEBUG)

    response = member_client.post(SETUP, form(action="test"), follow=True)

    request = billbee_http.calls[0].request
    assert request.headers["X-Billbee-Api-Key"] == API_KEY
    expected_auth = base64.b64encode(f"shop@example.com:{API_PASSWORD}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected_auth}"
    account = BillbeeAccount.objects.for_merchant(merchant).get()
    assert account.connection_status == BillbeeAccount.ConnectionStatus.OK
    assert Shop.objects.for_merchant(merchant).get().name == "Amazon DE"
    assert "1 Shop gefunden" in response.content.decode()
    assert API_KEY not in caplog.text and API_PASSWORD not in caplog.text


def test_refused_credentials_are_shown_in_the_merchants_words_and_never_logged(
    member_client, merchant, billbee_http, caplog
):
    billbee_http.get(f"{BASE}/shopaccounts", status=401, json={"Message": "Unauthorized"})
    caplog.set_level(logging.DEBUG)

    page = member_client.post(SETUP, form(action="test"), follow=True).content.decode()

    account = BillbeeAccount.objects.for_merchant(merchant).get()
    assert account.connection_status == BillbeeAccount.ConnectionStatus.FAILED
    assert "Prüfe API Key" in page
    assert API_KEY not in page and API_PASSWORD not in page
    assert API_KEY not in caplog.text and API_PASSWORD not in caplog.text


def test_sync_now_enqueues_the_sync_after_the_commit(
    member_client, merchant, django_capture_on_commit_callbacks, monkeypatch
):
    account = BillbeeAccountFactory(merchant=merchant)
    enqueued = []
    monkeypatch.setattr("orders.tasks.sync_account.delay", enqueued.append)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        member_client.post(SETUP, {"action": "sync"})
    assert enqueued == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()

    assert enqueued == [account.pk]


def test_sync_over_http_pages_with_billbees_parameters_and_logs_no_secret(db, billbee_http, caplog):
    account = BillbeeAccountFactory(api_key=API_KEY, api_password=API_PASSWORD)
    first_page = [sample_order(BillBeeOrderId=1), sample_order(BillBeeOrderId=2)]
    bad = sample_order(BillBeeOrderId=3, Currency=None)
    billbee_http.get(f"{BASE}/shopaccounts", body=shops_answer(), content_type="application/json")
    billbee_http.get(
        f"{BASE}/orders", body=orders_answer(first_page, 1, 2), content_type="application/json"
    )
    billbee_http.get(
        f"{BASE}/orders", body=orders_answer([bad], 2, 2), content_type="application/json"
    )
    caplog.set_level(logging.DEBUG)

    run = orders_sync(account=account)

    queries = [parse_qs(urlsplit(call.request.url).query) for call in billbee_http.calls[1:]]
    assert [query["page"] for query in queries] == [["1"], ["2"]]
    assert all(query["pageSize"] == ["250"] for query in queries)
    assert all("modifiedAtMin" not in query for query in queries)  # first run: everything
    assert (run.orders_created, run.orders_rejected) == (2, 1)
    assert "Bestellung 3" in run.errors and "Currency" in run.errors
    order = Order.objects.get(billbee_id=1)
    assert order.invoice_number == "RN-2022-0083" and order.shop.name == "Amazon DE"
    assert order.items.get().tax_amount == Decimal("3.17731092")  # 28 digits, rounded to 8
    assert API_KEY not in caplog.text and API_PASSWORD not in caplog.text


def test_next_sync_over_http_asks_for_orders_modified_since_the_cursor_minus_overlap(
    db, billbee_http
):
    account = BillbeeAccountFactory()
    billbee_http.get(f"{BASE}/shopaccounts", body=shops_answer(), content_type="application/json")
    billbee_http.get(
        f"{BASE}/orders", body=orders_answer([], 1, 0), content_type="application/json"
    )
    first = orders_sync(account=account)

    orders_sync(account=account)

    query = parse_qs(urlsplit(billbee_http.calls[-1].request.url).query)
    expected = first.window_to.astimezone(UTC).replace(tzinfo=None) - timedelta(minutes=10)
    assert query["modifiedAtMin"] == [expected.isoformat(timespec="milliseconds")]
