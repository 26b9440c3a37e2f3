"""The real BillbeeClient against the sandbox over HTTP, both sides checked against the spec."""

import gc
import time
from datetime import UTC, datetime

import pytest
import requests
from django.core.cache import cache

from orders.billbee_client import (
    BillbeeAuthenticationFailed,
    BillbeeClient,
    BillbeeRejected,
    BillbeeTemporaryError,
)
from sandbox.billbee.models import SandboxAccount
from sandbox.billbee.services import fault_inject, orders_generate, orders_mutate
from tests.contracts.billbee import validate_billbee_request, validate_billbee_response

START = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture
def account(transactional_db) -> SandboxAccount:
    cache.clear()
    return SandboxAccount.objects.create(name="E2E", username="e2e@example.com")


class RecordingSession(requests.Session):
    """A session that keeps every exchange, to check them against the spec afterwards."""

    def __init__(self):
        super().__init__()
        self.exchanges: list[requests.Response] = []
        self.hooks["response"].append(lambda response, **_: self.exchanges.append(response))

    def check_against_spec(self) -> None:
        for response in self.exchanges:
            request = response.request
            validate_billbee_request(
                request.method, request.url, body=request.body, headers=request.headers
            )
            if response.headers.get("Content-Type", "").startswith("application/json"):
                validate_billbee_response(
                    request.method, request.url, status=response.status_code, body=response.content
                )


@pytest.fixture
def session():
    recording = RecordingSession()
    yield recording
    try:
        recording.check_against_spec()
    finally:
        # Let go of every socket (a kept response holds its own), so no server thread is
        # left waiting on a connection when the live server and the test database shut down.
        for response in recording.exchanges:
            response.close()
        recording.exchanges.clear()
        recording.close()
        gc.collect()  # sockets caught in reference cycles close only when collected


def client_for(live_server, account, session, **options) -> BillbeeClient:
    return BillbeeClient(
        base_url=f"{live_server.url}/sandbox/billbee/api/v1",
        api_key=account.api_key,
        username=account.username,
        api_password=options.pop("api_password", account.api_password),
        session=session,
        timeout=10,
        **options,
    )


def all_orders(client: BillbeeClient, **filters):
    orders, rejected, page_number, total_pages = [], [], 1, 1
    while page_number <= total_pages:
        page = client.get_orders_page(page=page_number, **filters)
        orders += page.orders
        rejected += page.rejected
        total_pages, page_number = page.total_pages, page_number + 1
    return orders, rejected


def test_the_client_pages_through_generated_orders_with_throttling_on(
    live_server, account, session
):
    orders_generate(account=account, count=620, seed=7, start=START)
    client = client_for(live_server, account, session)  # real 0.5 s spacing per endpoint
    started = time.monotonic()

    orders, rejected = all_orders(client)

    assert rejected == []
    assert [o.billbee_id for o in orders] == list(
        account.orders.order_by("billbee_id").values_list("billbee_id", flat=True)
    )
    # 250 + 250 + 120. Network jitter can still squeeze three arrivals into one second of
    # the server's clock; then a 429 comes back and the client waits and retries.
    statuses = [response.status_code for response in session.exchanges]
    assert [status for status in statuses if status != 429] == [200, 200, 200]
    assert time.monotonic() - started >= 1.0  # the client waited for each endpoint slot
    assert any(o.payment_method == 157 for o in orders)


def test_incremental_sync_sees_exactly_the_changed_orders(live_server, account, session):
    orders_generate(account=account, count=80, seed=3, start=START)
    client = client_for(live_server, account, session, min_interval_per_endpoint=0)
    _, _ = all_orders(client)
    cursor = max(account.orders.values_list("last_modified_at", flat=True))

    changed = orders_mutate(account=account, count=15, seed=3)
    orders, _ = all_orders(client, modified_at_min=cursor)

    assert {o.billbee_id for o in orders} == {o.billbee_id for o in changed}


def test_tags_invoice_and_enums_round_trip(live_server, account, session):
    orders_generate(account=account, count=20, seed=1, start=START)
    invoiced = next(o for o in account.orders.all() if o.data["InvoiceNumber"])
    client = client_for(live_server, account, session, min_interval_per_endpoint=0)

    client.add_tags(invoiced.billbee_id, ["sevDesk"])
    pdf = client.get_invoice_pdf(invoiced.billbee_id)
    order = client.get_order(invoiced.billbee_id)
    shops = client.get_shops()
    states = client.get_order_states()

    assert "sevDesk" in order.tags
    assert pdf.pdf.startswith(b"%PDF-") and pdf.invoice_number == order.invoice_number
    assert pdf.total_gross == order.total_cost
    assert {shop.name for shop in shops} == {"Mein Shopify-Shop", "Amazon DE", "eBay"}
    assert any(state.name == "Versendet" for state in states)


def test_asking_for_a_missing_invoice_is_rejected_not_created(live_server, account, session):
    orders_generate(account=account, count=30, seed=1, start=START)
    open_order = next(o for o in account.orders.all() if not o.data["InvoiceNumber"])
    client = client_for(live_server, account, session, min_interval_per_endpoint=0)

    with pytest.raises(BillbeeRejected, match="keine Rechnung"):
        client.get_invoice_pdf(open_order.billbee_id)


def test_wrong_credentials_and_faults_reach_the_client_as_our_errors(live_server, account, session):
    orders_generate(account=account, count=5, seed=1, start=START)
    client = client_for(live_server, account, session, min_interval_per_endpoint=0)
    wrong = client_for(
        live_server, account, session, min_interval_per_endpoint=0, api_password="nope"
    )
    fault_inject(account=account, kind="html_502")
    fault_inject(account=account, kind="malformed_order")

    with pytest.raises(BillbeeAuthenticationFailed):
        wrong.get_orders_page(page=1)
    with pytest.raises(BillbeeTemporaryError, match="502 with an HTML page"):
        client.get_orders_page(page=1)
    page = client.get_orders_page(page=1)

    assert len(page.rejected) == 1 and len(page.orders) == 4
    assert "TotalCost" in page.rejected[0].message or "CreatedAt" in page.rejected[0].message
    session.exchanges.pop().close()  # the malformed page breaks the spec on purpose
