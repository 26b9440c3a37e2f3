"""Writes and rules for sevDesk connections: saving, testing the token, clearing accounts."""

import datetime
from dataclasses import dataclass

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from connections.models import BOOKKEEPING_1_0, TOKEN_REJECTED_MESSAGE, Connection
from connections.sevdesk_client import (
    CheckAccount,
    SevdeskAuthenticationFailed,
    SevdeskClient,
    SevdeskError,
)
from connections.signals import token_accepted
from core.crypto import SecretUnreadable, readable
from core.ratelimit import limiter_from_settings


def sevdesk_client_for(*, token: str, session: requests.Session | None = None) -> SevdeskClient:
    """A client whose rate limit and 429 pauses every process of the project shares."""
    return SevdeskClient(
        token=readable(token),
        base_url=settings.SEVDESK_API_BASE_URL,
        timeout=settings.SEVDESK_TIMEOUT_SECONDS,
        requests_per_second=settings.SEVDESK_REQUESTS_PER_SECOND,
        session=session,
        limiter=limiter_from_settings(),
    )


@dataclass(frozen=True)
class ConnectionTestResult:
    status: Connection.Status
    message: str
    bookkeeping_version: str = ""
    check_accounts: tuple[CheckAccount, ...] = ()
    sevdesk_client_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == Connection.Status.OK


def sevdesk_token_test(*, token: str) -> ConnectionTestResult:
    """Ask sevDesk with this token for what the export needs; never raises for sevDesk errors."""
    try:
        client = sevdesk_client_for(token=token)
    except SecretUnreadable as exc:
        return ConnectionTestResult(status=Connection.Status.TOKEN_REJECTED, message=str(exc))
    try:
        version = client.bookkeeping_system_version()
        if version != "2.0":
            return ConnectionTestResult(
                status=Connection.Status.UNSUPPORTED,
                message=str(BOOKKEEPING_1_0),
                bookkeeping_version=version,
            )
        accounts = tuple(client.list_check_accounts())
        known = {account.sev_client_id for account in accounts} - {None}
        client_id = known.pop() if len(known) == 1 else client.sev_client_id()
    except SevdeskAuthenticationFailed:
        return ConnectionTestResult(
            status=Connection.Status.TOKEN_REJECTED, message=str(TOKEN_REJECTED_MESSAGE)
        )
    except SevdeskError as error:
        return ConnectionTestResult(
            status=Connection.Status.UNREACHABLE,
            message=_("sevDesk could not be reached: %(error)s") % {"error": error},
        )
    return ConnectionTestResult(
        status=Connection.Status.OK,
        message=_("Connected to sevDesk (bookkeeping system %(version)s).") % {"version": version},
        bookkeeping_version=version,
        check_accounts=accounts,
        sevdesk_client_id=client_id,
    )


def connection_record_test(*, connection: Connection, result: ConnectionTestResult) -> None:
    connection.checked_at = timezone.now()
    connection.status = result.status
    connection.last_error = "" if result.ok else result.message
    connection.bookkeeping_version = result.bookkeeping_version or connection.bookkeeping_version
    if result.status == Connection.Status.TOKEN_REJECTED:
        connection.token_rejected_at = connection.checked_at
        connection.token_recheck_at = None  # the merchant saw it; no automatic re-checks
    elif result.ok:
        connection.token_rejected_at = None
        connection.token_recheck_at = None
        connection.token_rechecks = 0
        if result.sevdesk_client_id != connection.sevdesk_client_id:
            connection.revenue_guidance = []  # another sevDesk account: its own accounts
        connection.sevdesk_client_id = result.sevdesk_client_id
    connection.save(
        update_fields=[
            "status",
            "last_error",
            "checked_at",
            "bookkeeping_version",
            "token_rejected_at",
            "token_recheck_at",
            "token_rechecks",
            "sevdesk_client_id",
            "revenue_guidance",
            "updated_at",
        ]
    )
    if result.ok:
        # Resumes what a rejected token stopped (the exports app listens).
        transaction.on_commit(lambda: token_accepted.send(sender=Connection, connection=connection))


# Re-checks of a rejected token, counted from the 401 (sevDesk answers spurious 401s while a
# browser session of the same user is open).
TOKEN_RECHECK_AFTER = (
    datetime.timedelta(minutes=1),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=15),
)


def connection_token_recheck(*, connection: Connection) -> bool:
    """One cheap call with a rejected token; True (and exports resume) if it works again."""
    try:
        sevdesk_client_for(token=connection.api_token).bookkeeping_system_version()
    except (SevdeskAuthenticationFailed, SecretUnreadable):
        done = connection.token_rechecks + 1
        connection.token_rechecks = done
        connection.token_recheck_at = (
            connection.token_rejected_at + TOKEN_RECHECK_AFTER[done]
            if done < len(TOKEN_RECHECK_AFTER)
            else None  # blocked until the merchant tests or saves
        )
        connection.save(update_fields=["token_rechecks", "token_recheck_at", "updated_at"])
        return False
    except SevdeskError:
        return False  # sevDesk not reachable: same check again next minute
    connection_test(connection=connection)
    return connection.token_rejected_at is None


def connections_token_recheck_due(*, now=None) -> list[int]:
    now = now or timezone.now()
    return list(
        Connection.objects.filter(
            is_active=True, token_rejected_at__isnull=False, token_recheck_at__lte=now
        ).values_list("pk", flat=True)
    )


