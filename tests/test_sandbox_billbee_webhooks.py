"""The sandbox Billbee's webhooks: registered through its API (requests and answers checked
against Billbee's spec), delivered signed when an order changes, and taken by our receiver:
the whole loop in process, from a paid order in the sandbox to the sync it asks for."""

import json
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from orders import webhooks as product_webhooks
from orders.models import WebhookDelivery
from orders.services import billbee_account_save, orders_sync
from sandbox.billbee import webhooks as sandbox_webhooks
from sandbox.billbee.models import SandboxWebhook
from sandbox.billbee.services import account_get_or_create, orders_generate, orders_mutate
from tests.factories import MerchantAccountFactory
from tests.sandbox_http import SANDBOX_URL


@pytest.fixture
def linked(db, sandbox_http, settings):
    settings.SITE_URL = SANDBOX_URL  # the receiver is reached through the same adapter
    sandbox, _created = account_get_or_create(name="Hooks")
    orders_generate(account=sandbox, count=10, seed=4, start=datetime(2026, 10, 1, tzinfo=UTC))
    account = billbee_account_save(
        merchant=MerchantAccountFactory(),
        username=sandbox.username,
        api_key=sandbox.api_key,
        api_password=sandbox.api_password,
        sync_since=date(2026, 9, 1),
    )
    orders_sync(account=account)
    return sandbox, account


@pytest.fixture
def delivered_now(monkeypatch):
    """Deliver at once instead of through the worker."""

    def deliver(hook_pk, body):
        hook = SandboxWebhook.objects.get(pk=hook_pk)
        assert sandbox_webhooks.webhook_deliver(hook=hook, body=body)

    monkeypatch.setattr(sandbox_webhooks, "_deliver_later", deliver)


@pytest.fixture
def syncs(monkeypatch) -> list[int]:
    asked: list[int] = []
    monkeypatch.setattr(product_webhooks, "_sync_now", asked.append)
    return asked


def test_switching_on_registers_with_the_sandbox_and_off_removes_it(linked, sandbox_http):
    sandbox, account = linked
    assert product_webhooks.webhooks_unavailable_reason() == ""  # the local sandbox reaches us

    product_webhooks.webhook_enable(account=account)

    hook = SandboxWebhook.objects.get(account=sandbox)
    assert hook.webhook_id == account.webhook_id
    assert hook.uri == f"{SANDBOX_URL}/billbee/webhooks/{account.pk}/"
    assert hook.secret == account.webhook_secret
    assert set(hook.filters) == {"order.created", "order.updated"}

    product_webhooks.webhook_disable(account=account)

    assert not SandboxWebhook.objects.exists()
    assert sandbox_http.count("/webhooks", "DELETE") == 1


def test_an_order_paid_in_the_sandbox_reaches_our_receiver_signed_and_asks_for_a_sync(
    linked, delivered_now, syncs, django_capture_on_commit_callbacks
):
    sandbox, account = linked
    product_webhooks.webhook_enable(account=account)

    with django_capture_on_commit_callbacks(execute=True):
        (changed,) = orders_mutate(account=sandbox, count=1, seed=9)

    delivery = WebhookDelivery.objects.get(account=account)
    assert delivery.actions == "order.updated"
    assert syncs == [account.pk]
    account.refresh_from_db()
    assert account.sync_requested_at is not None
    assert SandboxWebhook.objects.get().deliveries == 1
    assert changed.billbee_id  # the notification named it; the sync fetches it, not the body


def test_a_delivery_the_receiver_refuses_is_recorded_for_a_retry(linked, settings):
    _sandbox, account = linked
    product_webhooks.webhook_enable(account=account)
    hook = SandboxWebhook.objects.get()
    hook.secret = "x" * 48  # out of step with the product: the signature will not match
    hook.save()

    ok = sandbox_webhooks.webhook_deliver(
        hook=hook, body={"Id": "d-1", "Attempt": 1, "Properties": {}, "Notifications": []}
    )

    assert not ok
    hook.refresh_from_db()
    assert hook.last_error == "HTTP 401"
    assert not WebhookDelivery.objects.exists()


def test_the_sandbox_refuses_a_registration_billbee_would_refuse(client, linked):
    from tests.test_sandbox_billbee_api import call

    sandbox, _account = linked
    body = json.dumps({"WebHookUri": "https://x.example/hook", "Secret": "short", "Filters": []})

    answer = call(client, sandbox, "POST", "/webhooks", body=body)

    assert answer.status_code == 400
    assert not SandboxWebhook.objects.exists()


def test_the_filter_list_is_an_object_of_names(client, linked):
    from tests.test_sandbox_billbee_api import call, decoded

    sandbox, _account = linked

    filters = decoded(call(client, sandbox, "GET", "/webhooks/filters"))

    assert {"order.created", "order.updated"} <= set(filters)


def test_the_billbee_page_switches_notifications_on_and_shows_the_months_calls(
    member_client, merchant, sandbox_http, settings
):
    settings.SITE_URL = SANDBOX_URL
    sandbox, _created = account_get_or_create(name="Page")
    account = billbee_account_save(
        merchant=merchant,
        username=sandbox.username,
        api_key=sandbox.api_key,
        api_password=sandbox.api_password,
        sync_since=date(2026, 9, 1),
    )
    orders_sync(account=account)  # a few calls to count
    page = member_client.get(reverse("orders:billbee_account")).content.decode()
    assert "Echtzeit-Benachrichtigungen" in page and "Einschalten" in page
    assert "Dieses Konto: 2 Aufrufe" in page  # the shop list and one page of orders

    member_client.post(reverse("orders:billbee_account"), {"action": "webhook_on"})

    hook = SandboxWebhook.objects.get(account=sandbox)
    account.refresh_from_db()
    assert account.webhook_id == hook.webhook_id
    page = member_client.get(reverse("orders:billbee_account")).content.decode()
    assert "Ausschalten" in page
    assert "alle 15 Minuten" in page
