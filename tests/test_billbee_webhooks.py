"""Billbee's webhooks: the receiver checks the signature, the size and replays before it asks
for a sync; registration picks the order filters Billbee lists and keeps the secret encrypted."""

import hashlib
import hmac
import json
import uuid

import pytest
from django.db import connection
from django.urls import reverse

from orders import webhooks
from orders.billbee_client import BillbeeClient
from orders.models import BillbeeAccount, WebhookDelivery
from tests.contracts.billbee import billbee_json
from tests.orders_factories import BillbeeAccountFactory

SECRET = "8f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d"
BASE = "https://app.billbee.io/api/v1"


@pytest.fixture
def account(db):
    return BillbeeAccountFactory(webhook_id="wh-7", webhook_secret=SECRET)


@pytest.fixture
def syncs(monkeypatch) -> list[int]:
    asked: list[int] = []
    monkeypatch.setattr(webhooks, "_sync_now", asked.append)
    return asked


def delivery(delivery_id="d-1", actions=("order.updated",)) -> bytes:
    return json.dumps(
        {
            "Id": delivery_id,
            "Attempt": 1,
            "Properties": {},
            "Notifications": [{"Action": action} for action in actions],
        }
    ).encode()


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(client, account, body: bytes, signature: str | None):
    headers = {"ms-signature": signature} if signature is not None else {}
    return client.post(
        reverse("billbee_webhook", args=[account.pk]),
        data=body,
        content_type="application/json",
        headers=headers,
    )


def test_a_well_signed_notification_asks_for_the_accounts_sync(
    client, account, syncs, django_capture_on_commit_callbacks
):
    body = delivery()

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, account, body, signed(body))

    assert response.status_code == 200
    assert syncs == [account.pk]
    account.refresh_from_db()
    assert account.sync_requested_at is not None
    assert account.webhook_last_delivery_at is not None
    assert WebhookDelivery.objects.get().actions == "order.updated"


@pytest.mark.parametrize(
    ("signature", "status"),
    [
        (None, 401),
        ("", 401),
        ("sha256=" + "0" * 64, 401),
        ("sha1=abc", 401),
        (signed(delivery(), secret="another-secret-of-sufficient-length-123"), 401),
    ],
)
def test_an_unsigned_or_wrongly_signed_notification_is_refused_and_nothing_fetched(
    signature, status, client, account, syncs, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, account, delivery(), signature)

    assert response.status_code == status
    assert syncs == []
    assert not WebhookDelivery.objects.exists()
    account.refresh_from_db()
    assert account.sync_requested_at is None
    assert "order.updated" not in caplog.text  # logged without the body


def test_a_replayed_notification_is_refused(
    client, account, syncs, django_capture_on_commit_callbacks
):
    body = delivery("d-42")
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, account, body, signed(body))
        again = post(client, account, body, signed(body))

    assert (first.status_code, again.status_code) == (200, 400)
    assert syncs == [account.pk]


def test_an_oversized_body_is_refused_before_it_is_read(client, account, syncs):
    body = json.dumps({"Id": "big", "Notifications": [], "Padding": "x" * 70_000}).encode()

    response = post(client, account, body, signed(body))

    assert response.status_code == 400
    assert syncs == []


def test_a_body_that_is_not_a_notification_is_refused(client, account, syncs):
    body = b"not json"

    assert post(client, account, body, signed(body)).status_code == 400
    body = b'{"Notifications": []}'  # no Id
    assert post(client, account, body, signed(body)).status_code == 400
    assert syncs == []


def test_an_unknown_account_or_one_without_webhooks_gets_404(client, db, syncs):
    other = BillbeeAccountFactory()  # no webhook secret
    body = delivery()

    missing = client.post(
        reverse("billbee_webhook", args=[999_999]), data=body, content_type="application/json"
    )
    off = post(client, other, body, signed(body))

    assert (missing.status_code, off.status_code) == (404, 404)
    assert syncs == []


