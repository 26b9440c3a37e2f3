"""The reconciliation ("Abgleich") of one connection and period: what Billbee invoiced and
credited next to what sevDesk holds, read back from sevDesk (never written).

How a report is made (`reconciliation_run`):

* **Billbee's side** is our mirror of Billbee's invoice list (`orders.BillbeeDocument`),
  restricted by the export's own selectors to what the connection sends, with our export's
  state of each document (`reconciliation.selectors.billbee_side`).
* **sevDesk's side** is every revenue voucher (creditDebit D) dated in the period, read with
  `SevdeskClient.list_vouchers`: one GET /Voucher per 1,000 vouchers, never one per invoice.
  Progress (pages, vouchers) is committed page by page.
* **Matching** is by number: the export describes each voucher with the full invoice number
  (a credit note's with the credit note number). Per row the flags are: missing in sevDesk
  (our export has a voucher, sevDesk lists none with the number in the period), not yet
  exported (with the export's reason), in sevDesk but unknown to Billbee, several vouchers
  with one number, gross differs, voucher date differs, and — only where the connection
  reconciles payments in Billbee — the paid amount in sevDesk differs from what our export
  booked.
* **Totals per VAT rate.** Billbee's side from the documents' positions and fees (gross, by
  their rate). sevDesk's list answer carries no positions, so its side is split by the
  positions our export sent: for a voucher that is the one our export created (its id) and
  whose gross in sevDesk still equals what we sent. Every other voucher (created elsewhere,
  changed in sevDesk, a duplicate) counts with its gross under "unknown": reading each
  voucher's positions would cost one call per voucher, which this report must not.

Errors from sevDesk (token rejected, outage, 429) end the report as failed with a message in
the merchant's words; nothing is retried inside, the merchant (or the next monthly tick)
starts it again.
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from connections.models import Connection
from connections.services import sevdesk_client_for
from connections.sevdesk_client import (
    SevdeskAuthenticationFailed,
    SevdeskError,
    SevdeskRateLimited,
    SevdeskRejected,
    SevdeskTemporaryError,
    VoucherSummary,
)
from reconciliation.models import Flag, ReconciliationReport, ReconciliationRow
from reconciliation.selectors import BillbeeSide, billbee_documents_named, billbee_side, cents

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000
ROWS_BATCH = 1000
UNKNOWN_RATE = "unknown"
# A report running this long lost its worker (the task's hard limit is far below).
STALE_AFTER = datetime.timedelta(hours=1)
# A failed monthly report is started again by the daily tick, this many times in all.
MONTHLY_ATTEMPTS = 3


# --- Creating reports ----------------------------------------------------------------------


def reconciliation_report_create(
    *,
    connection: Connection,
    start: datetime.date,
    end: datetime.date,
    kind: str = ReconciliationReport.Kind.MANUAL,
    user=None,
) -> ReconciliationReport:
    if end < start:
        raise ValueError("the period ends before it starts")
    return ReconciliationReport.objects.create(
        merchant_id=connection.merchant_id,
        connection=connection,
        period_start=start,
        period_end=end,
        kind=kind,
        requested_by=user,
    )


def month_bounds(year: int, month: int) -> tuple[datetime.date, datetime.date]:
    start = datetime.date(year, month, 1)
    following = datetime.date(year + month // 12, month % 12 + 1, 1)
    return start, following - datetime.timedelta(days=1)


def previous_month(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    last_of_previous = today.replace(day=1) - datetime.timedelta(days=1)
    return month_bounds(last_of_previous.year, last_of_previous.month)


MONTHLY_FROM_DAY = 3  # Billbee's late invoices and the payments of the month's end are in


def monthly_reports_schedule(*, today: datetime.date | None = None) -> list[int]:
    """The previous month's report of every active connection, from the 3rd on: created once
    (the unique constraint), and started again while it failed fewer than MONTHLY_ATTEMPTS
    times. Returns the ids of the reports to run."""
    today = today or timezone.localdate()
    if today.day < MONTHLY_FROM_DAY:
        return []
    start, end = previous_month(today)
    due = []
    # A connection started after the month has nothing of it to compare.
    for connection in Connection.objects.filter(is_active=True, start_date__lte=end):
        report, created = _monthly_report_get_or_create(connection, start, end)
        if created or (
            report.status == ReconciliationReport.Status.FAILED
            and report.attempts < MONTHLY_ATTEMPTS
            and _requeue(report)
        ):
            due.append(report.pk)
    return due


def _monthly_report_get_or_create(connection, start, end):
    kind = ReconciliationReport.Kind.MONTHLY
    found = ReconciliationReport.objects.filter(
        connection=connection, kind=kind, period_start=start, period_end=end
    ).first()
    if found is not None:
        return found, False
    try:
        with transaction.atomic():
            return (
                reconciliation_report_create(
                    connection=connection, start=start, end=end, kind=kind
                ),
                True,
            )
    except IntegrityError:  # a concurrent tick created it: the constraint refused the second
        found = ReconciliationReport.objects.filter(
            connection=connection, kind=kind, period_start=start, period_end=end
        ).first()
        if found is None:
            raise
        return found, False


def _requeue(report: ReconciliationReport) -> bool:
    return bool(
        ReconciliationReport.objects.filter(
            pk=report.pk, status=ReconciliationReport.Status.FAILED
        ).update(status=ReconciliationReport.Status.QUEUED, message="")
    )


def reconciliation_reports_reap(*, now: datetime.datetime | None = None) -> int:
    """Reports whose worker died while running: failed, with a message."""
    now = now or timezone.now()
    return ReconciliationReport.objects.filter(
        status=ReconciliationReport.Status.RUNNING, started_at__lt=now - STALE_AFTER
    ).update(
        status=ReconciliationReport.Status.FAILED,
        finished_at=now,
        message=_("The reconciliation was interrupted. Start it again."),
    )


# --- Running a report ----------------------------------------------------------------------


def reconciliation_run(report_id: int) -> ReconciliationReport | None:
    """Make the report: claim it (queued → running, one worker only), read both sides,
    compare, store the rows. Never raises for sevDesk's errors: the report fails with them."""
    claimed = ReconciliationReport.objects.filter(
        pk=report_id, status=ReconciliationReport.Status.QUEUED
    ).update(status=ReconciliationReport.Status.RUNNING, started_at=timezone.now())
    report = ReconciliationReport.objects.select_related("connection").filter(pk=report_id).first()
    if not claimed or report is None:
        return report
    ReconciliationReport.objects.filter(pk=report.pk).update(
        attempts=report.attempts + 1, pages_read=0, vouchers_read=0, message=""
    )
    try:
        _run(report)
    except SevdeskError as exc:
        _fail(report, _sevdesk_failure_message(exc))
    except Exception:
        logger.exception("reconciliation report %s failed", report.pk)
        _fail(report, _("An internal error stopped the reconciliation. Start it again later."))
    report.refresh_from_db()
    return report


