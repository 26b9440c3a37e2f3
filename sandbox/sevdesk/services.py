"""Writes and business rules of the simulated sevDesk."""

import hashlib
import mimetypes
import re
import secrets
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import PurePath

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum

from .errors import BadRequest, NotFound, ValidationFailed
from .models import (
    CheckAccount,
    CommunicationWay,
    CommunicationWayKey,
    Contact,
    ContactAddress,
    FaultPlan,
    RevenueAccount,
    SandboxAccount,
    StaticCountry,
    TempFile,
    Voucher,
    VoucherPayment,
    VoucherPos,
)
from .reference_data import TAX_RULE_NAMES, reference_data_ensure
from .voucher_input import PositionInput, VoucherInput

CENT = Decimal("0.01")
# Bookkeeping 1.0: the rates each tax type allows ("custom" takes whatever its tax set says).
TAX_TYPE_RATES = {"default": {0, 7, 19}, "eu": {0, 7, 19}, "noteu": {0}, "ss": {0}}
PAYMENT_TYPES = {"FULL_PAYMENT", "N", "CB", "CF", "O", "OF", "MTC"}
# The types that close a voucher whatever the amount: a full payment, or a payment with a
# stated difference (skonto, other reasons, reminder charges, money-transfer costs).
SETTLING_TYPES = {"FULL_PAYMENT", "CB", "CF", "O", "OF", "MTC"}
# The first number handed out when a clearing account is created without one (SKR04 1460
# "Geldtransit").
FIRST_CLEARING_NUMBER = 1460
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


# --- Accounts and fault switches -----------------------------------------------------------


def sandbox_account_create(
    *,
    name: str,
    token: str | None = None,
    bookkeeping_version: str = SandboxAccount.BookkeepingVersion.V2,
    small_business: bool = False,
) -> SandboxAccount:
    """A sevDesk account as a new customer has it: a bank account and a PayPal clearing
    account, so the exporter's "offline accounts only" rule has something to choose from."""
    reference_data_ensure(
        country_model=StaticCountry, key_model=CommunicationWayKey, revenue_model=RevenueAccount
    )
    with transaction.atomic():
        account = SandboxAccount(
            name=name, bookkeeping_version=bookkeeping_version, small_business=small_business
        )
        if token:
            account.token = token
        account.save()
        CheckAccount.objects.create(
            account=account,
            name="Geschäftskonto",
            type=CheckAccount.Type.ONLINE,
            accounting_number="1800",
            default=True,
        )
        CheckAccount.objects.create(
            account=account,
            name="Verrechnungskonto PayPal",
            type=CheckAccount.Type.OFFLINE,
            accounting_number="1460",
        )
    return account


def fault_inject(
    *,
    account: SandboxAccount,
    kind: str,
    count: int = 1,
    retry_after: int = 1,
    latency_ms: int = 0,
    path_contains: str = "",
    body_contains: str = "",
) -> FaultPlan:
    if kind not in FaultPlan.Kind.values:
        raise ValueError(f"unknown fault kind {kind!r}")
    return FaultPlan.objects.create(
        account=account,
        kind=kind,
        remaining=count,
        retry_after=retry_after,
        latency_ms=latency_ms,
        path_contains=path_contains,
        body_contains=body_contains,
    )


def faults_clear(*, account: SandboxAccount) -> int:
    deleted, _ = FaultPlan.objects.filter(account=account).delete()
    return deleted


def fault_claim(*, account: SandboxAccount, path: str, body: bytes = b"") -> FaultPlan | None:
    """Take one turn of the oldest fault plan matching this path, or None.

    The conditional UPDATE makes two concurrent requests unable to use the same last turn.
    """
    candidates = FaultPlan.objects.filter(account=account, remaining__gt=0).order_by("id")
    for plan in candidates:
        if plan.path_contains and plan.path_contains not in path:
            continue
        if plan.body_contains and plan.body_contains.encode() not in body:
            continue
        claimed = FaultPlan.objects.filter(pk=plan.pk, remaining__gt=0).update(
            remaining=F("remaining") - 1
        )
        if claimed:
            return plan
    return None


# --- Check accounts ------------------------------------------------------------------------


def clearing_account_create(
    *, account: SandboxAccount, name: str, accounting_number: int | None
) -> CheckAccount:
    number = str(accounting_number or _next_free_clearing_number(account))
    try:
        with transaction.atomic():
            return CheckAccount.objects.create(
                account=account,
                name=name,
                type=CheckAccount.Type.OFFLINE,
                accounting_number=number,
            )
    except IntegrityError as exc:
        raise ValidationFailed(
            f"The accounting number {number} is already used by another check account"
        ) from exc


