"""Account assignment: which sevDesk offline account receives which payment method's payments."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts_mapping.models import AccountAssignment, RevenueAccountAssignment
from accounts_mapping.selectors import (
    COUPON_CASE,
    GuidanceAccount,
    TaxCase,
    guidance_choices,
    revenue_rows_for,
)
from accounts_mapping.signals import assignments_changed, revenue_accounts_changed
from connections.models import Connection
from connections.services import sevdesk_client_for
from connections.sevdesk_client import CheckAccount, RevenueAccount


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


# --- Revenue accounts ("Erlöskonten") ------------------------------------------------------

# sevDesk's usual accounts per (tax rule, rate), SKR04 then SKR03 (../shared/sevdesk-api.md):
# pre-filled where the guidance offers them, else the guidance's first account for the case.
PREFERRED_REVENUE_ACCOUNTS = {
    (1, Decimal(19)): ("4400", "8400"),
    (1, Decimal(7)): ("4300", "8300"),
    (1, Decimal(0)): ("4200", "8200", "8195"),
    (3, Decimal(0)): ("4125", "8125"),
    (2, Decimal(0)): ("4120", "8120"),
    (11, Decimal(0)): ("4200", "8195", "8200"),
    (17, Decimal(0)): ("4320", "8320"),
}


class RevenueAccountNotAllowed(Exception):
    """Raised for a revenue account sevDesk's guidance does not allow for the tax case."""


def _guidance_stored(accounts: list[RevenueAccount]) -> list[dict]:
    return [
        {
            "id": account.account_datev_id,
            "number": account.account_number,
            "name": account.name,
            "rates_by_rule": [
                [rule, [str(rate) for rate in rates]] for rule, rates in account.rates_by_rule
            ],
        }
        for account in accounts
    ]


def _suggestion(case: TaxCase, offered: list[GuidanceAccount]) -> GuidanceAccount:
    preferred = PREFERRED_REVENUE_ACCOUNTS.get(case, ())
    return min(
        offered,
        key=lambda a: preferred.index(a.number) if a.number in preferred else len(preferred),
    )


def _still_offered(row: RevenueAccountAssignment, offered: list[GuidanceAccount]):
    """The guidance's entry for the row's account, matched by id *and* number (ids of another
    sevDesk account may collide with other accounts)."""
    return next(
        (a for a in offered if a.id == row.account_datev_id and a.number == row.account_number),
        None,
    )


@transaction.atomic
def revenue_accounts_refresh(
    *, connection: Connection, guidance: list[RevenueAccount]
) -> list[str]:
    """Store sevDesk's revenue guidance on the connection and bring its revenue accounts in
    line with it; returns what changed, for the merchant ("19 %: 4400 → 8400").

    * Every tax case the guidance offers gets a goods row: the merchant's choice while sevDesk
      still allows it, else sevDesk's usual account (a replaced choice is kept in
      `replaced_choice`, shown until the merchant saves).
    * Shipping and coupon rows stay while their account is allowed, else they go (shipping
      then goes with the goods, coupons to the 0 % account).
    * Cases the guidance no longer offers lose their rows.
    """
    connection.revenue_guidance = _guidance_stored(guidance)
    connection.save(update_fields=["revenue_guidance", "updated_at"])
    choices = guidance_choices(connection.revenue_guidance)
    rows = revenue_rows_for(connection=connection)
    changes: list[str] = []
    Kind = RevenueAccountAssignment.Kind
    for case, offered in choices.items():
        rule, rate = case
        row = rows.pop((Kind.GOODS, rule, rate), None)
        if row is not None and _still_offered(row, offered):
            continue
        suggestion = _suggestion(case, offered)
        values = {
            "account_datev_id": suggestion.id,
            "account_number": suggestion.number,
            "account_name": suggestion.name,
            "chosen_by": RevenueAccountAssignment.ChosenBy.SEVDESK,
        }
        if row is None:
            RevenueAccountAssignment.objects.create(
                merchant=connection.merchant,
                connection=connection,
                tax_rule=rule,
                tax_rate=rate,
                kind=Kind.GOODS,
                **values,
            )
            continue
        if row.chosen_by == RevenueAccountAssignment.ChosenBy.MERCHANT:
            values["replaced_choice"] = row.account_label
        changes.append(
            _("Tax rule %(rule)s, %(rate)s %%: %(old)s → %(new)s")
            % {"rule": rule, "rate": _rate(rate), "old": row.account_label, "new": suggestion.label}
        )
        RevenueAccountAssignment.objects.filter(pk=row.pk).update(**values)
    for (kind, rule, rate), row in rows.items():
        offered = choices.get(COUPON_CASE if kind == Kind.COUPON else (rule, rate), [])
        if kind != Kind.GOODS and _still_offered(row, offered):
            continue
        changes.append(
            _("%(kind)s, tax rule %(rule)s, %(rate)s %%: %(old)s is no longer offered by sevDesk")
            % {
                "kind": row.get_kind_display(),
                "rule": rule,
                "rate": _rate(rate),
                "old": row.account_label,
            }
        )
        row.delete()
    transaction.on_commit(
        lambda: revenue_accounts_changed.send(
            sender=RevenueAccountAssignment, connection=connection
        )
    )
    return changes


