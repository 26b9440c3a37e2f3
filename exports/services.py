"""The export of orders to sevDesk: runs over a connection's orders, and one order's export.

Exactly once, by construction:
- one `OrderExport` row per (connection, order), enforced by a unique constraint;
- work is claimed with a conditional UPDATE that must affect one row, so two workers (or a
  task delivered twice) never work on the same export at once;
- every fact about sevDesk is committed as soon as it is known: "a save was sent", the
  voucher id, "a payment was sent", "the payment is booked";
- when an earlier attempt may have reached sevDesk without us learning the outcome (timeout,
  lost response, killed worker), sevDesk is asked first: the voucher is looked up by its
  invoice number, the payment by the voucher's status, before anything is sent again.
"""

from __future__ import annotations

import datetime
import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from accounts_mapping.models import AccountAssignment
from connections.models import TOKEN_REJECTED_MESSAGE, Connection
from connections.services import sevdesk_client_for
from connections.sevdesk_client import (
    CheckAccount,
    SevdeskAuthenticationFailed,
    SevdeskClient,
    SevdeskRateLimited,
    SevdeskRejected,
    SevdeskTemporaryError,
)
from exports import messages
from exports.mapping import berlin_date, voucher_order_from
from exports.models import CustomerContact, ExportAttempt, ExportRun, OrderExport
from exports.payments import PaymentAccountNotAllowed, payment_book
from exports.selectors import claim_stale_after, eligibility, orders_to_export
from exports.voucher_builder import VoucherNotBuildable, VoucherSettings, build_voucher
from orders.billbee_client import BillbeeError, BillbeeTemporaryError
from orders.enums import payment_type_name
from orders.models import BillbeeAccount, Order
from orders.services import InvoiceNotAvailable, billbee_client_for, invoice_pdf_fetch

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
SEVDESK_TAG = "sevDesk"
# Retries within the backoff schedule (seconds, before jitter); after these, the next run.
RETRY_BACKOFF = (30, 120, 480)
# Consecutive temporary failures after which a run stops instead of hammering sevDesk.
OUTAGE_THRESHOLD = 3
# A rate limit up to this long is waited out inside the run; longer ones end the run.
MAX_INLINE_RETRY_AFTER = 60
VOUCHER_PAID = 1000


class RunStopped(Exception):
    """The run cannot go on (token rejected, outage): the remaining orders wait."""


class CountingSession(requests.Session):
    """Counts the HTTP requests sent, for the export log and the benchmark."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def request(self, *args, **kwargs):
        self.count += 1
        return super().request(*args, **kwargs)


@dataclass
class ExportContext:
    """What one run knows and fetches at most once: clients, accounts, revenue accounts."""

    connection: Connection
    run: ExportRun | None = None
    session: CountingSession = field(default_factory=CountingSession)
    _sevdesk: SevdeskClient | None = None
    _check_accounts: list[CheckAccount] | None = None
    _voucher_settings: VoucherSettings | None = None
    consecutive_temporary_failures: int = 0

    @property
    def sevdesk(self) -> SevdeskClient:
        if self._sevdesk is None:
            self._sevdesk = sevdesk_client_for(
                token=self.connection.api_token, session=self.session
            )
        return self._sevdesk

    def check_accounts(self) -> list[CheckAccount]:
        if self._check_accounts is None:
            self._check_accounts = self.sevdesk.list_check_accounts()
        return self._check_accounts

    def voucher_settings(self) -> VoucherSettings:
        if self._voucher_settings is None:
            self._voucher_settings = voucher_settings_for(
                connection=self.connection, client=self.sevdesk
            )
        return self._voucher_settings


# --- Revenue accounts ----------------------------------------------------------------------

# Preferred booking accounts per (tax rule, rate), SKR04 and SKR03 (sevdesk-api.md); the
# merchant's tax adviser may choose others in sevDesk, which guidance then offers first.
PREFERRED_REVENUE_ACCOUNTS = {
    (1, Decimal(19)): ("4400", "8400"),
    (1, Decimal(7)): ("4300", "8300"),
    (1, Decimal(0)): ("4200", "8200", "8195"),
    (3, Decimal(0)): ("4125", "8125"),
    (2, Decimal(0)): ("4120", "8120"),
    (11, Decimal(0)): ("4200", "8195", "8200"),
    (17, Decimal(0)): ("4320", "8320"),
}


def _guidance_cached(*, connection: Connection, client: SevdeskClient) -> list[dict]:
    """sevDesk's revenue guidance, fetched once per connection and kept on it."""
    if not connection.revenue_guidance:
        connection.revenue_guidance = [
            {
                "id": account.account_datev_id,
                "number": account.account_number,
                "name": account.name,
                "rates_by_rule": [
                    [rule, [str(r) for r in rates]] for rule, rates in account.rates_by_rule
                ],
            }
            for account in client.revenue_guidance()
        ]
        connection.save(update_fields=["revenue_guidance", "updated_at"])
    return connection.revenue_guidance