def _run(report: ReconciliationReport) -> None:
    connection = report.connection
    billbee = billbee_side(connection=connection, start=report.period_start, end=report.period_end)
    ReconciliationReport.objects.filter(pk=report.pk).update(documents=len(billbee))
    vouchers = _vouchers_read(report, connection)
    comparison = reconciliation_compare(connection=connection, billbee=billbee, vouchers=vouchers)
    with transaction.atomic():
        report.rows.all().delete()
        for start in range(0, len(comparison.rows), ROWS_BATCH):
            batch = comparison.rows[start : start + ROWS_BATCH]
            for row in batch:
                row.report = report
            ReconciliationRow.objects.bulk_create(batch)
        ReconciliationReport.objects.filter(pk=report.pk).update(
            status=ReconciliationReport.Status.DONE,
            finished_at=timezone.now(),
            rows_total=len(comparison.rows),
            deviations=comparison.summary["deviations"],
            summary=comparison.summary,
        )


def _vouchers_read(report: ReconciliationReport, connection: Connection) -> list[VoucherSummary]:
    client = sevdesk_client_for(token=connection.api_token)
    vouchers: list[VoucherSummary] = []
    pages = client.list_vouchers(
        start_date=report.period_start, end_date=report.period_end, page_size=PAGE_SIZE
    )
    for number, page in enumerate(pages, start=1):
        vouchers += page
        ReconciliationReport.objects.filter(pk=report.pk).update(
            pages_read=number, vouchers_read=len(vouchers)
        )
    return vouchers


def _fail(report: ReconciliationReport, message: str) -> None:
    ReconciliationReport.objects.filter(pk=report.pk).update(
        status=ReconciliationReport.Status.FAILED, finished_at=timezone.now(), message=message
    )


