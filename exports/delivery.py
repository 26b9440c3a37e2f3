"""The delivery of one export: one Billbee document booked into sevDesk, exactly once.

A delivery is one Celery task (`exports.export_order`) working on one `OrderExport` row, as
saleor delivers one `EventDelivery` per task. Exactly once, by construction:

- **Identity.** A `Booking` row per (sevDesk account, Billbee document) under a unique
  constraint: a second connection booking into the same sevDesk account is refused before
  anything is sent.
- **Claims.** The row is taken with a conditional UPDATE that must affect one row, so two
  workers (or a task delivered twice) never work on it at once; a claim expires after the
  task's hard time limit, and the reaper hands it on.
- **Frozen payload.** When the save is first sent, description, voucher date, gross, currency
  and the payload (with its hash) are committed on the row. A retry resends exactly that
  (with a fresh upload of the PDF), never a payload rebuilt from a mirror that has changed.
- **Verified adoption.** When an earlier save may have reached sevDesk (timeout, lost
  answer, killed worker), sevDesk is searched by the frozen description within the frozen
  date, through every page; only a voucher whose description, gross and date all match is
  adopted. Two or more, or a mismatch: "needs action" with the sevDesk ids, nothing sent.
- **Finish what was started.** Once a save was sent, the delivery goes on whatever the order's
  state is now; an invoice changed after its voucher exists gets "needs action", never a
  second voucher.
- **Every retry ends.** Temporary failures back off (Celery countdown, next time on the row)
  and give up after `MAX_ATTEMPTS` with the last error in the merchant's words.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import requests
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from accounts_mapping.models import AccountAssignment
from accounts_mapping.selectors import revenue_accounts_for, revenue_accounts_stored
from accounts_mapping.services import revenue_accounts_fetch
from connections.models import TOKEN_REJECTED_MESSAGE, Connection
from connections.services import TOKEN_RECHECK_AFTER, sevdesk_client_for
from connections.sevdesk_client import (
    CheckAccount,
    SevdeskAuthenticationFailed,
    SevdeskClient,
    SevdeskError,
    SevdeskRateLimited,
    SevdeskRejected,
    SevdeskTemporaryError,
    VoucherSummary,
    encode_json,
)
from core.crypto import SecretUnreadable
from core.ratelimit import secret_digest
from exports import messages
from exports.mapping import berlin_date, voucher_order_from, voucher_order_from_credit_note
from exports.models import (
    Booking,
    CustomerContact,
    ExportAttempt,
    ExportRun,
    OrderExport,
    PaymentBooking,
)
from exports.payments import PaymentAccountNotAllowed, PaymentFact, payment_book, payment_facts
from exports.selectors import (
    VOUCHER_DATE_FIELD,
    claim_stale_after,
    eligibility,
    original_export_for,
)
from exports.voucher_builder import (
    OssDistanceSale,
    RevenueAccountMissing,
    VoucherNotBuildable,
    VoucherSettings,
    build_voucher,
)
from orders.billbee_client import BillbeeError, BillbeeRateLimited, BillbeeTemporaryError
from orders.enums import ORDER_CANCELLED, payment_type_name
from orders.models import BillbeeAccount, BillbeeDocument, Order
from orders.selectors import documents_cover, documents_mirrored, invoice_document_for
from orders.services import InvoiceNotAvailable, billbee_client_for, invoice_pdf_fetch

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
SEVDESK_TAG = "sevDesk"
# Attempts (claims that reached the remote side) before an export gives up; the delays after
# attempts 1..7 add up to about 22 hours, so a day-long sevDesk outage is ridden out.
MAX_ATTEMPTS = 8
RETRY_DELAYS = (60, 300, 900, 3600, 10800, 21600, 43200)
# Distinct orders failing with 5xx/timeouts within a minute that make an outage.
OUTAGE_ORDERS = 3
OUTAGE_WINDOW = datetime.timedelta(minutes=1)
OUTAGE_PAUSES = (60, 120, 300, 600, 1800)


CHECK_ACCOUNTS_TTL = 300
# An invoice newer than the last read of Billbee's invoice list waits for the next read; past
# the longest wait (the list unreadable for that long) the order's own lines are used.
INVOICE_LIST_WAIT = datetime.timedelta(minutes=2)
INVOICE_LIST_MAX_WAIT = datetime.timedelta(minutes=30)
_check_accounts_cache: dict[tuple[int, str], tuple[float, list[CheckAccount]]] = {}


def document_key(order: Order) -> str:
    """The Billbee document an order export books: the order's invoice."""
    return f"invoice:{order.billbee_id}"


def credit_note_key(document: BillbeeDocument) -> str:
    """A credit note's booking: by its number, whichever order or sync brought it."""
    return f"creditnote:{document.number}"


class CountingSession(requests.Session):
    """Counts the HTTP requests sent, for the export log and the benchmark."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def request(self, *args, **kwargs):
        self.count += 1
        return super().request(*args, **kwargs)


_sessions = threading.local()


def worker_session() -> CountingSession:
    """One HTTP session per worker thread, kept across exports: one task per order must not
    mean one new (TLS) connection to sevDesk per order. Callers count by difference."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = CountingSession()
    return session


@dataclass
class ExportContext:
    """What one run knows and fetches at most once: clients, accounts, revenue accounts."""

    connection: Connection
    run: ExportRun | None = None
    tag: bool = False
    manual: bool = False
    session: CountingSession = field(default_factory=worker_session)
    _sevdesk: SevdeskClient | None = None
    _check_accounts: list[CheckAccount] | None = None
    _voucher_settings: VoucherSettings | None = None

    @property
    def sevdesk(self) -> SevdeskClient:
        if self._sevdesk is None:
            self._sevdesk = sevdesk_client_for(
                token=self.connection.api_token, session=self.session
            )
        return self._sevdesk

    def check_accounts(self) -> list[CheckAccount]:
        """The token's payment accounts, read at most every few minutes per process: every
        payment is checked against a list no older than that (offline and active only)."""
        if self._check_accounts is None:
            key = (self.connection.pk, secret_digest(self.connection.api_token))
            cached = _check_accounts_cache.get(key)
            if cached is None or cached[0] < time.monotonic():
                cached = (time.monotonic() + CHECK_ACCOUNTS_TTL, self.sevdesk.list_check_accounts())
                _check_accounts_cache[key] = cached
            self._check_accounts = cached[1]
        return self._check_accounts

    def sevdesk_client_id(self) -> int:
        """The sevDesk account the token books into, read once and kept on the connection."""
        if self.connection.sevdesk_client_id is None:
            client_id = self.sevdesk.sev_client_id()
            Connection.objects.filter(pk=self.connection.pk).update(sevdesk_client_id=client_id)
            self.connection.sevdesk_client_id = client_id
        return self.connection.sevdesk_client_id

    def voucher_settings(self) -> VoucherSettings:
        if self._voucher_settings is None:
            self._voucher_settings = voucher_settings_for(
                connection=self.connection, client=self.sevdesk
            )
        return self._voucher_settings