def revenue_accounts_from(guidance: list[dict]) -> dict[tuple[int, Decimal], int]:
    """(tax rule, rate) → AccountDatev id: the preferred account when allowed, else the first."""
    choices: dict[tuple[int, Decimal], list[dict]] = {}
    for account in guidance:
        for rule, rates in account["rates_by_rule"]:
            for rate in rates:
                choices.setdefault((int(rule), Decimal(rate)), []).append(account)
    mapping = {}
    for key, accounts in choices.items():
        preferred = PREFERRED_REVENUE_ACCOUNTS.get(key, ())
        ranked = sorted(
            accounts,
            key=lambda a: preferred.index(a["number"]) if a["number"] in preferred else 99,
        )
        mapping[key] = int(ranked[0]["id"])
    return mapping


def voucher_settings_for(*, connection: Connection, client: SevdeskClient) -> VoucherSettings:
    if connection.bookkeeping_version != "2.0":
        raise VoucherNotBuildable(
            _(
                "Your sevDesk account uses bookkeeping system %(version)s; exports support "
                "sevDesk's current bookkeeping system 2.0 only."
            )
            % {"version": connection.bookkeeping_version or "?"}
        )
    accounts = revenue_accounts_from(_guidance_cached(connection=connection, client=client))
    small_business_rule = 11 if any(rule == 11 for rule, _rate in accounts) else 1
    return VoucherSettings(
        bookkeeping_version="2.0",
        voucher_date_basis=connection.voucher_date_basis,
        revenue_accounts=accounts,
        small_business_tax_rule=small_business_rule,
    )


# --- Recording outcomes --------------------------------------------------------------------


class ClaimLost(Exception):
    """Another worker took over this export (our claim had expired): stop writing to it."""


def _save(export: OrderExport, **values) -> None:
    """Commit facts about one export at once (autocommit), while we still hold its claim."""
    rows = OrderExport.objects.filter(pk=export.pk)
    if export.claim_token:
        rows = rows.filter(claim_token=export.claim_token)
    if rows.update(**values, updated_at=timezone.now()) != 1:
        raise ClaimLost(f"export {export.pk} was claimed by another worker")
    for name, value in values.items():
        setattr(export, name, value)


def _finish(
    export: OrderExport,
    status: str,
    message: str,
    *,
    problem: str = "",
    hint: str = "",
    next_attempt_at=None,
) -> None:
    _save(
        export,
        status=status,
        message=str(message),
        problem=problem,
        hint=str(hint),
        next_attempt_at=next_attempt_at,
        claim_token="",
        claimed_at=None,
        exported_at=timezone.now() if status in OrderExport.FINISHED else export.exported_at,
    )


def _retry_time(attempt: int) -> datetime.datetime | None:
    """Exponential backoff with jitter; None once the schedule is used up (next run)."""
    if attempt > len(RETRY_BACKOFF):
        return None
    base = RETRY_BACKOFF[attempt - 1]
    return timezone.now() + datetime.timedelta(seconds=base * random.uniform(0.8, 1.2))


# --- Claiming ------------------------------------------------------------------------------


def export_for(*, connection: Connection, order: Order) -> OrderExport:
    """The one export row of this pair; concurrent creators end up with the same row."""
    try:
        with transaction.atomic():
            export, _created = OrderExport.objects.get_or_create(
                connection=connection, order=order, defaults={"merchant": connection.merchant}
            )
    except IntegrityError:
        export = OrderExport.objects.get(connection=connection, order=order)
    return export