@dataclass(frozen=True)
class RevenueChoice:
    kind: str  # RevenueAccountAssignment.Kind
    case: TaxCase  # the coupon's: COUPON_CASE
    account_id: int | None  # None: no own account (shipping with the goods, coupons on 0 %)


@transaction.atomic
def revenue_accounts_save(*, connection: Connection, choices: list[RevenueChoice]) -> None:
    """The merchant's revenue accounts: each must be one sevDesk's stored guidance allows for
    its case (refused as a whole otherwise); goods accounts cannot be removed."""
    offered = guidance_choices(connection.revenue_guidance or [])
    Kind = RevenueAccountAssignment.Kind
    for choice in choices:
        allowed = {a.id: a for a in offered.get(choice.case, [])}
        if choice.account_id is None and choice.kind == Kind.GOODS:
            raise RevenueAccountNotAllowed(_("Every tax case needs a revenue account."))
        if choice.account_id is not None and choice.account_id not in allowed:
            raise RevenueAccountNotAllowed(
                _("sevDesk does not allow account %(id)s for tax rule %(rule)s with %(rate)s %%.")
                % {"id": choice.account_id, "rule": choice.case[0], "rate": _rate(choice.case[1])}
            )
    for choice in choices:
        rule, rate = (0, Decimal(0)) if choice.kind == Kind.COUPON else choice.case
        rows = RevenueAccountAssignment.objects.filter(
            connection=connection, kind=choice.kind, tax_rule=rule, tax_rate=rate
        )
        if choice.account_id is None:
            rows.delete()
            continue
        account = {a.id: a for a in offered[choice.case]}[choice.account_id]
        current = rows.first()
        if current and current.account_datev_id == account.id and not current.replaced_choice:
            continue  # unchanged: keep who chose it
        RevenueAccountAssignment.objects.update_or_create(
            connection=connection,
            kind=choice.kind,
            tax_rule=rule,
            tax_rate=rate,
            defaults={
                "merchant": connection.merchant,
                "account_datev_id": account.id,
                "account_number": account.number,
                "account_name": account.name,
                "chosen_by": RevenueAccountAssignment.ChosenBy.MERCHANT,
                "replaced_choice": "",
            },
        )
    transaction.on_commit(
        lambda: revenue_accounts_changed.send(
            sender=RevenueAccountAssignment, connection=connection
        )
    )


def revenue_accounts_fetch(*, connection: Connection, client=None) -> list[str]:
    """Read sevDesk's guidance now (with the connection's token) and refresh the accounts."""
    client = client or sevdesk_client_for(token=connection.api_token)
    return revenue_accounts_refresh(connection=connection, guidance=client.revenue_guidance())


def _rate(rate: Decimal) -> str:
    return f"{rate.normalize():f}".replace(".", ",")


def _changed_on_commit(connection: Connection) -> None:
    transaction.on_commit(
        lambda: revenue_accounts_changed.send(
            sender=RevenueAccountAssignment, connection=connection
        )
    )