# --- Revenue accounts ----------------------------------------------------------------------


def voucher_settings_for(*, connection: Connection, client: SevdeskClient) -> VoucherSettings:
    if connection.bookkeeping_version != "2.0":
        raise VoucherNotBuildable(
            _(
                "Your sevDesk account uses bookkeeping system %(version)s; exports support "
                "sevDesk's current bookkeeping system 2.0 only."
            )
            % {"version": connection.bookkeeping_version or "?"}
        )
    if not revenue_accounts_stored(connection=connection):
        # Never read (a connection from before the revenue accounts, or the refresh after the
        # test failed): read sevDesk's guidance now and pre-fill from it.
        revenue_accounts_fetch(connection=connection, client=client)
    accounts = revenue_accounts_for(connection=connection)
    small_business_rule = 11 if (11, Decimal(0)) in accounts else 1
    return VoucherSettings(
        bookkeeping_version="2.0",
        voucher_date_basis=connection.voucher_date_basis,
        revenue_accounts=accounts,
        small_business_tax_rule=small_business_rule,
    )


# --- Recording outcomes --------------------------------------------------------------------


class ClaimLost(Exception):
    """Another worker took over this export (our claim had expired): stop writing to it."""


class Deferred(Exception):
    """Not now, and not this attempt's fault (rate limit, paused connection): no attempt used."""

    def __init__(self, until: datetime.datetime, message, hint="", problem=""):
        super().__init__(str(message))
        self.until = until
        self.message = message
        self.hint = hint
        self.problem = problem or OrderExport.Problem.TEMPORARY


class NeedsAction(Exception):
    """Stop and ask the merchant: the facts are in the message; nothing more is sent."""

    def __init__(self, problem: str, message, hint=""):
        super().__init__(str(message))
        self.problem = problem
        self.message = message
        self.hint = hint


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
    message,
    *,
    problem: str = "",
    hint="",
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


def retry_delay(attempt: int) -> float | None:
    """Seconds until the next attempt after `attempt` failed (with jitter); None: give up."""
    if attempt >= MAX_ATTEMPTS:
        return None
    delays = getattr(settings, "EXPORT_RETRY_DELAYS", None) or RETRY_DELAYS
    base = delays[max(min(attempt, len(delays)), 1) - 1]
    return base * random.uniform(0.9, 1.1)


# --- Claiming ------------------------------------------------------------------------------


def export_for(*, connection: Connection, order: Order) -> OrderExport:
    """The one export row of this pair; concurrent creators end up with the same row."""
    try:
        with transaction.atomic():
            export, _created = OrderExport.objects.get_or_create(
                connection=connection,
                order=order,
                document=None,
                defaults={"merchant": connection.merchant},
            )
    except IntegrityError:
        export = OrderExport.objects.get(connection=connection, order=order, document=None)
    return export