def export_claim(*, export: OrderExport) -> bool:
    """Take the export for this worker; False when another worker has it or it is finished."""
    now = timezone.now()
    token = str(uuid.uuid4())
    claimable = Q(status__in=OrderExport.WORK_TO_DO) | Q(
        status=OrderExport.Status.IN_PROGRESS, claimed_at__lt=now - claim_stale_after()
    )
    claimed = (
        OrderExport.objects.filter(pk=export.pk)
        .filter(claimable)
        .update(
            status=OrderExport.Status.IN_PROGRESS,
            claimed_at=now,
            claim_token=token,
            attempt_count=F("attempt_count") + 1,
            updated_at=now,
        )
    )
    if claimed != 1:
        return False
    export.refresh_from_db()
    return True


# --- One order -----------------------------------------------------------------------------


def _waiting(export: OrderExport, order: Order, *, manual: bool) -> bool:
    """Record why an otherwise eligible order cannot go yet; True if it must wait."""
    if not order.has_invoice:
        message = messages.NO_INVOICE_DATE if manual else messages.WAITING_FOR_INVOICE
        _finish(
            export,
            OrderExport.Status.SKIPPED,
            message,
            problem=OrderExport.Problem.WAITING_FOR_INVOICE,
            hint=messages.NO_INVOICE_HINT,
        )
        return True
    if order.paid_at is None:
        message = messages.NO_PAYMENT_DATE if manual else messages.WAITING_FOR_PAYMENT
        _finish(
            export,
            OrderExport.Status.SKIPPED,
            message,
            problem=OrderExport.Problem.WAITING_FOR_PAYMENT,
            hint=messages.NO_PAYMENT_DATE_HINT,
        )
        return True
    return False


def _not_eligible(export: OrderExport, order: Order, connection: Connection) -> bool:
    failed = [
        reason.text
        for reason in eligibility(connection=connection, order=order)
        if not reason.ok and reason.rule in {"shop", "state", "start_date"}
    ]
    if failed:
        _finish(
            export,
            OrderExport.Status.SKIPPED,
            messages.NOT_ELIGIBLE % {"rules": "; ".join(failed)},
            problem=OrderExport.Problem.NOT_ELIGIBLE,
        )
    return bool(failed)


def order_export(
    *, context: ExportContext, export: OrderExport, manual: bool = False, tag: bool = False
) -> OrderExport:
    """Export one order (already claimed) as far as it can go; record where it ended."""
    order = export.order
    connection = context.connection
    before = context.session.count
    attempt = ExportAttempt.objects.create(
        export=export, run=context.run, started_at=timezone.now()
    )
    try:
        if connection.token_rejected_at:
            _token_rejected(export)
        elif not _not_eligible(export, order, connection) and not _waiting(
            export, order, manual=manual
        ):
            _export_steps_waiting_out_rate_limits(context, export, order)
            context.consecutive_temporary_failures = 0
            if tag:
                _tag(context, export, order)
    except ClaimLost:
        logger.warning("export %s: claim lost to another worker; leaving it to them", export.pk)
    except SevdeskAuthenticationFailed:
        _connection_token_rejected(connection)
        _token_rejected(export)
        raise RunStopped(str(messages.AUTHENTICATION_REQUIRED)) from None
    except (SevdeskTemporaryError, BillbeeTemporaryError) as error:
        _temporary_failure(context, export, error)
    except SevdeskRateLimited as error:
        _rate_limited(context, export, error)
    except (
        SevdeskRejected,
        VoucherNotBuildable,
        PaymentAccountNotAllowed,
        BillbeeError,
        InvoiceNotAvailable,
    ) as error:
        _finish(
            export,
            OrderExport.Status.NEEDS_ACTION,
            messages.REJECTED % {"message": getattr(error, "message", None) or str(error)},
            problem=_problem_of(error),
            hint=messages.REJECTED_HINT,
        )
    except Exception:
        logger.exception("export %s of order %s failed unexpectedly", export.pk, order.pk)
        _finish(
            export,
            OrderExport.Status.NEEDS_ACTION,
            messages.INTERNAL_ERROR,
            problem=OrderExport.Problem.INTERNAL,
        )
    finally:
        requests_sent = context.session.count - before
        OrderExport.objects.filter(pk=export.pk).update(
            request_count=F("request_count") + requests_sent
        )
        export.refresh_from_db()
        attempt.finished_at = timezone.now()
        attempt.status_after = export.status
        attempt.message = export.message
        attempt.request_count = requests_sent
        attempt.save()
    return export


