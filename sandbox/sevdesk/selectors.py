"""Reads of the simulated sevDesk, with sevDesk's filter semantics."""

from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet

from .errors import BadRequest, ValidationFailed
from .models import (
    CheckAccount,
    Contact,
    FaultPlan,
    RevenueAccount,
    SandboxAccount,
    Voucher,
    VoucherPayment,
    VoucherPos,
)
from .parsing import SEVDESK_TIME_ZONE
from .reference_data import TAX_RULE_NAMES

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
# Far beyond any account's size; a larger offset would overflow the database's LIMIT/OFFSET.
MAX_OFFSET = 2**31 - 1


def contact_list(
    *, account: SandboxAccount, depth: bool, customer_number: str = "", name: str = ""
) -> QuerySet[Contact]:
    """Without ``depth=1`` sevDesk answers organisations only: persons stay invisible."""
    contacts = Contact.objects.filter(account=account)
    if not depth:
        contacts = contacts.exclude(name="")
    if customer_number:
        contacts = contacts.filter(customer_number=customer_number)
    if name:
        contacts = contacts.filter(
            Q(name__icontains=name) | Q(surename__icontains=name) | Q(familyname__icontains=name)
        )
    return contacts


def voucher_list(
    *,
    account: SandboxAccount,
    description_like: str = "",
    credit_debit: str = "",
    status: int | None = None,
    start: int | None = None,
    end: int | None = None,
    contact_id: int | None = None,
) -> QuerySet[Voucher]:
    """``descriptionLike`` is SQL ``LIKE %x%``: "RN-1" also finds "RN-10" and "RN-100"."""
    vouchers = Voucher.objects.filter(account=account).order_by("id")
    if description_like:
        vouchers = vouchers.filter(description__icontains=description_like)
    if credit_debit:
        vouchers = vouchers.filter(credit_debit=credit_debit)
    if status is not None:
        vouchers = vouchers.filter(status=status)
    if start is not None:
        vouchers = vouchers.filter(voucher_date__gte=_day_of(start))
    if end is not None:
        vouchers = vouchers.filter(voucher_date__lte=_day_of(end))
    if contact_id is not None:
        vouchers = vouchers.filter(supplier_id=contact_id)
    return vouchers.select_related("account", "file")


def _day_of(timestamp: int):
    try:
        return datetime.fromtimestamp(timestamp, tz=SEVDESK_TIME_ZONE).date()
    except (OverflowError, OSError, ValueError) as exc:
        raise BadRequest("startDate and endDate must be unix timestamps") from exc


def page(items: QuerySet, *, limit: int | None, offset: int | None) -> QuerySet:
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    if offset is not None and not 0 <= offset <= MAX_OFFSET:
        raise BadRequest(f"offset must be between 0 and {MAX_OFFSET}")
    start = offset or 0
    return items[start : start + (limit or DEFAULT_LIMIT)]


def revenue_accounts(*, account: SandboxAccount) -> QuerySet[RevenueAccount]:
    regime = (
        RevenueAccount.Regime.SMALL_BUSINESS
        if account.small_business
        else RevenueAccount.Regime.REGULAR
    )
    return RevenueAccount.objects.filter(regime=regime)


def revenue_accounts_for_tax_rule(*, account: SandboxAccount, tax_rule: int) -> list:
    if tax_rule not in TAX_RULE_NAMES:
        raise ValidationFailed(f"TaxRule with id {tax_rule} does not exist")
    return [
        revenue
        for revenue in revenue_accounts(account=account)
        if revenue.allowed_rates(tax_rule) is not None
    ]


def demo_vouchers() -> QuerySet[Voucher]:
    """Every sandbox voucher, newest first, with what the demo page shows of it."""
    return (
        Voucher.objects.select_related("account", "file", "supplier")
        .prefetch_related(
            Prefetch("positions", queryset=VoucherPos.objects.select_related("revenue_account")),
            Prefetch("payments", queryset=VoucherPayment.objects.select_related("check_account")),
        )
        .order_by("-created", "-id")
    )


def demo_accounts() -> list[dict]:
    """Every sandbox account with its check accounts and the fault plans still active."""
    checks = CheckAccount.objects.order_by("id")
    faults = FaultPlan.objects.filter(remaining__gt=0).order_by("id")
    return [
        {
            "account": account,
            "check_accounts": [c for c in checks if c.account_id == account.pk],
            "faults": [f for f in faults if f.account_id == account.pk],
        }
        for account in SandboxAccount.objects.order_by("-created", "-id")
    ]
