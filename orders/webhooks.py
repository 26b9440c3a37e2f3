"""Real-time notifications ("Echtzeit-Benachrichtigungen"): Billbee's webhooks.

Billbee's delivery format is undocumented; it matches Microsoft ASP.NET WebHooks
(../shared/billbee-api.md): registration sends ``GET <uri>?echo=<value>`` and expects the value
back as text; a delivery is a POST ``{"Id", "Attempt", "Properties", "Notifications":
[{"Action": …}]}`` with ``ms-signature: sha256=<hex HMAC-SHA256(body, secret)>``; retries after
1 and 4 minutes. A notification never carries data we book from: it only makes the account's
incremental sync run now (polling ``modifiedAtMin`` stays the source of truth, and the sync
runs again when a notification arrives while it runs).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.crypto import SecretUnreadable, readable
from orders.billbee_client import BillbeeClient, BillbeeError, BillbeeNotFound
from orders.models import BillbeeAccount, WebhookDelivery
from orders.services import billbee_client_for

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "ms-signature"
MAX_BODY_BYTES = 64 * 1024  # a notification is a few hundred bytes
SECRET_BYTES = 24  # 48 hex characters: Billbee takes secrets of 32 to 64 characters
DESCRIPTION = "billbee-sevdesk"
# A burst of notifications (an order paid, invoiced and shipped within seconds) asks for one
# sync: every call to Billbee counts against the merchant's monthly budget.
SYNC_DEBOUNCE = timedelta(seconds=15)


class WebhookRefused(Exception):
    """A delivery we do not act on; `status` is the HTTP answer (400 or 401)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


# --- Where Billbee can reach us ---------------------------------------------------------------


def webhook_url(account: BillbeeAccount) -> str:
    return settings.SITE_URL + reverse("billbee_webhook", args=[account.pk])


def webhooks_unavailable_reason() -> str:
    """Why this installation cannot receive webhooks ("" when it can): Billbee needs a public
    HTTPS address; the built-in sandbox Billbee, which runs here, reaches a local one."""
    if _billbee_is_local_sandbox():
        return ""
    site = urlsplit(settings.SITE_URL)
    if site.scheme != "https":
        return _(
            "Real-time notifications need the installation at a public HTTPS address "
            "(SITE_URL is %(url)s); until then the sync polls Billbee every few minutes."
        ) % {"url": settings.SITE_URL}
    if _is_local(site.hostname or ""):
        return _(
            "Billbee cannot reach %(url)s from the internet; the sync polls Billbee every few "
            "minutes instead."
        ) % {"url": settings.SITE_URL}
    return ""


def _billbee_is_local_sandbox() -> bool:
    return settings.SANDBOX_ENABLED and settings.BILLBEE_API_BASE_URL.startswith(
        settings.SITE_URL + "/sandbox/"
    )


def _is_local(host: str) -> bool:
    if host in {"localhost", ""} or host.endswith(".local") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


# --- Registering and removing -----------------------------------------------------------------


def order_filters(available: list[str]) -> list[str]:
    """The filters to register: Billbee's order events, as its filter list names them."""
    chosen = [name for name in available if name.lower().startswith("order")]
    if chosen:
        return chosen
    return ["*"] if "*" in available else []


def webhook_enable(*, account: BillbeeAccount, client: BillbeeClient | None = None) -> None:
    """Register the account's webhook with a fresh secret; raises BillbeeError (recorded on
    the account) when Billbee refuses. The secret is committed first: Billbee checks the
    address (the echo) while the registration is still under way."""
    client = client or billbee_client_for(account=account)
    if account.webhook_id:
        webhook_disable(account=account, client=client)
    secret = secrets.token_hex(SECRET_BYTES)
    BillbeeAccount.objects.filter(pk=account.pk).update(webhook_secret=secret, webhook_error="")
    account.refresh_from_db()
    try:
        filters = order_filters(client.get_webhook_filters())
        if not filters:
            raise BillbeeError(_("Billbee offers no webhook filter for orders."))
        webhook_id = client.register_webhook(
            uri=webhook_url(account), secret=secret, filters=filters, description=DESCRIPTION
        )
    except BillbeeError as error:
        BillbeeAccount.objects.filter(pk=account.pk).update(
            webhook_error=str(error), webhook_secret=""
        )
        account.refresh_from_db()
        raise
    BillbeeAccount.objects.filter(pk=account.pk).update(
        webhook_id=webhook_id, webhook_registered_at=timezone.now()
    )
    account.refresh_from_db()