def _problem_of(error: Exception) -> str:
    if isinstance(error, VoucherNotBuildable):
        return OrderExport.Problem.NOT_BUILDABLE
    if isinstance(error, PaymentAccountNotAllowed):
        return OrderExport.Problem.NO_ACCOUNT
    return OrderExport.Problem.REJECTED


def _export_steps_waiting_out_rate_limits(
    context: ExportContext, export: OrderExport, order: Order, attempts: int = 3
) -> None:
    """sevDesk's Retry-After is waited out (if short) and the same order goes on."""
    for attempt in range(attempts):
        try:
            _export_steps(context, export, order)
            return
        except SevdeskRateLimited as error:
            wait = error.retry_after or 1
            if attempt == attempts - 1 or wait > MAX_INLINE_RETRY_AFTER:
                raise
            time.sleep(wait)


def _export_steps(context: ExportContext, export: OrderExport, order: Order) -> None:
    connection = context.connection
    if export.voucher_id is None:
        _voucher_create(context, export, order)
    payment = _payment_due(connection, order)
    if payment is None:
        message = messages.EXPORTED if connection.billbee_reconciles else messages.EXPORTED_OPEN
        _finish(export, OrderExport.Status.DONE, message % {"voucher": export.voucher_id})
        return
    if export.payment_booked_at is None:
        booked = _payment_book(context, export, order, payment)
        if not booked:
            return
    _finish(
        export,
        OrderExport.Status.PAID,
        messages.EXPORTED_PAID
        % {"voucher": export.voucher_id, "amount": _money(export.payment_amount, order.currency)},
    )


def _voucher_create(context: ExportContext, export: OrderExport, order: Order) -> None:
    client = context.sevdesk
    if export.voucher_save_sent_at is not None and _voucher_adopt(client, export, order):
        return
    voucher_settings = context.voucher_settings()
    voucher_order = voucher_order_from(order)
    build_voucher(voucher_order, voucher_settings, uploaded_filename=None, contact_id=None)
    contact_id = (
        _contact_for(context, export, order) if context.connection.create_full_customers else None
    )
    try:
        document = invoice_pdf_fetch(order=order)
    except BillbeeAccount.DoesNotExist:
        raise InvoiceNotAvailable(str(messages.NO_BILLBEE_ACCOUNT)) from None
    with document.file.open("rb") as pdf:
        filename = client.upload_temp_file(
            filename=f"{order.invoice_number or order.billbee_id}.pdf", content=pdf.read()
        )
    payload = build_voucher(
        voucher_order, voucher_settings, uploaded_filename=filename, contact_id=contact_id
    )
    _save(export, voucher_save_sent_at=timezone.now(), voucher_description=order.invoice_number)
    saved = client.save_voucher(payload)
    _save(
        export,
        voucher_id=saved.id,
        voucher_gross=_voucher_gross(payload),
    )


def _money(amount: Decimal, currency: str) -> str:
    """An amount as the merchant writes it (German: 1.234,56 EUR)."""
    return f"{number_format(amount, 2, use_l10n=True, force_grouping=True)} {currency}"


def _voucher_gross(payload: dict) -> Decimal:
    return sum((Decimal(str(p["sumGross"])) for p in payload["voucherPosSave"]), Decimal(0))