def connection_test(*, connection: Connection) -> ConnectionTestResult:
    result = sevdesk_token_test(token=connection.api_token)
    connection_record_test(connection=connection, result=result)
    return result


def connection_overlap(
    *, connection: Connection, shops, include_manual_orders: bool, sevdesk_client_id: int | None
) -> Connection | None:
    """Another active connection of the merchant that books into the same sevDesk account
    and shares a shop (or both take manual orders): saving would book every order twice."""
    if sevdesk_client_id is None:
        return None
    others = Connection.objects.filter(
        merchant=connection.merchant, is_active=True, sevdesk_client_id=sevdesk_client_id
    ).exclude(pk=connection.pk)
    shop_ids = {shop.pk for shop in shops}
    for other in others.prefetch_related("shops"):
        if shop_ids & {shop.pk for shop in other.shops.all()}:
            return other
        if include_manual_orders and other.include_manual_orders:
            return other
    return None


@transaction.atomic
def connection_save(*, connection: Connection, shops, token: str | None) -> Connection:
    """Save the settings (a new token only when one was typed), then test them against sevDesk.

    The settings are kept even when the test fails; the result is on the connection's status.
    """
    if token:
        connection.set_token(token)
    connection.save()
    connection.shops.set(shops)
    # Saving (same token or a new one) is the merchant's word that the token is to be used
    # again: what a rejected token stopped resumes.
    transaction.on_commit(lambda: token_accepted.send(sender=Connection, connection=connection))
    return connection


class ClearingAccountRefused(Exception):
    """The offline account was not created; `message` says why in the merchant's words,
    `detail` is sevDesk's own text (if it answered)."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.detail = detail


def clearing_account_create(
    *, connection: Connection, name: str, accounting_number: int
) -> CheckAccount:
    """Create an offline (clearing) account in the merchant's sevDesk.

    A booking account number or name one of the sevDesk payment accounts already has is
    refused before anything is sent (sevDesk answers such a request in English, or creates a
    second account with the same name); sevDesk's refusals are told in German."""
    client = sevdesk_client_for(token=connection.api_token)
    try:
        existing = client.list_check_accounts()
        for account in existing:
            if account.accounting_number == accounting_number:
                raise ClearingAccountRefused(
                    _(
                        "The booking account %(number)s is already used by the sevDesk "
                        "payment account “%(name)s”. Choose another number."
                    )
                    % {"number": accounting_number, "name": account.name}
                )
            if account.name.strip().casefold() == name.strip().casefold():
                raise ClearingAccountRefused(
                    _("sevDesk already has a payment account named “%(name)s”.")
                    % {"name": account.name}
                )
        return client.create_clearing_account(name=name, accounting_number=accounting_number)
    except SevdeskAuthenticationFailed as error:
        raise ClearingAccountRefused(str(TOKEN_REJECTED_MESSAGE), str(error)) from error
    except SevdeskError as error:
        if getattr(error, "status", None) and 400 <= error.status < 500:
            raise ClearingAccountRefused(
                _(
                    "sevDesk did not accept the offline account. Check the name and the "
                    "booking account number (ask your tax adviser which number is free)."
                ),
                str(error),
            ) from error
        raise ClearingAccountRefused(
            _(
                "sevDesk is not reachable at the moment; the offline account was not created. "
                "Try again in a few minutes."
            ),
            str(error),
        ) from error


# --- Lifecycle: deactivate, activate, delete -----------------------------------------------


class ConnectionNotActivated(Exception):
    """Activating would book orders twice, or the connection is deleted; `message` says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def connection_deactivate(*, connection: Connection) -> None:
    """No scheduled or event-driven export, no report picks it up; everything else is kept.
    An export already running finishes; nothing new starts."""
    Connection.objects.filter(pk=connection.pk).update(is_active=False, updated_at=timezone.now())
    connection.refresh_from_db(fields=["is_active", "updated_at"])


def connection_activate(*, connection: Connection) -> None:
    """Exports resume with the next run. Refused for a deleted connection, and where another
    active connection books the same shops into the same sevDesk account (every order twice)."""
    if connection.deleted_at is not None:
        raise ConnectionNotActivated(_("A deleted connection cannot be activated again."))
    other = connection_overlap(
        connection=connection,
        shops=list(connection.shops.all()),
        include_manual_orders=connection.include_manual_orders,
        sevdesk_client_id=connection.sevdesk_client_id,
    )
    if other is not None:
        raise ConnectionNotActivated(
            _(
                "“%(other)s” already books these shops into the same sevDesk account; "
                "activating this connection as well would book every order twice."
            )
            % {"other": other.name}
        )
    Connection.objects.filter(pk=connection.pk).update(is_active=True, updated_at=timezone.now())
    connection.refresh_from_db(fields=["is_active", "updated_at"])


def connection_delete(*, connection: Connection) -> None:
    """Soft delete: deactivated for good, hidden from lists and forms, the API token
    forgotten; its exports, export log and reports stay (what is in sevDesk stays too)."""
    now = timezone.now()
    connection.is_active = False
    connection.deleted_at = now
    connection.api_token = ""
    connection.api_token_last4 = ""
    connection.save(
        update_fields=["is_active", "deleted_at", "api_token", "api_token_last4", "updated_at"]
    )