def _next_free_clearing_number(account: SandboxAccount) -> int:
    used = set(
        CheckAccount.objects.filter(account=account).values_list("accounting_number", flat=True)
    )
    number = FIRST_CLEARING_NUMBER
    while str(number) in used:
        number += 1
    return number


# --- Contacts ------------------------------------------------------------------------------


def contact_create(
    *,
    account: SandboxAccount,
    name: str,
    surename: str,
    familyname: str,
    category_id: int,
    customer_number: str = "",
    vat_number: str = "",
) -> Contact:
    if not (name or surename or familyname):
        raise BadRequest("A contact needs a name, or a surename or familyname")
    return Contact.objects.create(
        account=account,
        name=name,
        surename=surename,
        familyname=familyname,
        category_id=category_id,
        customer_number=customer_number,
        vat_number=vat_number,
    )


def contact_address_create(
    *,
    account: SandboxAccount,
    contact_id: int,
    country_id: int,
    street: str = "",
    zip_code: str = "",
    city: str = "",
    category_id: int | None = None,
    name: str = "",
) -> ContactAddress:
    return ContactAddress.objects.create(
        account=account,
        contact=_contact(account, contact_id),
        country=_existing(StaticCountry, country_id, "StaticCountry"),
        street=street,
        zip=zip_code,
        city=city,
        category_id=category_id,
        name=name,
    )


def communication_way_create(
    *,
    account: SandboxAccount,
    contact_id: int,
    type: str,
    value: str,
    key_id: int,
    main: bool = False,
) -> CommunicationWay:
    if type not in CommunicationWay.Type.values:
        raise BadRequest("type must be one of EMAIL, PHONE, WEB, MOBILE")
    return CommunicationWay.objects.create(
        account=account,
        contact=_contact(account, contact_id),
        type=type,
        value=value,
        key=_existing(CommunicationWayKey, key_id, "CommunicationWayKey"),
        main=main,
    )


def _contact(account: SandboxAccount, contact_id: int) -> Contact:
    contact = Contact.objects.filter(account=account, pk=contact_id).first()
    if contact is None:
        raise ValidationFailed(f"Contact with id {contact_id} does not exist")
    return contact


def _existing(model, pk: int, object_name: str):
    instance = model.objects.filter(pk=pk).first()
    if instance is None:
        raise ValidationFailed(f"{object_name} with id {pk} does not exist")
    return instance


# --- Files ---------------------------------------------------------------------------------


def temp_file_create(*, account: SandboxAccount, upload: UploadedFile) -> TempFile:
    """Keep an upload under a generated name, as sevDesk does, until a voucher claims it."""
    content = upload.read()
    extension = PurePath(upload.name or "").suffix.lower() or ".pdf"
    mime_type = (
        mimetypes.guess_type(f"x{extension}")[0]
        or upload.content_type
        or "application/octet-stream"
    )
    temp_file = TempFile(
        account=account,
        filename=f"f{secrets.token_hex(16)}{extension}",
        original_name=upload.name or "",
        mime_type=mime_type,
        pages=_page_count(content, mime_type),
        content_hash=hashlib.sha256(content).hexdigest(),
    )
    upload.seek(0)
    temp_file.content.save(temp_file.filename, upload, save=False)
    temp_file.save()
    return temp_file


def _page_count(content: bytes, mime_type: str) -> int:
    if mime_type != "application/pdf":
        return 1
    return max(1, len(_PDF_PAGE.findall(content)))


# --- Vouchers ------------------------------------------------------------------------------


@transaction.atomic
def voucher_save(*, account: SandboxAccount, data: VoucherInput) -> Voucher:
    """Create a voucher, or change a draft one (``data.id``), as saveVoucher does."""
    voucher = _voucher_for_update(account, data.id) if data.id else Voucher(account=account)
    accounts = _booking_accounts(account, data)
    _apply_voucher_fields(account, voucher, data)
    voucher.save()
    VoucherPos.objects.filter(voucher=voucher, pk__in=data.delete_position_ids).delete()
    for position in data.positions:
        _position_save(voucher, position, accounts[position.booking_account_id])
    _sums_update(voucher)
    return voucher


def _voucher_for_update(account: SandboxAccount, voucher_id: int) -> Voucher:
    voucher = Voucher.objects.select_for_update().filter(account=account, pk=voucher_id).first()
    if voucher is None:
        raise NotFound(f"Voucher with id {voucher_id} not found")
    if voucher.status != Voucher.Status.DRAFT:
        raise BadRequest("You can only update draft documents")
    return voucher