def _voucher_adopt(client: SevdeskClient, export: OrderExport, order: Order) -> bool:
    """An earlier save may have reached sevDesk: take that voucher instead of a second one."""
    found = client.find_vouchers_by_description(order.invoice_number)
    if not found:
        return False
    voucher = min(found, key=lambda v: v.id)
    if len(found) > 1:
        logger.warning(
            "order %s: %s vouchers named %s in sevDesk; taking %s",
            order.pk,
            len(found),
            order.invoice_number,
            voucher.id,
        )
    _save(
        export,
        voucher_id=voucher.id,
        voucher_gross=voucher.sum_gross,
    )
    return True


def _billbee_client(order: Order):
    account = BillbeeAccount.objects.filter(merchant=order.merchant).first()
    if account is None:
        raise InvoiceNotAvailable(str(messages.NO_BILLBEE_ACCOUNT))
    return billbee_client_for(account=account)


@dataclass(frozen=True)
class PaymentDue:
    amount: Decimal
    date: datetime.date
    payment_type: str


def _payment_due(connection: Connection, order: Order) -> PaymentDue | None:
    """What to book when Billbee reconciles payments; None when nothing is to be booked."""
    if not connection.billbee_reconciles or order.paid_at is None or order.paid_amount <= 0:
        return None
    total = order.total_gross.quantize(CENT, rounding=ROUND_HALF_UP)
    paid = order.paid_amount.quantize(CENT, rounding=ROUND_HALF_UP)
    full = paid >= total
    return PaymentDue(
        amount=total if full else paid,
        date=berlin_date(order.paid_at),
        payment_type="FULL_PAYMENT" if full else "N",
    )


def _payment_account(connection: Connection, order: Order) -> AccountAssignment | None:
    assignments = {a.payment_method: a for a in connection.account_assignments.all()}
    assignment = assignments.get(order.payment_method)
    if assignment is None and connection.book_unassigned_as_standard:
        assignment = assignments.get(None)
    return assignment


def _payment_book(
    context: ExportContext, export: OrderExport, order: Order, payment: PaymentDue
) -> bool:
    """Book the payment once; False (with the reason recorded) when it cannot be booked."""
    client = context.sevdesk
    if export.payment_book_sent_at is not None:
        voucher = client.get_voucher(export.voucher_id)
        if voucher.status == VOUCHER_PAID or (voucher.paid_amount or 0) >= payment.amount:
            _save(export, payment_booked_at=timezone.now(), payment_amount=payment.amount)
            return True
    assignment = _payment_account(context.connection, order)
    if assignment is None:
        _finish(
            export,
            OrderExport.Status.VOUCHER_CREATED,
            messages.NO_ACCOUNT % {"method": payment_type_name(order.payment_method)},
            problem=OrderExport.Problem.NO_ACCOUNT,
            hint=messages.NO_ACCOUNT_HINT,
        )
        return False
    _save(
        export,
        payment_book_sent_at=timezone.now(),
        payment_check_account_id=assignment.check_account_id,
    )
    payment_book(
        client=client,
        voucher_id=export.voucher_id,
        amount=payment.amount,
        pay_date=payment.date,
        check_account_id=assignment.check_account_id,
        check_accounts=context.check_accounts(),
    )
    _save(export, payment_booked_at=timezone.now(), payment_amount=payment.amount)
    return True


# --- Contacts ------------------------------------------------------------------------------


def _customer_key(order: Order) -> str | None:
    if order.customer_billbee_id:
        return f"id:{order.customer_billbee_id}"
    if order.customer_number:
        return f"number:{order.customer_number}"
    if order.customer_email:
        return f"email:{order.customer_email.lower()}"
    return None


def _contact_for(context: ExportContext, export: OrderExport, order: Order) -> int | None:
    """The customer's sevDesk contact: remembered, else found by customer number, else created."""
    key = _customer_key(order)
    if key is None:
        return None
    known = CustomerContact.objects.filter(connection=context.connection, customer_key=key).first()
    if known:
        return known.sevdesk_contact_id
    client = context.sevdesk
    customer_number = order.customer_number or (
        str(order.customer_billbee_id) if order.customer_billbee_id else ""
    )
    found = client.find_contacts_by_customer_number(customer_number) if customer_number else []
    if found:
        contact_id = found[0].id
    else:
        address = order.invoice_address or {}
        contact = client.create_contact(
            organisation=address.get("company") or None,
            first_name=address.get("first_name") or None,
            last_name=address.get("last_name") or order.customer_name or None,
            customer_number=customer_number or None,
            vat_number=order.customer_vat_id or None,
        )
        contact_id = contact.id
    CustomerContact.objects.get_or_create(
        connection=context.connection,
        customer_key=key,
        defaults={"merchant": context.connection.merchant, "sevdesk_contact_id": contact_id},
    )
    _save(export, sevdesk_contact_id=contact_id)
    return contact_id


