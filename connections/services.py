"""Writes and rules for sevDesk connections: saving, testing the token, clearing accounts."""

from dataclasses import dataclass

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from connections.models import TOKEN_REJECTED_MESSAGE, Connection
from connections.sevdesk_client import (
    CheckAccount,
    SevdeskAuthenticationFailed,
    SevdeskClient,
    SevdeskError,
)
from connections.signals import token_accepted


def sevdesk_client_for(*, token: str, session: requests.Session | None = None) -> SevdeskClient:
    return SevdeskClient(
        token=token,
        base_url=settings.SEVDESK_API_BASE_URL,
        timeout=settings.SEVDESK_TIMEOUT_SECONDS,
        requests_per_second=settings.SEVDESK_REQUESTS_PER_SECOND,
        session=session,
    )


@dataclass(frozen=True)
class ConnectionTestResult:
    status: Connection.Status
    message: str
    bookkeeping_version: str = ""
    check_accounts: tuple[CheckAccount, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == Connection.Status.OK


def sevdesk_token_test(*, token: str) -> ConnectionTestResult:
    """Ask sevDesk with this token for what the export needs; never raises for sevDesk errors."""
    client = sevdesk_client_for(token=token)
    try:
        version = client.bookkeeping_system_version()
        accounts = tuple(client.list_check_accounts())
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
    )


def connection_record_test(*, connection: Connection, result: ConnectionTestResult) -> None:
    connection.checked_at = timezone.now()
    connection.status = result.status
    connection.last_error = "" if result.ok else result.message
    if result.ok:
        connection.bookkeeping_version = result.bookkeeping_version
    if result.status == Connection.Status.TOKEN_REJECTED:
        connection.token_rejected_at = connection.checked_at
    elif result.ok:
        connection.token_rejected_at = None
    connection.save(
        update_fields=[
            "status",
            "last_error",
            "checked_at",
            "bookkeeping_version",
            "token_rejected_at",
            "updated_at",
        ]
    )
    if result.ok:
        # Resumes what a rejected token stopped (the exports app listens).
        transaction.on_commit(lambda: token_accepted.send(sender=Connection, connection=connection))


def connection_test(*, connection: Connection) -> ConnectionTestResult:
    result = sevdesk_token_test(token=connection.api_token)
    connection_record_test(connection=connection, result=result)
    return result


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


def clearing_account_create(
    *, connection: Connection, name: str, accounting_number: int
) -> CheckAccount:
    """Create an offline (clearing) account in the merchant's sevDesk."""
    return sevdesk_client_for(token=connection.api_token).create_clearing_account(
        name=name, accounting_number=accounting_number
    )