def _sevdesk_failure_message(exc: SevdeskError) -> str:
    if isinstance(exc, SevdeskAuthenticationFailed):
        return _(
            "sevDesk rejected the connection's API token; nothing could be compared. Check the "
            "token on the connection's page, then start the reconciliation again."
        )
    if isinstance(exc, SevdeskRateLimited):
        seconds = int(exc.retry_after or 60)
        return _(
            "sevDesk asked us to send fewer requests. Start the reconciliation again in "
            "%(seconds)s seconds."
        ) % {"seconds": max(seconds, 1)}
    if isinstance(exc, SevdeskTemporaryError):
        return _(
            "sevDesk is not reachable at the moment (%(reason)s). Start the reconciliation "
            "again later."
        ) % {"reason": exc.message}
    if isinstance(exc, SevdeskRejected):
        return _("sevDesk refused to list the vouchers: %(reason)s") % {"reason": exc.message}
    return _("sevDesk could not be read: %(reason)s") % {"reason": exc.message}


# --- Comparing -----------------------------------------------------------------------------


@dataclass
class Comparison:
    rows: list[ReconciliationRow]
    summary: dict = field(default_factory=dict)


def reconciliation_compare(
    *, connection: Connection, billbee: list[BillbeeSide], vouchers: list[VoucherSummary]
) -> Comparison:
    """The rows and the summary; pure computation apart from one look-up of the numbers of
    unknown vouchers among the merchant's other Billbee documents."""
    by_number: dict[str, list[VoucherSummary]] = defaultdict(list)
    for voucher in sorted(vouchers, key=lambda v: v.id):
        by_number[voucher.description].append(voucher)
    known = {side.number for side in billbee}
    rows = [_document_row(connection, side, by_number.get(side.number, [])) for side in billbee]
    unknown = [v for v in vouchers if v.description not in known]
    elsewhere = billbee_documents_named(
        merchant=connection.merchant, numbers={v.description for v in unknown if v.description}
    )
    rows += [
        _unknown_row(voucher, by_number[voucher.description], elsewhere)
        for voucher in sorted(unknown, key=lambda v: (v.description, v.id))
    ]
    return Comparison(rows=rows, summary=_summary(billbee, vouchers, rows, by_number))


def _document_row(
    connection: Connection, side: BillbeeSide, found: list[VoucherSummary]
) -> ReconciliationRow:
    export = side.export
    row = ReconciliationRow(
        number=side.number,
        document_type=side.document.type,
        billbee_date=side.voucher_date,
        billbee_gross=side.gross,
        expected_paid=side.booked_paid,
        export_status=export.status if export else "",
        export_message=export.message if export else "",
        export_voucher_id=export.voucher_id if export else None,
    )
    flags, notes = [], []
    if not side.exported:
        flags.append(Flag.NOT_EXPORTED)
        notes.append(side.not_exported_reason)
    if not found:
        if side.exported:
            flags.append(Flag.MISSING)
            notes.append(
                _(
                    "Our export created voucher %(voucher)s, but sevDesk lists no voucher "
                    "“%(number)s” dated in this period."
                )
                % {"voucher": export.voucher_id, "number": side.number}
            )
        return _with_flags(row, flags, notes)
    voucher = _matched(found, export)
    _voucher_fill(row, voucher)
    row.other_voucher_ids = [v.id for v in found if v.id != voucher.id]
    if row.other_voucher_ids:
        flags.append(Flag.DUPLICATE)
        notes.append(
            _("sevDesk holds %(count)s vouchers with this number: %(ids)s.")
            % {"count": len(found), "ids": ", ".join(str(v.id) for v in found)}
        )
    if cents(voucher.sum_gross) != side.gross:
        flags.append(Flag.AMOUNT)
    if voucher.voucher_date != side.voucher_date:
        flags.append(Flag.DATE)
    paid_in_sevdesk = cents(voucher.paid_amount) or Decimal(0)
    if (
        connection.billbee_reconciles
        and side.exported
        and paid_in_sevdesk != (side.booked_paid or Decimal(0))
    ):
        flags.append(Flag.PAYMENT)
    return _with_flags(row, flags, notes)


def _matched(found: list[VoucherSummary], export) -> VoucherSummary:
    """Of several vouchers with the number, the one our export created, else the first."""
    if export is not None and export.voucher_id:
        for voucher in found:
            if voucher.id == export.voucher_id:
                return voucher
    return found[0]


def _voucher_fill(row: ReconciliationRow, voucher: VoucherSummary) -> None:
    row.voucher_id = voucher.id
    row.voucher_date = voucher.voucher_date
    row.voucher_gross = cents(voucher.sum_gross)
    row.voucher_paid = cents(voucher.paid_amount)
    row.voucher_status = voucher.status