# --- Tags ----------------------------------------------------------------------------------


def _tag(context: ExportContext, export: OrderExport, order: Order) -> None:
    """Tag the order "sevDesk" in Billbee and here; a failed tag does not undo the export."""
    if export.status not in OrderExport.FINISHED or export.tagged_at:
        return
    try:
        _billbee_client(order).add_tags(order.billbee_id, [SEVDESK_TAG])
    except (BillbeeError, InvoiceNotAvailable) as error:
        _save(
            export,
            message=f"{export.message} "
            + _("The tag could not be set in Billbee: %(error)s") % {"error": error},
        )
        return
    if SEVDESK_TAG.lower() not in {tag.lower() for tag in order.tags}:
        order.tags = [*order.tags, SEVDESK_TAG]
        order.save(update_fields=["tags"])
    _save(export, tagged_at=timezone.now())


# --- Failures ------------------------------------------------------------------------------


def _connection_token_rejected(connection: Connection) -> None:
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(
        token_rejected_at=now,
        status=Connection.Status.TOKEN_REJECTED,
        last_error=str(TOKEN_REJECTED_MESSAGE),
        checked_at=now,
    )
    connection.token_rejected_at = now
    connection.status = Connection.Status.TOKEN_REJECTED


def _token_rejected(export: OrderExport) -> None:
    _finish(
        export,
        OrderExport.Status.NEEDS_ACTION,
        messages.AUTHENTICATION_REQUIRED,
        problem=OrderExport.Problem.AUTHENTICATION,
        hint=messages.AUTHENTICATION_HINT,
    )


def _temporary_failure(context: ExportContext, export: OrderExport, error: Exception) -> None:
    context.consecutive_temporary_failures += 1
    retry_at = _retry_time(export.attempt_count)
    hint = (
        messages.TEMPORARY_HINT
        % {"when": date_format(timezone.localtime(retry_at), "SHORT_DATETIME_FORMAT")}
        if retry_at
        else messages.TEMPORARY_HINT_NEXT_RUN
    )
    _finish(
        export,
        OrderExport.Status.RETRY,
        messages.INTERNAL_SERVER_ERROR,
        problem=OrderExport.Problem.TEMPORARY,
        hint=hint,
        next_attempt_at=retry_at,
    )
    logger.info("export %s: temporary failure (%s), retry at %s", export.pk, error, retry_at)
    if context.consecutive_temporary_failures >= OUTAGE_THRESHOLD:
        raise RunStopped(str(messages.INTERNAL_SERVER_ERROR))


def _rate_limited(context: ExportContext, export: OrderExport, error: SevdeskRateLimited) -> None:
    """Still limited after waiting: the order waits for Retry-After, the run ends."""
    wait = error.retry_after or 1
    _finish(
        export,
        OrderExport.Status.RETRY,
        messages.TOO_MANY_REQUESTS,
        problem=OrderExport.Problem.TEMPORARY,
        hint=messages.RATE_LIMITED_HINT,
        next_attempt_at=timezone.now() + datetime.timedelta(seconds=wait),
    )
    raise RunStopped(str(messages.RATE_LIMITED_HINT))


# --- Runs ----------------------------------------------------------------------------------


def _lease_take(connection: Connection, seconds: int) -> bool:
    """Runs of one connection never overlap: a conditional UPDATE must take the lease."""
    now = timezone.now()
    taken = (
        Connection.objects.filter(pk=connection.pk)
        .filter(Q(export_lease_until__isnull=True) | Q(export_lease_until__lt=now))
        .update(export_lease_until=now + datetime.timedelta(seconds=seconds))
    )
    return taken == 1


