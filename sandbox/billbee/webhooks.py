"""Webhooks as the sandbox Billbee sends them: registered through the API, delivered when an
order changes, in the format Billbee's webhooks appear to use (ASP.NET WebHooks, see
../shared/billbee-api.md: POST ``{"Id", "Attempt", "Properties", "Notifications":
[{"Action": …}]}`` with ``ms-signature: sha256=<hex HMAC-SHA256(body, secret)>``). The
sandbox skips the echo check on registration (as ``?noecho`` would)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid

import requests
from django.db import transaction

from .models import SandboxAccount, SandboxWebhook

logger = logging.getLogger(__name__)

FILTERS = {
    "order.created": "Eine Bestellung wurde angelegt",
    "order.updated": "Eine Bestellung wurde geändert",
    "*": "Alle Ereignisse",
}
DELIVERY_TIMEOUT = 10
RETRY_AFTER = (60, 240)  # Billbee retries after 1 and 4 minutes


class WebhookInvalid(Exception):
    def __init__(self, field: str, problem: str):
        super().__init__(problem)
        self.field = field
        self.problem = problem


def webhook_register(*, account: SandboxAccount, data: dict) -> SandboxWebhook:
    uri = data.get("WebHookUri")
    secret = data.get("Secret")
    filters = data.get("Filters")
    if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
        raise WebhookInvalid("webHook.WebHookUri", "An absolute http(s) URI is required.")
    if not isinstance(secret, str) or not 32 <= len(secret) <= 64:
        raise WebhookInvalid("webHook.Secret", "The secret must be 32 to 64 characters long.")
    if not isinstance(filters, list) or not filters or not set(filters) <= set(FILTERS):
        raise WebhookInvalid("webHook.Filters", f"Filters must be some of {sorted(FILTERS)}.")
    return SandboxWebhook.objects.create(
        account=account,
        webhook_id=str(uuid.uuid4()),
        uri=uri,
        secret=secret,
        filters=filters,
        description=str(data.get("Description") or "")[:255],
        is_paused=bool(data.get("IsPaused")),
    )


def webhook_model(hook: SandboxWebhook) -> dict:
    """WebHookApiModel; the secret is not shown again."""
    return {
        "Id": hook.webhook_id,
        "WebHookUri": hook.uri,
        "Description": hook.description,
        "IsPaused": hook.is_paused,
        "Filters": hook.filters,
        "Headers": {},
        "Properties": {},
        "Secret": None,
    }


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def orders_changed(*, account: SandboxAccount, billbee_ids: list[int], action: str) -> None:
    """Tell the account's webhooks (on commit) that these orders changed."""
    hooks = [
        hook
        for hook in account.webhooks.filter(is_paused=False)
        if action in hook.filters or "*" in hook.filters
    ]
    if not hooks or not billbee_ids:
        return
    notifications = [{"Action": action, "OrderId": billbee_id} for billbee_id in billbee_ids]
    for hook in hooks:
        body = {
            "Id": str(uuid.uuid4()),
            "Attempt": 1,
            "Properties": {},
            "Notifications": notifications,
        }
        transaction.on_commit(lambda hook=hook, body=body: _deliver_later(hook.pk, body))


def _deliver_later(hook_pk: int, body: dict) -> None:
    from sandbox.billbee.tasks import deliver_webhook

    deliver_webhook.delay(hook_pk, body)


def webhook_deliver(*, hook: SandboxWebhook, body: dict) -> bool:
    """One delivery attempt; True when the receiver answered 2xx."""
    raw = json.dumps(body).encode()
    try:
        answer = requests.post(
            hook.uri,
            data=raw,
            headers={
                "Content-Type": "application/json",
                "ms-signature": signature(hook.secret, raw),
            },
            timeout=DELIVERY_TIMEOUT,
        )
    except requests.RequestException as exc:
        SandboxWebhook.objects.filter(pk=hook.pk).update(last_error=type(exc).__name__)
        return False
    if 200 <= answer.status_code < 300:
        SandboxWebhook.objects.filter(pk=hook.pk).update(last_error="")
        hook.deliveries += 1
        hook.save(update_fields=["deliveries"])
        return True
    SandboxWebhook.objects.filter(pk=hook.pk).update(last_error=f"HTTP {answer.status_code}")
    return answer.status_code == 410  # 410 Gone: the receiver does not want it, stop
