"""Account assignment: which sevDesk offline account receives which payment method's payments."""

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from accounts_mapping.models import AccountAssignment
from accounts_mapping.signals import assignments_changed
from connections.models import Connection
from connections.sevdesk_client import CheckAccount


class AccountNotAssignable(Exception):
    """Raised for accounts that may not receive payments: only active offline accounts may."""


def assignable(account: CheckAccount) -> bool:
    return account.is_offline and account.is_active


def unassignable_reason(account: CheckAccount) -> str:
    if not account.is_offline:
        return _(
            "Not selectable: payments may only be assigned to offline (clearing) accounts, never "
            "to a real bank account or cash register."
        )
    if not account.is_active:
        return _("Not selectable: this account is archived in sevDesk.")
    return ""


@dataclass(frozen=True)
class Assignment:
    payment_method: int | None  # None: the standard account for unassigned payments
    check_account_id: int | None  # None: no account (remove the assignment)


@transaction.atomic
def account_assignments_save(
    *, connection: Connection, assignments: list[Assignment], accounts: list[CheckAccount]
) -> None:
    """Replace the connection's assignments; refuses any account that is not active offline."""
    by_id = {account.id: account for account in accounts}
    for assignment in assignments:
        account = by_id.get(assignment.check_account_id) if assignment.check_account_id else None
        if assignment.check_account_id and (account is None or not assignable(account)):
            raise AccountNotAssignable(
                _("sevDesk account %(id)s cannot receive payments.")
                % {"id": assignment.check_account_id}
            )
        existing = AccountAssignment.objects.filter(
            connection=connection, payment_method=assignment.payment_method
        )
        if account is None:
            existing.delete()
            continue
        updated = existing.update(check_account_id=account.id, check_account_name=account.name)
        if not updated:
            AccountAssignment.objects.create(
                merchant=connection.merchant,
                connection=connection,
                payment_method=assignment.payment_method,
                check_account_id=account.id,
                check_account_name=account.name,
            )
    transaction.on_commit(
        lambda: assignments_changed.send(sender=AccountAssignment, connection=connection)
    )