def _lease_release(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(export_lease_until=None)


def export_run_create(
    *, connection: Connection, kind: str, order_ids=(), tag_orders=False, user=None
) -> ExportRun:
    return ExportRun.objects.create(
        merchant=connection.merchant,
        connection=connection,
        kind=kind,
        order_ids=list(order_ids),
        tag_orders=tag_orders,
        requested_by=user,
        total=len(order_ids),
    )


def export_run_execute(*, run: ExportRun, progress=None) -> ExportRun:
    """Work through the run's orders: all eligible ones (scheduled) or the chosen ones."""
    connection = Connection.objects.get(pk=run.connection_id)
    if not _lease_take(connection, settings.CELERY_TASK_TIME_LIMIT):
        ExportRun.objects.filter(pk=run.pk).update(
            status=ExportRun.Status.STOPPED,
            finished_at=timezone.now(),
            message=_("Another run of this connection is in progress."),
        )
        run.refresh_from_db()
        return run
    ExportRun.objects.filter(pk=run.pk).update(
        status=ExportRun.Status.RUNNING, started_at=timezone.now()
    )
    context = ExportContext(connection=connection, run=run)
    status, message = ExportRun.Status.FINISHED, ""
    try:
        _run_orders(context, run, progress)
    except RunStopped as stop:
        status, message = ExportRun.Status.STOPPED, str(stop)
    finally:
        _lease_release(connection)
        ExportRun.objects.filter(pk=run.pk).update(
            status=status, message=message, finished_at=timezone.now()
        )
        run.refresh_from_db()
    return run


def _run_orders(context: ExportContext, run: ExportRun, progress) -> None:
    manual = run.kind == ExportRun.Kind.MANUAL
    if manual:
        orders = Order.objects.for_merchant(run.merchant).filter(pk__in=run.order_ids)
    else:
        orders = orders_to_export(connection=context.connection)
        ExportRun.objects.filter(pk=run.pk).update(total=orders.count())
    for order in _in_batches(orders):
        outcome = _run_one(context, order, manual=manual, tag=run.tag_orders)
        column = {"done": "done", "failed": "failed", "skipped": "skipped"}[outcome]
        ExportRun.objects.filter(pk=run.pk).update(**{column: F(column) + 1})
        if progress:
            progress(order, outcome)


def _in_batches(orders, size: int = 200):
    """Orders in pk order, a batch at a time, holding no cursor open between batches.

    An open cursor keeps a read snapshot; on SQLite a write from a snapshot that another
    process has written past fails at once ("database is locked"). Memory stays flat too.
    """
    last_pk = 0
    while batch := list(orders.filter(pk__gt=last_pk).order_by("pk")[:size]):
        yield from batch
        last_pk = batch[-1].pk


def _run_one(context: ExportContext, order: Order, *, manual: bool, tag: bool) -> str:
    export = export_for(connection=context.connection, order=order)
    if export.status in OrderExport.FINISHED:
        if tag:
            _tag(context, export, order)
        return "skipped" if not manual else "done"
    if manual and export.status == OrderExport.Status.NEEDS_ACTION:
        _save(export, status=OrderExport.Status.PENDING)  # chosen by hand: try again
    if not export_claim(export=export):
        return "skipped"
    export = order_export(context=context, export=export, manual=manual, tag=tag)
    if export.status in OrderExport.FINISHED:
        return "done"
    if export.status == OrderExport.Status.SKIPPED:
        return "skipped"
    return "failed"


def export_retry(*, export: OrderExport) -> None:
    """ "Retry" in the export log: the next run takes the order again at once."""
    OrderExport.objects.filter(
        pk=export.pk,
        status__in=[
            OrderExport.Status.NEEDS_ACTION,
            OrderExport.Status.RETRY,
            OrderExport.Status.SKIPPED,
        ],
    ).update(status=OrderExport.Status.PENDING, next_attempt_at=None, updated_at=timezone.now())


def exports_after_token_change(*, connection: Connection) -> int:
    """A new token: the orders that failed on the old one are tried again."""
    return OrderExport.objects.filter(
        connection=connection, problem=OrderExport.Problem.AUTHENTICATION
    ).update(status=OrderExport.Status.PENDING, updated_at=timezone.now())