def _apply_voucher_fields(account: SandboxAccount, voucher: Voucher, data: VoucherInput) -> None:
    voucher.status = data.status
    voucher.credit_debit = data.credit_debit
    voucher.voucher_type = data.voucher_type
    voucher.tax_rule = data.tax_rule
    voucher.tax_type = data.tax_type
    voucher.voucher_date = data.voucher_date
    voucher.description = data.description
    voucher.supplier = _contact(account, data.supplier_id) if data.supplier_id else None
    voucher.supplier_name = data.supplier_name
    voucher.currency = data.currency
    voucher.property_exchange_rate = data.exchange_rate
    voucher.delivery_date = data.delivery_date
    voucher.delivery_date_until = data.delivery_date_until
    voucher.pay_date = data.pay_date
    voucher.payment_deadline = data.payment_deadline
    if data.filename:
        voucher.file = _temp_file(account, data.filename)


def _temp_file(account: SandboxAccount, filename: str) -> TempFile:
    temp_file = TempFile.objects.filter(account=account, filename=filename).first()
    if temp_file is None:
        raise ValidationFailed(f"File {filename} not found; upload it with uploadTempFile first")
    return temp_file


def _booking_accounts(account: SandboxAccount, data: VoucherInput) -> dict[int, RevenueAccount]:
    """The revenue accounts the positions name, each checked against rule, rate and regime."""
    if data.tax_rule is not None and data.tax_rule not in TAX_RULE_NAMES:
        raise ValidationFailed(f"TaxRule with id {data.tax_rule} does not exist")
    if data.tax_rule is None and data.tax_type not in TAX_TYPE_RATES | {"custom": set()}:
        raise ValidationFailed(f"Unknown taxType {data.tax_type!r}")
    found = {}
    for position in data.positions:
        revenue_account = _revenue_account(account, data, position.booking_account_id)
        _check_rate(revenue_account, data, position.tax_rate)
        found[position.booking_account_id] = revenue_account
    return found


def _revenue_account(account: SandboxAccount, data: VoucherInput, ref: int) -> RevenueAccount:
    by_version = Q(account_datev_id=ref) if data.tax_rule is not None else Q(accounting_type_id=ref)
    object_name = "AccountDatev" if data.tax_rule is not None else "AccountingType"
    revenue_account = RevenueAccount.objects.filter(by_version).first()
    if revenue_account is None:
        raise ValidationFailed(f"{object_name} with id {ref} does not exist")
    if data.credit_debit == Voucher.CreditDebit.CREDIT:
        raise ValidationFailed(f"{object_name} {revenue_account.number} is a revenue account")
    if revenue_account.regime != _regime(account):
        raise ValidationFailed(
            f"{object_name} {revenue_account.number} is not available in this account"
        )
    return revenue_account


def _regime(account: SandboxAccount) -> str:
    if account.small_business:
        return RevenueAccount.Regime.SMALL_BUSINESS
    return RevenueAccount.Regime.REGULAR


def _check_rate(revenue_account: RevenueAccount, data: VoucherInput, rate: Decimal) -> None:
    if data.tax_rule is not None:
        allowed = revenue_account.allowed_rates(data.tax_rule)
        if allowed is None:
            raise ValidationFailed(
                f"TaxRule {data.tax_rule} is not allowed for account {revenue_account.number}"
            )
    else:
        allowed = TAX_TYPE_RATES.get(data.tax_type, {rate})
    if rate not in {Decimal(value) for value in allowed}:
        raise ValidationFailed(
            f"Tax rate {rate.normalize():f} is not allowed for account {revenue_account.number}"
        )


def _position_save(voucher: Voucher, data: PositionInput, revenue: RevenueAccount) -> None:
    position = VoucherPos(account=voucher.account, voucher=voucher)
    if data.id:
        position = VoucherPos.objects.filter(voucher=voucher, pk=data.id).first()
        if position is None:
            raise NotFound(f"VoucherPos with id {data.id} not found")
    net, tax, gross = position_sums(amount=data.amount, rate=data.tax_rate, net_based=data.net)
    position.revenue_account = revenue
    position.tax_rate = data.tax_rate
    position.net = data.net
    position.sum_net, position.sum_tax, position.sum_gross = net, tax, gross
    position.comment = data.comment
    position.save()