def export_claim(*, export: OrderExport) -> bool:
    """Take the export for this worker; False when another worker has it or it is finished."""
    now = timezone.now()
    token = str(uuid.uuid4())
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimable = (Q(status__in=OrderExport.WORK_TO_DO) & due) | Q(
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


# --- Before a claim: what needs no attempt -------------------------------------------------


def _settle_without_attempt(context: ExportContext, export: OrderExport) -> bool:
    """Record why the export does not go now, without claiming it; True if it does not go.

    Waiting for an invoice or a payment date, not eligible (for a fresh export), a rejected
    token or a paused connection: none of these uses an attempt or writes an attempt row.
    """
    connection, order = context.connection, export.order
    if export.status in OrderExport.FINISHED:
        return True
    if connection.token_rejected_at:
        _park(
            export,
            problem=OrderExport.Problem.AUTHENTICATION,
            message=messages.AUTHENTICATION_REQUIRED,
            hint=messages.AUTHENTICATION_HINT,
        )
        return True
    if connection.is_paused:
        _park(
            export,
            problem=OrderExport.Problem.TEMPORARY,
            message=connection.pause_reason,
            hint="",
            until=connection.paused_until,
        )
        return True
    if export.voucher_save_sent_at is not None:
        return False  # once a save was sent, finish it whatever the order's state now
    if export.document_id is not None:
        return _credit_note_settle(context, export)
    if order.state == ORDER_CANCELLED:
        _park(
            export,
            status=OrderExport.Status.SKIPPED,
            problem=OrderExport.Problem.CANCELLED,
            message=messages.CANCELLED_BEFORE_EXPORT,
        )
        return True
    failed = [
        reason.failed
        for reason in eligibility(connection=connection, order=order)
        if not reason.ok and reason.rule in {"shop", "state", "start_date"}
    ]
    if failed:
        _park(
            export,
            status=OrderExport.Status.SKIPPED,
            problem=OrderExport.Problem.NOT_ELIGIBLE,
            message=messages.NOT_ELIGIBLE % {"rules": "; ".join(failed)},
        )
        return True
    if not order.has_invoice:
        _park(
            export,
            status=OrderExport.Status.SKIPPED,
            problem=OrderExport.Problem.WAITING_FOR_INVOICE,
            message=messages.NO_INVOICE_DATE if context.manual else messages.WAITING_FOR_INVOICE,
            hint=messages.NO_INVOICE_HINT,
        )
        return True
    if order.paid_at is None:
        _park(
            export,
            status=OrderExport.Status.SKIPPED,
            problem=OrderExport.Problem.WAITING_FOR_PAYMENT,
            message=messages.NO_PAYMENT_DATE if context.manual else messages.WAITING_FOR_PAYMENT,
            hint=messages.NO_PAYMENT_DATE_HINT,
        )
        return True
    return False


def _park(export, *, problem, message, hint="", status=OrderExport.Status.RETRY, until=None):
    """Set an unclaimed export aside (only if nobody works on it right now)."""
    OrderExport.objects.filter(pk=export.pk).exclude(
        status__in=[OrderExport.Status.IN_PROGRESS, *OrderExport.FINISHED]
    ).update(
        status=status,
        problem=problem,
        message=str(message),
        hint=str(hint),
        next_attempt_at=until,
        updated_at=timezone.now(),
    )
    export.refresh_from_db()


# --- One export ----------------------------------------------------------------------------


def export_deliver(*, context: ExportContext, export: OrderExport) -> OrderExport:
    """Deliver one export as far as it can go now; record where it ended and why."""
    if _settle_without_attempt(context, export):
        if context.tag and export.status in OrderExport.FINISHED:
            _tag(context, export, export.order)
        return export
    if not export_claim(export=export):
        return export
    before = context.session.count
    attempt = ExportAttempt.objects.create(
        export=export, run=context.run, started_at=timezone.now()
    )
    error: Exception | None = None
    try:
        _deliver_steps(context, export, export.order)
        _connection_healthy(context.connection)
        if context.tag:
            _tag(context, export, export.order)
    except ClaimLost:
        logger.warning("export %s: claim lost to another worker; leaving it to them", export.pk)
    except Exception as caught:
        error = caught
        _record_failure(context, export, caught)
    finally:
        _attempt_close(context, export, attempt, error, context.session.count - before)
    return export


def _attempt_close(context, export, attempt, error, requests_sent: int) -> None:
    OrderExport.objects.filter(pk=export.pk).update(
        request_count=F("request_count") + requests_sent
    )
    export.refresh_from_db()
    attempt.finished_at = timezone.now()
    attempt.status_after = export.status
    attempt.message = export.message
    attempt.request_count = requests_sent
    if isinstance(error, SevdeskError | BillbeeError):
        attempt.http_status = getattr(error, "status", None)
        attempt.response_excerpt = (getattr(error, "excerpt", "") or "")[:300]
    attempt.temporary = isinstance(error, SevdeskTemporaryError | BillbeeTemporaryError)
    attempt.save()
    if isinstance(error, SoftTimeLimitExceeded):
        logger.warning("export %s: soft time limit reached; ended cleanly", export.pk)


def _record_failure(context: ExportContext, export: OrderExport, error: Exception) -> None:
    """Map what went wrong onto the export's state; a claimed export never stays in progress."""
    connection = context.connection
    if isinstance(error, SecretUnreadable):
        _finish(
            export,
            OrderExport.Status.NEEDS_ACTION,
            error,
            problem=OrderExport.Problem.AUTHENTICATION,
            hint=messages.AUTHENTICATION_HINT,
        )
    elif isinstance(error, SevdeskAuthenticationFailed):
        connection_token_rejected(connection)
        _unuse_attempt(export)
        _finish(
            export,
            OrderExport.Status.RETRY,
            messages.AUTHENTICATION_REQUIRED,
            problem=OrderExport.Problem.AUTHENTICATION,
            hint=messages.AUTHENTICATION_HINT,
        )
    elif isinstance(error, SevdeskRateLimited | Deferred | BillbeeRateLimited):
        _deferred(export, error)
    elif isinstance(error, SevdeskTemporaryError | BillbeeTemporaryError | SoftTimeLimitExceeded):
        message = (
            messages.INTERRUPTED
            if isinstance(error, SoftTimeLimitExceeded)
            else messages.INTERNAL_SERVER_ERROR
        )
        _temporary_failure(export, message, str(error))
        if not isinstance(error, SoftTimeLimitExceeded):
            _outage_check(connection)
    elif isinstance(error, NeedsAction):
        _finish(
            export,
            OrderExport.Status.NEEDS_ACTION,
            error.message,
            problem=error.problem,
            hint=error.hint,
        )
    elif isinstance(
        error,
        SevdeskRejected
        | VoucherNotBuildable
        | PaymentAccountNotAllowed
        | BillbeeError
        | InvoiceNotAvailable,
    ):
        problem = _problem_of(error)
        text = getattr(error, "message", None) or str(error)
        _finish(
            export,
            OrderExport.Status.NEEDS_ACTION,
            (messages.NEEDS_ACTION if problem == OrderExport.Problem.OSS else messages.REJECTED)
            % {"message": text},
            problem=problem,
            hint=PROBLEM_HINTS.get(problem, messages.REJECTED_HINT),
        )
    else:
        logger.error(
            "export %s of order %s failed unexpectedly", export.pk, export.order_id, exc_info=error
        )
        _finish(
            export,
            OrderExport.Status.NEEDS_ACTION,
            messages.INTERNAL_ERROR,
            problem=OrderExport.Problem.INTERNAL,
        )


def _unuse_attempt(export: OrderExport) -> None:
    """A rate limit or a rejected token is not the order's fault: the attempt does not count."""
    OrderExport.objects.filter(pk=export.pk, attempt_count__gt=0).update(
        attempt_count=F("attempt_count") - 1
    )
    export.attempt_count = max(export.attempt_count - 1, 0)


def _deferred(export: OrderExport, error: Exception) -> None:
    problem = OrderExport.Problem.TEMPORARY
    if isinstance(error, Deferred):
        until, message, hint, problem = error.until, error.message, error.hint, error.problem
    else:
        wait = getattr(error, "retry_after", None) or 60
        until = timezone.now() + datetime.timedelta(seconds=wait)
        message = (
            messages.BILLBEE_RATE_LIMITED
            if isinstance(error, BillbeeRateLimited)
            else messages.TOO_MANY_REQUESTS
        )
        hint = messages.RATE_LIMITED_HINT
    _unuse_attempt(export)
    _finish(
        export,
        OrderExport.Status.RETRY,
        message,
        problem=problem,
        hint=hint,
        next_attempt_at=until,
    )


def _temporary_failure(export: OrderExport, message, detail: str) -> None:
    delay = retry_delay(export.attempt_count)
    if delay is None:
        _finish(
            export,
            OrderExport.Status.NEEDS_ACTION,
            messages.GAVE_UP % {"attempts": export.attempt_count, "message": message},
            problem=OrderExport.Problem.TOO_MANY_ATTEMPTS,
            hint=messages.GAVE_UP_HINT,
        )
        return
    retry_at = timezone.now() + datetime.timedelta(seconds=delay)
    hint = messages.TEMPORARY_HINT % {
        "when": date_format(timezone.localtime(retry_at), "SHORT_DATETIME_FORMAT")
    }
    _finish(
        export,
        OrderExport.Status.RETRY,
        message,
        problem=OrderExport.Problem.TEMPORARY,
        hint=hint,
        next_attempt_at=retry_at,
    )
    logger.info("export %s: temporary failure (%s), retry at %s", export.pk, detail, retry_at)


PROBLEM_HINTS = {
    OrderExport.Problem.OSS: messages.OSS_HINT,
    OrderExport.Problem.NO_REVENUE_ACCOUNT: messages.NO_REVENUE_ACCOUNT_HINT,
}


def _problem_of(error: Exception) -> str:
    if isinstance(error, OssDistanceSale):
        return OrderExport.Problem.OSS
    if isinstance(error, RevenueAccountMissing):
        return OrderExport.Problem.NO_REVENUE_ACCOUNT
    if isinstance(error, VoucherNotBuildable):
        return OrderExport.Problem.NOT_BUILDABLE
    if isinstance(error, PaymentAccountNotAllowed):
        return OrderExport.Problem.NO_ACCOUNT
    return OrderExport.Problem.REJECTED


# --- The steps -----------------------------------------------------------------------------


def _deliver_steps(context: ExportContext, export: OrderExport, order: Order) -> None:
    connection = context.connection
    if export.document_id is not None:
        _credit_note_steps(context, export, order)
        return
    if export.voucher_id is None:
        _voucher_create(context, export, order)
    if _invoice_changed(connection, export, order):
        raise _invoice_changed_error(connection, export, order)
    if not connection.billbee_reconciles:
        _finish(
            export, OrderExport.Status.DONE, messages.EXPORTED_OPEN % {"voucher": export.voucher_id}
        )
        return
    outcome = _payments_settle(context, export, order)
    _finish(export, outcome.status, outcome.message, problem=outcome.problem, hint=outcome.hint)


# --- The voucher: booking identity, frozen payload, verified adoption ----------------------


@dataclass(frozen=True)
class FrozenFacts:
    """What identifies the voucher we send, taken from the invoice when first sent."""

    description: str
    voucher_date: datetime.date
    currency: str
    order_total: Decimal


def _facts_now(connection: Connection, order: Order) -> FrozenFacts:
    """The facts as the mirror has them now (no order lines needed: dates and totals only)."""
    day = berlin_date(getattr(order, VOUCHER_DATE_FIELD[connection.voucher_date_basis]))
    return FrozenFacts(
        description=order.invoice_number,
        voucher_date=day or berlin_date(order.invoice_date) or timezone.localdate(),
        currency=order.currency or "EUR",
        order_total=order.total_gross.quantize(CENT, rounding=ROUND_HALF_UP),
    )


def _invoice_changed(connection: Connection, export: OrderExport, order: Order) -> bool:
    if not export.voucher_description:
        return False  # booked before payloads were frozen: nothing to compare with
    now = _facts_now(connection, order)
    return (
        now.description != export.voucher_description
        or (export.frozen_order_total is not None and now.order_total != export.frozen_order_total)
        or (export.voucher_date is not None and now.voucher_date != export.voucher_date)
    )


def invoice_changed_record(*, export: OrderExport) -> None:
    """A booked export whose invoice changed in Billbee: "needs action", nothing is sent."""
    error = _invoice_changed_error(export.connection, export, export.order)
    OrderExport.objects.filter(pk=export.pk, status__in=OrderExport.FINISHED).update(
        status=OrderExport.Status.NEEDS_ACTION,
        problem=error.problem,
        message=str(error.message),
        hint=str(error.hint),
        updated_at=timezone.now(),
    )


def _invoice_changed_error(connection, export, order) -> NeedsAction:
    now = _facts_now(connection, order)
    sent = f"{export.voucher_description}, {_money(export.frozen_order_total or 0, order.currency)}"
    if export.voucher_date:
        sent += f", {export.voucher_date:%d.%m.%Y}"
    current = (
        f"{now.description}, {_money(now.order_total, order.currency)}, {now.voucher_date:%d.%m.%Y}"
    )
    return NeedsAction(
        OrderExport.Problem.INVOICE_CHANGED,
        messages.INVOICE_CHANGED
        % {"voucher": export.voucher_id or "?", "sent": sent, "now": current},
        messages.INVOICE_CHANGED_HINT,
    )


def _booking_claim(
    context: ExportContext, export: OrderExport, order: Order, *, key: str | None = None
) -> None:
    """Take this document's booking in the sevDesk account; refuse if another export has it."""
    client_id = context.sevdesk_client_id()
    key = key or document_key(order)
    try:
        with transaction.atomic():
            Booking.objects.get_or_create(
                sevdesk_client_id=client_id, document_key=key, defaults={"export": export}
            )
    except IntegrityError:
        pass  # a concurrent creator won; see whose it is below
    booking = (
        Booking.objects.select_related("export__connection")
        .filter(sevdesk_client_id=client_id, document_key=key)
        .first()
    )
    if booking is not None and booking.export_id != export.pk:
        raise NeedsAction(
            OrderExport.Problem.ALREADY_BOOKED,
            messages.ALREADY_BOOKED % {"connection": booking.export.connection.name},
            messages.ALREADY_BOOKED_HINT,
        )


def _payload_hash(payload: dict) -> str:
    return hashlib.sha256(encode_json(payload)).hexdigest()


def _freeze(context: ExportContext, export: OrderExport, order: Order) -> None:
    """Build the payload once and commit it, with the facts that identify it, before sending."""
    facts = _facts_now(context.connection, order)
    contact_id = (
        _contact_for(context, export, order) if context.connection.create_full_customers else None
    )
    payload = build_voucher(
        voucher_order_from(order, _invoice_reference(order)),
        context.voucher_settings(),
        uploaded_filename=None,
        contact_id=contact_id,
    )
    _frozen_save(export, payload, facts)


def _frozen_save(export: OrderExport, payload: dict, facts: FrozenFacts) -> None:
    """Commit the payload and the facts that identify its voucher (for adoption), once."""
    frozen = json.loads(encode_json(payload))  # Decimals as JSON numbers, exactly their digits
    _save(
        export,
        frozen_payload=frozen,
        frozen_payload_sha256=_payload_hash(frozen),
        voucher_description=facts.description,
        voucher_date=facts.voucher_date,
        voucher_gross=_voucher_gross(payload),
        voucher_currency=facts.currency,
        frozen_order_total=facts.order_total,
    )


def _invoice_reference(order: Order):
    """Billbee's invoice list entry of the order's invoice: the voucher's reference. Where the
    list was read but not yet past this invoice, wait for it (no attempt used) rather than
    book from the order's lines what the invoice may state otherwise."""
    document = invoice_document_for(order=order)
    if document is not None:
        return document
    waited = timezone.now() - (order.invoice_date or timezone.now())
    if (
        documents_mirrored(merchant_id=order.merchant_id)
        and not documents_cover(order=order)
        and waited < INVOICE_LIST_MAX_WAIT
    ):
        raise Deferred(
            timezone.now() + INVOICE_LIST_WAIT,
            messages.WAITING_FOR_INVOICE_LIST,
            messages.WAITING_FOR_INVOICE_LIST_HINT,
            problem=OrderExport.Problem.WAITING_FOR_INVOICE_LIST,
        )
    return None  # Billbee lists no entry for it: the order's lines, by the builder's rules


def _voucher_create(context: ExportContext, export: OrderExport, order: Order) -> None:
    client = context.sevdesk
    if export.voucher_save_sent_at is not None:
        if _voucher_adopt(client, export):
            return
        if _invoice_changed(context.connection, export, order):
            # The earlier save provably did not arrive: the invoice as it is now is sent.
            _freeze(context, export, order)
    else:
        _booking_claim(context, export, order)
        _freeze(context, export, order)
    document = _invoice_document(order)
    with document.file.open("rb") as pdf:
        filename = client.upload_temp_file(
            filename=f"{export.voucher_description or order.billbee_id}.pdf", content=pdf.read()
        )
    payload = {**export.frozen_payload, "filename": filename}
    _save(export, voucher_save_sent_at=timezone.now())
    saved = client.save_voucher(payload)
    _save(export, voucher_id=saved.id)


def _invoice_document(order: Order):
    try:
        return invoice_pdf_fetch(order=order)
    except BillbeeAccount.DoesNotExist:
        raise InvoiceNotAvailable(str(messages.NO_BILLBEE_ACCOUNT)) from None


def _voucher_adopt(client: SevdeskClient, export: OrderExport) -> bool:
    """An earlier save may have reached sevDesk: adopt that voucher only if it provably is ours.

    Searched by the frozen description within the frozen voucher date (all pages); adopted
    only when exactly one voucher matches description, gross and date.
    """
    found = client.find_vouchers(
        description=export.voucher_description,
        start_date=export.voucher_date,
        end_date=export.voucher_date,
    )
    # Vouchers we know to be another export's (same number in two shops, a reused number)
    # are not candidates at all.
    known = set(
        OrderExport.objects.filter(
            voucher_id__in=[voucher.id for voucher in found],
            connection__sevdesk_client_id=export.connection.sevdesk_client_id,
        )
        .exclude(pk=export.pk)
        .values_list("voucher_id", flat=True)
    )
    found = [voucher for voucher in found if voucher.id not in known]
    if not found:
        return False
    matching = [voucher for voucher in found if _is_ours(voucher, export)]
    if len(found) == 1 and len(matching) == 1:
        _save(export, voucher_id=matching[0].id)
        return True
    raise NeedsAction(
        OrderExport.Problem.AMBIGUOUS,
        messages.AMBIGUOUS_VOUCHERS % {"ids": ", ".join(str(v.id) for v in found)},
        messages.AMBIGUOUS_VOUCHERS_HINT,
    )


def _is_ours(voucher: VoucherSummary, export: OrderExport) -> bool:
    gross = voucher.sum_gross.quantize(CENT) if voucher.sum_gross is not None else None
    voucher_date = getattr(voucher, "voucher_date", None)
    return (
        voucher.description == export.voucher_description
        and gross == export.voucher_gross
        and (
            voucher_date is None
            or export.voucher_date is None
            or voucher_date == export.voucher_date
        )
    )


def _money(amount: Decimal, currency: str) -> str:
    """An amount as the merchant writes it (German: 1.234,56 EUR)."""
    return f"{number_format(amount, 2, use_l10n=True, force_grouping=True)} {currency}"


def _voucher_gross(payload: dict) -> Decimal:
    return sum((Decimal(str(p["sumGross"])) for p in payload["voucherPosSave"]), Decimal(0))


def _billbee_client(order: Order):
    account = BillbeeAccount.objects.filter(merchant=order.merchant).first()
    if account is None:
        raise InvoiceNotAvailable(str(messages.NO_BILLBEE_ACCOUNT))
    return billbee_client_for(account=account)


# --- Payments: each Billbee payment booked once ---------------------------------------------


@dataclass(frozen=True)
class PaymentsOutcome:
    status: str
    message: str
    problem: str = ""
    hint: str = ""


def _payments_settle(context: ExportContext, export: OrderExport, order: Order) -> PaymentsOutcome:
    """Book every payment Billbee records that is not booked yet, each once, in the order they
    were made; `FULL_PAYMENT` only for the one that completes the voucher, `N` for the others.

    Raises NeedsAction (nothing more is sent) when the payments no longer fit what was booked:
    a booked payment changed or went away, money went back, more was paid than invoiced, or
    sevDesk's paid amount is not what our bookings add up to.
    """
    currency = export.voucher_currency or order.currency or "EUR"
    gross = _booked_gross(export, order)
    facts = payment_facts(order)
    if _credit_notes_queued(export):
        # money going back is booked on the credit note's own voucher
        facts = [fact for fact in facts if fact.amount > 0]
    bookings = {b.key: b for b in export.payment_bookings.all()}
    _legacy_adopt(export, facts, bookings)
    _payments_check(export, facts, bookings, gross, currency)
    _save(export, payments_seen_total=order.paid_amount)
    booked = _confirm_sent(context, export, bookings, currency)
    unassigned: list[PaymentFact] = []
    verified = not bookings  # a voucher without bookings has nothing paid in sevDesk yet
    for fact in facts:
        if fact.key in bookings and bookings[fact.key].status == PaymentBooking.Status.BOOKED:
            continue
        assignment = _payment_account(context.connection, fact.payment_type)
        if assignment is None:
            unassigned.append(fact)
            continue
        if not verified:
            _paid_in_sevdesk_check(context, export, booked, currency)
            verified = True
        booked += _payment_send(context, export, fact, assignment, paid_before=booked, gross=gross)
    paid_total = sum((b.amount for b in export.payment_bookings.all()), Decimal(0))
    _save(export, payment_amount=paid_total)
    if unassigned:
        methods = ", ".join(dict.fromkeys(payment_type_name(f.payment_type) for f in unassigned))
        return PaymentsOutcome(
            OrderExport.Status.VOUCHER_CREATED,
            messages.PAYMENT_OPEN_NO_ACCOUNT % {"voucher": export.voucher_id, "method": methods},
            OrderExport.Problem.NO_ACCOUNT,
            messages.NO_ACCOUNT_HINT,
        )
    if not facts:
        return PaymentsOutcome(
            OrderExport.Status.DONE, messages.EXPORTED % {"voucher": export.voucher_id}
        )
    if paid_total < gross:
        return PaymentsOutcome(
            OrderExport.Status.VOUCHER_CREATED,
            messages.PART_PAID
            % {
                "voucher": export.voucher_id,
                "paid": _money(paid_total, currency),
                "total": _money(gross, currency),
                "open": _money(gross - paid_total, currency),
            },
            OrderExport.Problem.PART_PAID,
            messages.PART_PAID_HINT,
        )
    if export.payment_booked_at is None:
        _save(export, payment_booked_at=timezone.now())
    return PaymentsOutcome(
        OrderExport.Status.PAID,
        messages.EXPORTED_PAID
        % {"voucher": export.voucher_id, "amount": _money(paid_total, currency)},
    )


def _booked_gross(export: OrderExport, order: Order) -> Decimal:
    """The voucher's gross as sent (frozen), else the invoice total."""
    if export.voucher_gross is not None:
        return export.voucher_gross
    if export.frozen_order_total is not None:
        return export.frozen_order_total
    return order.total_gross.quantize(CENT, rounding=ROUND_HALF_UP)


def _payments_list(facts) -> str:
    return "; ".join(
        f"{payment_type_name(f.payment_type)} {f.amount} ({f.pay_date:%d.%m.%Y})" for f in facts
    )


def _payments_check(export, facts, bookings, gross: Decimal, currency: str) -> None:
    """Stop before sending anything when Billbee's payments no longer fit the bookings."""
    by_key = {fact.key: fact for fact in facts}
    refunds = [fact for fact in facts if fact.amount < 0]
    if refunds:
        raise NeedsAction(
            OrderExport.Problem.PAYMENT_CHANGED,
            messages.PAYMENT_REFUNDED
            % {"voucher": export.voucher_id, "payments": _payments_list(refunds)},
            messages.PAYMENT_CHANGED_HINT,
        )
    changed = [
        booking
        for booking in bookings.values()
        if booking.key not in by_key or by_key[booking.key].amount != booking.amount
    ]
    if changed:
        raise NeedsAction(
            OrderExport.Problem.PAYMENT_CHANGED,
            messages.PAYMENT_CHANGED
            % {
                "voucher": export.voucher_id,
                "booked": "; ".join(
                    f"{payment_type_name(b.payment_type)} {b.amount} ({b.pay_date:%d.%m.%Y})"
                    for b in changed
                ),
                "now": _payments_list(facts) or "–",
            },
            messages.PAYMENT_CHANGED_HINT,
        )
    paid = sum((fact.amount for fact in facts), Decimal(0))
    if paid > gross:
        raise NeedsAction(
            OrderExport.Problem.OVERPAID,
            messages.OVERPAID
            % {
                "voucher": export.voucher_id,
                "paid": _money(paid, currency),
                "total": _money(gross, currency),
                "payments": _payments_list(facts),
            },
            messages.OVERPAID_HINT,
        )


def _legacy_adopt(export: OrderExport, facts, bookings: dict) -> None:
    """An export whose payment an earlier release booked as one lump (before per-payment
    bookings): if the lump equals what Billbee records now, those payments are booked."""
    lump = bookings.get("order")
    if lump is not None and len(bookings) == 1 and all(f.key != "order" for f in facts):
        # Billbee now lists the payments of an order it had marked paid without them
        if lump.status != PaymentBooking.Status.BOOKED:
            return  # settled by the paid amount first; then it counts as changed
        export.payment_booked_at = export.payment_booked_at or lump.booked_at
        export.payment_amount = lump.amount
        lump.delete()
        bookings.clear()
    if bookings or export.payment_booked_at is None or export.payment_amount is None:
        return
    if sum((fact.amount for fact in facts), Decimal(0)) != export.payment_amount:
        raise NeedsAction(
            OrderExport.Problem.PAYMENT_CHANGED,
            messages.PAYMENT_CHANGED
            % {
                "voucher": export.voucher_id,
                "booked": str(export.payment_amount),
                "now": _payments_list(facts) or "–",
            },
            messages.PAYMENT_CHANGED_HINT,
        )
    paid_before = Decimal(0)
    for fact in facts:
        bookings[fact.key] = PaymentBooking.objects.create(
            export=export,
            key=fact.key,
            billbee_payment_id=fact.billbee_id,
            payment_type=fact.payment_type,
            pay_date=fact.pay_date,
            amount=fact.amount,
            booking_type="FULL_PAYMENT",
            check_account_id=export.payment_check_account_id,
            paid_before=paid_before,
            status=PaymentBooking.Status.BOOKED,
            booked_at=export.payment_booked_at,
        )
        paid_before += fact.amount


def _confirm_sent(context: ExportContext, export: OrderExport, bookings: dict, currency) -> Decimal:
    """Settle a booking whose answer was lost by sevDesk's paid amount; the amount booked."""
    booked = sum(
        (b.amount for b in bookings.values() if b.status == PaymentBooking.Status.BOOKED),
        Decimal(0),
    )
    sent = [b for b in bookings.values() if b.status == PaymentBooking.Status.SENT]
    if not sent:
        return booked
    paid = _paid_in_sevdesk(context, export)
    for booking in sent:  # one at most: bookings are sent one after another
        if paid == booking.paid_before + booking.amount:
            _booking_mark(booking, PaymentBooking.Status.BOOKED)
            booked += booking.amount
        elif paid == booking.paid_before:
            booking.delete()  # it never arrived: sent again below
            del bookings[booking.key]
        else:
            raise _paid_mismatch(export, paid, booking.paid_before + booking.amount, currency)
    return booked


def _paid_in_sevdesk(context: ExportContext, export: OrderExport) -> Decimal:
    voucher = context.sevdesk.get_voucher(export.voucher_id)
    return Decimal(str(voucher.paid_amount or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def _paid_in_sevdesk_check(context, export, booked: Decimal, currency: str) -> None:
    """Before booking onto a voucher that has bookings: sevDesk's paid amount must be ours."""
    paid = _paid_in_sevdesk(context, export)
    if paid != booked:
        raise _paid_mismatch(export, paid, booked, currency)


def _paid_mismatch(export, paid: Decimal, expected: Decimal, currency: str) -> NeedsAction:
    return NeedsAction(
        OrderExport.Problem.PAYMENT_UNCLEAR,
        messages.PAID_MISMATCH
        % {
            "voucher": export.voucher_id,
            "paid": _money(paid, currency),
            "expected": _money(expected, currency),
        },
        messages.PAID_MISMATCH_HINT,
    )


def _payment_account(connection: Connection, payment_type: int | None):
    assignments = {a.payment_method: a for a in connection.account_assignments.all()}
    assignment = assignments.get(payment_type) if payment_type is not None else None
    if assignment is None and connection.book_unassigned_as_standard:
        assignment = assignments.get(None)
    return assignment


def _payment_send(
    context: ExportContext,
    export: OrderExport,
    fact: PaymentFact,
    assignment: AccountAssignment,
    *,
    paid_before: Decimal,
    gross: Decimal,
) -> Decimal:
    """Book one payment: marked sent (committed) first, booked when sevDesk answered."""
    completes = paid_before + fact.amount == gross
    booking, _created = PaymentBooking.objects.update_or_create(
        export=export,
        key=fact.key,
        defaults={
            "billbee_payment_id": fact.billbee_id,
            "payment_type": fact.payment_type,
            "pay_date": fact.pay_date,
            "amount": fact.amount,
            "booking_type": "FULL_PAYMENT" if completes else "N",
            "check_account_id": assignment.check_account_id,
            "paid_before": paid_before,
            "status": PaymentBooking.Status.SENT,
            "sent_at": timezone.now(),
        },
    )
    _save(export, payment_book_sent_at=booking.sent_at)  # still holding the claim
    payment_book(
        client=context.sevdesk,
        voucher_id=export.voucher_id,
        amount=fact.amount,
        pay_date=fact.pay_date,
        check_account_id=assignment.check_account_id,
        check_accounts=context.check_accounts(),
        payment_type=booking.booking_type,
    )
    _booking_mark(booking, PaymentBooking.Status.BOOKED)
    return fact.amount


def _booking_mark(booking: PaymentBooking, status: str) -> None:
    booking.status = status
    booking.booked_at = timezone.now()
    booking.save(update_fields=["status", "booked_at"])


# --- Credit notes: vouchers of their own ----------------------------------------------------


def _credit_note_settle(context: ExportContext, export: OrderExport) -> bool:
    """A credit note goes once its original invoice was booked through this connection, or on
    its own where the connection says so; else it waits (no attempt), saying why."""
    if original_export_for(export=export) is not None:
        return False
    if context.connection.book_unlinked_credit_notes:
        return False
    _park(
        export,
        status=OrderExport.Status.SKIPPED,
        problem=OrderExport.Problem.ORIGINAL_NOT_BOOKED,
        message=messages.CREDIT_NOTE_WITHOUT_ORIGINAL
        % {"number": export.document.number, "invoice": export.order.invoice_number or "–"},
        hint=messages.CREDIT_NOTE_WITHOUT_ORIGINAL_HINT,
    )
    return True


def _credit_note_steps(context: ExportContext, export: OrderExport, order: Order) -> None:
    """The credit note's voucher (frozen, claimed, adopted like an invoice's), then its refund
    where Billbee reconciles payments."""
    document = export.document
    client = context.sevdesk
    if export.voucher_id is None:
        adopted = export.voucher_save_sent_at is not None and _voucher_adopt(client, export)
        if not adopted:
            if export.voucher_save_sent_at is None:
                _booking_claim(context, export, order, key=credit_note_key(document))
                _credit_note_freeze(context, export, order, document)
            _save(export, voucher_save_sent_at=timezone.now())
            saved = client.save_voucher(export.frozen_payload)
            _save(export, voucher_id=saved.id)
    if not context.connection.billbee_reconciles:
        _finish(
            export,
            OrderExport.Status.DONE,
            messages.CREDIT_NOTE_EXPORTED_OPEN
            % {"number": document.number, "voucher": export.voucher_id},
        )
        return
    outcome = _refund_settle(context, export, order, document)
    _finish(export, outcome.status, outcome.message, problem=outcome.problem, hint=outcome.hint)


def _credit_note_freeze(
    context: ExportContext, export: OrderExport, order: Order, document: BillbeeDocument
) -> None:
    original = original_export_for(export=export)
    voucher_order = voucher_order_from_credit_note(
        order,
        document,
        original_number=(original.voucher_description if original else "") or order.invoice_number,
    )
    contact_id = None
    if context.connection.create_full_customers:
        contact_id = (original.sevdesk_contact_id if original else None) or _contact_for(
            context, export, order
        )
    payload = build_voucher(
        voucher_order, context.voucher_settings(), uploaded_filename=None, contact_id=contact_id
    )
    basis = context.connection.voucher_date_basis
    day = voucher_order.payment_date if basis == "payment" else voucher_order.invoice_date
    facts = FrozenFacts(
        description=document.number,
        voucher_date=day,
        currency=voucher_order.currency,
        order_total=document.total_gross.quantize(CENT, rounding=ROUND_HALF_UP),
    )
    _frozen_save(export, payload, facts)


def _refund_settle(
    context: ExportContext, export: OrderExport, order: Order, document: BillbeeDocument
) -> PaymentsOutcome:
    """The money going back: the credit note's amount (negative, as its voucher's sum) booked
    once on the offline account the original payment went to, on Billbee's refund date."""
    currency = export.voucher_currency or "EUR"
    gross = export.voucher_gross or Decimal(0)
    bookings = {b.key: b for b in export.payment_bookings.all()}
    booked = _confirm_sent(context, export, bookings, currency)
    if booked == gross:
        return _refund_booked(export, booked, currency)
    refund_day = berlin_date(document.pay_date) or _refund_day_in_billbee(order)
    if refund_day is None:
        return PaymentsOutcome(
            OrderExport.Status.VOUCHER_CREATED,
            messages.REFUND_OPEN % {"number": document.number, "voucher": export.voucher_id},
            OrderExport.Problem.REFUND_OPEN,
            messages.REFUND_OPEN_HINT,
        )
    account_id = _refund_account(context.connection, export, order, document)
    if account_id is None:
        method = payment_type_name(document.payment_type_id or order.payment_method)
        return PaymentsOutcome(
            OrderExport.Status.VOUCHER_CREATED,
            messages.PAYMENT_OPEN_NO_ACCOUNT % {"voucher": export.voucher_id, "method": method},
            OrderExport.Problem.NO_ACCOUNT,
            messages.NO_ACCOUNT_HINT,
        )
    if bookings:
        _paid_in_sevdesk_check(context, export, booked, currency)
    fact = PaymentFact(
        key=f"refund:{document.number}",
        billbee_id=None,
        payment_type=document.payment_type_id or order.payment_method,
        pay_date=refund_day,
        amount=gross - booked,
    )
    booked += _payment_send(
        context, export, fact, _Account(account_id), paid_before=booked, gross=gross
    )
    _save(export, payment_amount=booked)
    return _refund_booked(export, booked, currency)


def _refund_booked(export: OrderExport, booked: Decimal, currency: str) -> PaymentsOutcome:
    if export.payment_booked_at is None:
        _save(export, payment_booked_at=timezone.now())
    return PaymentsOutcome(
        OrderExport.Status.PAID,
        messages.CREDIT_NOTE_EXPORTED_REFUNDED
        % {
            "number": export.voucher_description,
            "voucher": export.voucher_id,
            "amount": _money(-booked, currency),
        },
    )


def _credit_notes_queued(export: OrderExport) -> bool:
    """Whether the invoice export's order has credit notes queued through its connection."""
    return OrderExport.objects.filter(
        connection_id=export.connection_id, order_id=export.order_id, document__isnull=False
    ).exists()


def _refund_day_in_billbee(order: Order):
    """The day of the order's latest negative payment in Billbee (a refund), if any."""
    refunds = [fact for fact in payment_facts(order) if fact.amount < 0]
    return max((fact.pay_date for fact in refunds), default=None)


@dataclass(frozen=True)
class _Account:
    check_account_id: int


def _refund_account(
    connection: Connection, export: OrderExport, order: Order, document: BillbeeDocument
) -> int | None:
    """Where the original payment went (its largest booking), else the account assigned to
    the refund's payment method."""
    original = original_export_for(export=export)
    if original is not None:
        booking = (
            original.payment_bookings.filter(status=PaymentBooking.Status.BOOKED)
            .exclude(check_account_id=None)
            .order_by("-amount")
            .first()
        )
        if booking is not None:
            return booking.check_account_id
        if original.payment_check_account_id:
            return original.payment_check_account_id
    assignment = _payment_account(connection, document.payment_type_id or order.payment_method)
    return assignment.check_account_id if assignment else None


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


# --- The connection's health: rejected tokens, outages --------------------------------------


def connection_token_rejected(connection: Connection) -> None:
    """A 401: nothing more is sent with this token; it is re-checked by itself a few times."""
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(
        token_rejected_at=now,
        status=Connection.Status.TOKEN_REJECTED,
        last_error=str(TOKEN_REJECTED_MESSAGE),
        checked_at=now,
        token_rechecks=0,
        token_recheck_at=now + TOKEN_RECHECK_AFTER[0],
    )
    connection.token_rejected_at = now
    connection.status = Connection.Status.TOKEN_REJECTED


def _outage_check(connection: Connection) -> None:
    """Several distinct orders failing temporarily within a minute: pause, back off, resume."""
    since = timezone.now() - OUTAGE_WINDOW
    failing = (
        ExportAttempt.objects.filter(
            export__connection=connection, temporary=True, started_at__gte=since
        )
        .values("export")
        .distinct()
        .count()
    )
    if failing + 1 < OUTAGE_ORDERS:  # this attempt's row is written after the check
        return
    pauses = connection.outage_pauses
    steps = getattr(settings, "EXPORT_OUTAGE_PAUSES", None) or OUTAGE_PAUSES
    until = timezone.now() + datetime.timedelta(seconds=steps[min(pauses, len(steps) - 1)])
    reason = messages.CONNECTION_PAUSED % {
        "until": date_format(timezone.localtime(until), "SHORT_DATETIME_FORMAT")
    }
    Connection.objects.filter(pk=connection.pk).update(
        paused_until=until, pause_reason=str(reason), outage_pauses=pauses + 1
    )
    connection.paused_until, connection.pause_reason = until, str(reason)
    logger.warning("connection %s paused until %s (outage)", connection.pk, until)


def _connection_healthy(connection: Connection) -> None:
    if connection.outage_pauses or connection.pause_reason:
        Connection.objects.filter(pk=connection.pk).update(
            outage_pauses=0, pause_reason="", paused_until=None
        )
        connection.outage_pauses, connection.pause_reason = 0, ""