def _unknown_row(
    voucher: VoucherSummary, same_number: list[VoucherSummary], elsewhere: dict
) -> ReconciliationRow:
    row = ReconciliationRow(number=voucher.description)
    _voucher_fill(row, voucher)
    flags, notes = [Flag.UNKNOWN], []
    document = elsewhere.get(voucher.description)
    if document is not None:
        notes.append(
            _(
                "Billbee has a document with this number (%(date)s), but not among what this "
                "connection sends in this period."
            )
            % {"date": document.invoice_date.strftime("%d.%m.%Y") if document.invoice_date else "–"}
        )
    others = [v.id for v in same_number if v.id != voucher.id]
    if others:
        row.other_voucher_ids = others
        flags.append(Flag.DUPLICATE)
    return _with_flags(row, flags, notes)


def _with_flags(row: ReconciliationRow, flags: list[str], notes: list[str]) -> ReconciliationRow:
    row.flags = [str(flag) for flag in flags]
    row.has_flags = bool(flags)
    row.note = " ".join(note for note in notes if note)
    return row


# --- Summary -------------------------------------------------------------------------------


def _summary(billbee, vouchers, rows, by_number) -> dict:
    counts = {str(flag): 0 for flag in Flag}
    for row in rows:
        for flag in row.flags:
            counts[flag] += 1
    billbee_rates = _billbee_rates(billbee)
    sevdesk_rates = _sevdesk_rates(billbee, vouchers)
    rates = sorted(
        (set(billbee_rates) | set(sevdesk_rates)) - {UNKNOWN_RATE}, key=Decimal, reverse=True
    )
    if UNKNOWN_RATE in billbee_rates or UNKNOWN_RATE in sevdesk_rates:
        rates.append(UNKNOWN_RATE)
    table = []
    for rate in rates:
        left = billbee_rates.get(rate)
        right = sevdesk_rates.get(rate)
        table.append(
            {
                "rate": rate,
                "billbee": _text(left),
                "sevdesk": _text(right),
                "difference": _text((right or Decimal(0)) - (left or Decimal(0))),
            }
        )
    billbee_total = sum((side.gross for side in billbee), Decimal(0))
    sevdesk_total = sum((cents(v.sum_gross) or Decimal(0) for v in vouchers), Decimal(0))
    return {
        "documents": len(billbee),
        "vouchers": len(vouchers),
        "matched": sum(1 for side in billbee if side.number in by_number),
        "deviations": sum(1 for row in rows if row.has_flags),
        "flags": counts,
        "rates": table,
        "billbee_total": _text(billbee_total),
        "sevdesk_total": _text(sevdesk_total),
        "difference": _text(sevdesk_total - billbee_total),
    }


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(cents(amount))


def _rate_key(value) -> str:
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except (ArithmeticError, ValueError):
        return UNKNOWN_RATE


def _billbee_rates(billbee: list[BillbeeSide]) -> dict[str, Decimal]:
    """Gross per rate from the documents' positions and fees; a document without any counts
    under "unknown" with its total, and so does what they leave of its total."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for side in billbee:
        parts = [(p.get("vat_rate"), p.get("total_gross")) for p in side.document.positions or []]
        parts += [(f.get("vat_rate"), f.get("gross")) for f in side.document.fees or []]
        rest = side.gross
        for rate, gross in parts:
            if gross in (None, ""):
                continue
            key = UNKNOWN_RATE if rate in (None, "") else _rate_key(rate)
            sums[key] += Decimal(str(gross))
            rest -= Decimal(str(gross))
        if cents(rest):
            sums[UNKNOWN_RATE] += rest
    return {key: cents(value) for key, value in sums.items()}


def _sevdesk_rates(billbee: list[BillbeeSide], vouchers: list[VoucherSummary]) -> dict:
    """Gross per rate as our export sent it, for the vouchers that are provably ours and
    unchanged in sevDesk (same id, same gross); every other voucher under "unknown"."""
    sent = {
        side.export.voucher_id: side.export
        for side in billbee
        if side.exported and side.export.frozen_payload
    }
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for voucher in vouchers:
        export = sent.get(voucher.id)
        gross = cents(voucher.sum_gross) or Decimal(0)
        if export is not None and cents(export.voucher_gross) == gross:
            for position in export.frozen_payload.get("voucherPosSave") or []:
                sums[_rate_key(position.get("taxRate"))] += Decimal(str(position["sumGross"]))
        else:
            sums[UNKNOWN_RATE] += gross
    return {key: cents(value) for key, value in sums.items()}