def test_the_echo_check_returns_the_value_only_to_an_account_expecting_webhooks(client, account):
    url = reverse("billbee_webhook", args=[account.pk])

    answer = client.get(url, {"echo": "5f0c3a"})

    assert answer.status_code == 200
    assert answer.content == b"5f0c3a"
    assert answer["Content-Type"].startswith("text/plain")
    assert client.get(url).status_code == 404


def test_the_secret_is_stored_encrypted(account):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT webhook_secret FROM orders_billbeeaccount WHERE id = %s", [account.pk]
        )
        (column,) = cursor.fetchone()

    assert column and SECRET not in column
    assert BillbeeAccount.objects.get(pk=account.pk).webhook_secret == SECRET


# --- Registration ------------------------------------------------------------------------------


def make_client() -> BillbeeClient:
    return BillbeeClient(
        base_url=BASE,
        api_key=f"key-{uuid.uuid4()}",
        username="shop@example.com",
        api_password="pw",
        min_interval_per_endpoint=0,
        sleep=lambda seconds: None,
    )


def test_switching_on_registers_the_order_filters_billbee_lists_with_a_fresh_secret(
    db, billbee_http, settings
):
    settings.SITE_URL = "https://bridge.example.com"
    account = BillbeeAccountFactory()
    billbee_http.get(
        f"{BASE}/webhooks/filters",
        body=billbee_json(
            [{"Name": "order.created"}, {"Name": "order.updated"}, {"Name": "customer.created"}]
        ),
    )
    billbee_http.post(f"{BASE}/webhooks", body=billbee_json({"Id": "wh-99"}))

    webhooks.webhook_enable(account=account, client=make_client())

    sent = json.loads(billbee_http.calls[-1].request.body)
    assert sent["Filters"] == ["order.created", "order.updated"]
    assert sent["WebHookUri"] == f"https://bridge.example.com/billbee/webhooks/{account.pk}/"
    assert 32 <= len(sent["Secret"]) <= 64
    account.refresh_from_db()
    assert account.webhook_id == "wh-99"
    assert account.webhook_secret == sent["Secret"]


def test_switching_off_removes_the_webhook_at_billbee(db, billbee_http):
    account = BillbeeAccountFactory(webhook_id="wh-5", webhook_secret=SECRET)
    billbee_http.delete(f"{BASE}/webhooks/wh-5", body=billbee_json({}))

    webhooks.webhook_disable(account=account, client=make_client())

    account.refresh_from_db()
    assert (account.webhook_id, account.webhook_secret) == ("", "")
    assert billbee_http.calls[0].request.method == "DELETE"


def test_a_webhook_billbee_dropped_is_registered_again(db, billbee_http, settings):
    settings.SITE_URL = "https://bridge.example.com"
    account = BillbeeAccountFactory(webhook_id="wh-5", webhook_secret=SECRET)
    billbee_http.get(f"{BASE}/webhooks", body=billbee_json([{"Id": "someone-else"}]))
    billbee_http.delete(f"{BASE}/webhooks/wh-5", status=404, body=billbee_json({"Message": "x"}))
    billbee_http.get(f"{BASE}/webhooks/filters", body=billbee_json(["order.updated"]))
    billbee_http.post(f"{BASE}/webhooks", body=billbee_json({"Id": "wh-6"}))

    assert webhooks.webhook_check(account=account, client=make_client())

    account.refresh_from_db()
    assert account.webhook_id == "wh-6"


@pytest.mark.parametrize(
    ("site_url", "available"),
    [
        ("https://bridge.example.com", True),
        ("http://bridge.example.com", False),
        ("https://127.0.0.1:8443", False),
        ("https://192.168.1.20", False),
        ("https://localhost", False),
    ],
)
def test_webhooks_need_a_public_https_address(site_url, available, settings):
    settings.SITE_URL = site_url
    settings.BILLBEE_API_BASE_URL = "https://app.billbee.io/api/v1"

    assert (webhooks.webhooks_unavailable_reason() == "") is available


def test_a_burst_of_notifications_asks_for_one_sync(
    client, account, syncs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(3):  # paid, invoiced, shipped within seconds
            body = delivery(f"burst-{number}")
            assert post(client, account, body, signed(body)).status_code == 200

    assert syncs == [account.pk]
    assert WebhookDelivery.objects.count() == 3