def position_sums(*, amount: Decimal, rate: Decimal, net_based: bool):
    """(net, tax, gross) of a position; the given sum stays exact, the others are derived."""
    if net_based:
        tax = (amount * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        return amount, tax, amount + tax
    net = (amount * 100 / (100 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    return net, amount - net, amount


def _sums_update(voucher: Voucher) -> None:
    totals = VoucherPos.objects.filter(voucher=voucher).aggregate(
        net=Sum("sum_net"), tax=Sum("sum_tax"), gross=Sum("sum_gross")
    )
    voucher.sum_net = totals["net"] or Decimal(0)
    voucher.sum_tax = totals["tax"] or Decimal(0)
    voucher.sum_gross = totals["gross"] or Decimal(0)
    voucher.save(update_fields=["sum_net", "sum_tax", "sum_gross", "updated"])


@transaction.atomic
def voucher_book_amount(
    *,
    account: SandboxAccount,
    voucher_id: int,
    amount: Decimal,
    date: date,
    type: str,
    check_account_id: int,
) -> VoucherPayment:
    """Book a payment as sevDesk does (sevdesk-api.md, "bookAmount"). ``amount`` is in the
    voucher's currency, whatever the check account's.

    - `N` (part): the voucher is partially paid (750) while something is left open, and
      paid (1000) once the parts reach its sum exactly or beyond.
    - `FULL_PAYMENT` consumes the whole remaining amount: 1000 whatever the amount, while the
      paid amount records exactly what was sent (so a part booked as full payment shows as
      1000 with paidAmount < sumGross). The difference types (CB, O, OF, MTC) close the
      voucher the same way, the rest being their stated difference.
    - The sign: positive for revenue (D), negative for expense (C) vouchers; a wrong sign is
      taken, but leaves the voucher at 750.
    """
    voucher = Voucher.objects.select_for_update().filter(account=account, pk=voucher_id).first()
    if voucher is None:
        raise NotFound(f"Voucher with id {voucher_id} not found")
    check_account = _bookable_check_account(account, check_account_id)
    _check_payment(account, voucher, amount, type)
    from_status = voucher.status
    voucher.paid_amount += amount
    if _right_sign(voucher, amount) and (type in SETTLING_TYPES or voucher.open_amount <= 0):
        voucher.status = Voucher.Status.PAID
        voucher.pay_date = date
    else:
        voucher.status = Voucher.Status.PARTIALLY_PAID
    voucher.save(update_fields=["paid_amount", "status", "pay_date", "updated"])
    return VoucherPayment.objects.create(
        account=account,
        voucher=voucher,
        amount=amount,
        date=date,
        check_account=check_account,
        type=type,
        from_status=from_status,
        to_status=voucher.status,
    )


def _bookable_check_account(account: SandboxAccount, check_account_id: int) -> CheckAccount:
    check_account = CheckAccount.objects.filter(account=account, pk=check_account_id).first()
    if check_account is None:
        raise BadRequest(f"CheckAccount with id {check_account_id} does not exist")
    if check_account.status != CheckAccount.Status.ACTIVE:
        raise BadRequest(f"CheckAccount {check_account.name} is archived")
    return check_account


def _right_sign(voucher: Voucher, amount: Decimal) -> bool:
    """Revenue (D) vouchers are paid with positive amounts, expense (C) ones with negative;
    a voucher with a negative sum the other way round (`Voucher.payment_sign`)."""
    return (amount > 0) == (voucher.payment_sign > 0)


def _check_payment(account: SandboxAccount, voucher: Voucher, amount: Decimal, type: str) -> None:
    if type not in PAYMENT_TYPES:
        raise BadRequest(f"type must be one of {', '.join(sorted(PAYMENT_TYPES))}")
    if type == "CF" and account.bookkeeping_version == SandboxAccount.BookkeepingVersion.V2:
        # The spec's notes on Update 2.0: "The currency fluctuation (CF) type is no longer
        # supported as a payment difference reason"; the status code is the sandbox's guess.
        raise BadRequest("The payment difference CF is no longer supported")
    if voucher.status == Voucher.Status.DRAFT:
        raise BadRequest("Draft vouchers cannot be booked")
    if voucher.status == Voucher.Status.PAID:
        # The sandbox's assumption (sevDesk documents nothing): a paid voucher takes no more
        # bookings; an overpayment has to arrive before the voucher is closed.
        raise BadRequest("Voucher is already paid")
    if not amount:
        raise BadRequest("amount must not be 0")
    if (
        type == "FULL_PAYMENT"
        and _right_sign(voucher, amount)
        and abs(amount) > voucher.open_amount
    ):
        # The sandbox's assumption: FULL_PAYMENT settles the rest, so more than the rest is
        # refused (sevDesk has O and OF for a higher amount). A part payment (`N`) beyond the
        # open amount is taken, also an assumption: the voucher is paid, paidAmount > sumGross.
        raise BadRequest(
            f"amount {amount} exceeds the open amount {voucher.open_amount} of this voucher"
        )