def webhook_disable(*, account: BillbeeAccount, client: BillbeeClient | None = None) -> None:
    """Remove the webhook at Billbee (gone already is fine) and forget it here."""
    if account.webhook_id:
        client = client or billbee_client_for(account=account)
        with contextlib.suppress(BillbeeNotFound):  # gone already
            client.delete_webhook(account.webhook_id)
    BillbeeAccount.objects.filter(pk=account.pk).update(
        webhook_id="", webhook_secret="", webhook_registered_at=None, webhook_error=""
    )
    account.refresh_from_db()


def webhook_check(*, account: BillbeeAccount, client: BillbeeClient | None = None) -> bool:
    """Billbee drops webhooks (after failed deliveries, or by hand): register again when ours
    is gone. True when it was registered again."""
    if not account.webhook_id:
        return False
    client = client or billbee_client_for(account=account)
    registered = {str(hook.get("Id")) for hook in client.get_webhooks()}
    if account.webhook_id in registered:
        return False
    logger.info("Billbee webhook of account %s is gone; registering it again", account.pk)
    webhook_enable(account=account, client=client)
    return True


# --- Receiving ----------------------------------------------------------------------------------


def signature_valid(*, secret: str, body: bytes, header: str | None) -> bool:
    """``sha256=<hex HMAC-SHA256(body, secret)>``, compared in constant time."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


@dataclass(frozen=True)
class Received:
    delivery_id: str
    actions: list[str]


def webhook_receive(*, account: BillbeeAccount, body: bytes, signature: str | None) -> Received:
    """Check one delivery and ask for the account's sync; raises WebhookRefused (nothing is
    fetched) for a body that is too large, unsigned or wrongly signed, unreadable, or a
    delivery already received."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRefused(400, "body too large")
    try:
        secret = readable(account.webhook_secret) if account.webhook_secret else ""
    except SecretUnreadable:
        secret = ""
    if not signature_valid(secret=secret, body=body, header=signature):
        raise WebhookRefused(401, "missing or wrong signature")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused(400, "body is not JSON") from None
    if not isinstance(payload, dict) or not payload.get("Id"):
        raise WebhookRefused(400, "no delivery Id")
    notifications = payload.get("Notifications")
    actions = [
        str(n.get("Action"))
        for n in (notifications if isinstance(notifications, list) else [])
        if isinstance(n, dict)
    ]
    now = timezone.now()
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                account=account,
                delivery_id=str(payload["Id"])[:100],
                received_at=now,
                actions=", ".join(actions)[:255],
            )
    except IntegrityError:
        raise WebhookRefused(400, "delivery already received (replay)") from None
    previous = account.sync_requested_at
    BillbeeAccount.objects.filter(pk=account.pk).update(
        webhook_last_delivery_at=now, sync_requested_at=now
    )
    if previous is None or previous <= now - SYNC_DEBOUNCE:
        transaction.on_commit(lambda: _sync_now(account.pk))
    # else a sync asked for moments ago covers it: one queued has not opened its window yet,
    # and one running goes again when done (orders.services.sync_again_requested)
    return Received(delivery_id=str(payload["Id"]), actions=actions)


def _sync_now(account_id: int) -> None:
    from orders.tasks import sync_account

    sync_account.delay(account_id)


def webhook_echo(*, account: BillbeeAccount, echo: str) -> str | None:
    """The answer to Billbee's address check: the echo value, for an account expecting it."""
    if not account.webhook_secret or not echo or len(echo) > 200:
        return None
    return echo
