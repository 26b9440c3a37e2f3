"""Reads of the reconciliation: Billbee's side of a period, and the reports."""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from connections.models import Connection
from exports.mapping import berlin_date
from exports.models import OrderExport, PaymentBooking
from exports.selectors import (
    VOUCHER_DATE_FIELD,
    connection_orders,
    credit_notes_to_export,
    eligibility,
    start_of_day,
)
from orders.models import BillbeeDocument
from reconciliation.models import ReconciliationReport, ReconciliationRow

CENT = Decimal("0.01")


def cents(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class BillbeeSide:
    """One Billbee document the connection sends, with our export's state of it."""

    document: BillbeeDocument
    voucher_date: datetime.date | None  # the date its voucher carries (or will carry)
    gross: Decimal
    export: OrderExport | None
    booked_paid: Decimal | None  # what our export booked onto the voucher (None: nothing yet)
    not_exported_reason: str = ""

    @property
    def number(self) -> str:
        return self.document.number

    @property
    def exported(self) -> bool:
        return self.export is not None and self.export.voucher_id is not None


def connection_documents(*, connection: Connection) -> QuerySet[BillbeeDocument]:
    """Billbee's invoices and credit notes the connection sends, as the export decides it:
    invoices of its orders (`connection_orders`), credit notes it books
    (`credit_notes_to_export`), and whatever it has already taken up (its export rows), even
    where the order has since left its states or shops."""
    invoice_exports = OrderExport.objects.filter(
        connection=connection, order_id=OuterRef("order_id"), document__isnull=True
    )
    note_exports = OrderExport.objects.filter(connection=connection, document=OuterRef("pk"))
    invoices = Q(type=BillbeeDocument.Type.INVOICE) & (
        Q(order__in=connection_orders(connection=connection)) | Q(Exists(invoice_exports))
    )
    notes = Q(type=BillbeeDocument.Type.CREDIT_NOTE) & (
        Q(pk__in=credit_notes_to_export(connection=connection).values("pk"))
        | Q(Exists(note_exports))
    )
    return BillbeeDocument.objects.filter(merchant=connection.merchant).filter(invoices | notes)


def _basis_moment(connection: Connection, document: BillbeeDocument) -> datetime.datetime | None:
    """The moment the voucher's date is taken from, as the export takes it: the connection's
    voucher date basis (an invoice from its order, a credit note from its own dates)."""
    basis = connection.voucher_date_basis
    if document.type == BillbeeDocument.Type.CREDIT_NOTE:
        if basis == Connection.VoucherDateBasis.PAYMENT_DATE:
            return document.pay_date or document.invoice_date
        return document.invoice_date
    moment = getattr(document.order, VOUCHER_DATE_FIELD[basis]) if document.order else None
    return moment or document.invoice_date


def _in_period_filter(connection: Connection, start: datetime.date, end: datetime.date) -> Q:
    """A superset of the period's documents in SQL (each is checked exactly afterwards)."""
    window = {"gte": start_of_day(start), "lt": start_of_day(end + datetime.timedelta(days=1))}

    def between(field: str) -> Q:
        return Q(**{f"{field}__{op}": value for op, value in window.items()})

    basis = connection.voucher_date_basis
    candidates = between("invoice_date") | between("order__" + VOUCHER_DATE_FIELD[basis])
    if basis == Connection.VoucherDateBasis.PAYMENT_DATE:
        candidates |= between("pay_date")
    frozen = OrderExport.objects.filter(
        Q(document=OuterRef("pk")) | Q(document__isnull=True, order_id=OuterRef("order_id")),
        connection=connection,
        voucher_date__gte=start,
        voucher_date__lte=end,
    )
    return candidates | Q(Exists(frozen))


def billbee_side(
    *, connection: Connection, start: datetime.date, end: datetime.date
) -> list[BillbeeSide]:
    """Every document of the period the connection sends, with our export's state.

    A document belongs to the period when the date its voucher carries falls into it: the
    date our export froze when it sent the voucher, else the date the connection's voucher
    date basis gives (for the default, the invoice date). Queries: a fixed handful, whatever
    the number of documents.
    """
    documents = list(
        connection_documents(connection=connection)
        .filter(_in_period_filter(connection, start, end))
        .select_related("order")
        # Billbee's full documents (raw) are for audit; 10,000 of them need not be in memory.
        .defer("raw", "order__raw", "order__invoice_address")
        .order_by("number", "pk")
    )
    exports = _exports_of(connection, documents)
    booked = _booked_payments(exports.values())
    rows = []
    for document in documents:
        export = exports.get(_export_key(document))
        day = export.voucher_date if export and export.voucher_date else None
        day = day or berlin_date(_basis_moment(connection, document))
        if day is None or not start <= day <= end:
            continue
        rows.append(
            BillbeeSide(
                document=document,
                voucher_date=day,
                gross=cents(document.total_gross),
                export=export,
                booked_paid=booked.get(export.pk) if export else None,
            )
        )
    for row in rows:
        if not row.exported:
            row.not_exported_reason = _not_exported_reason(connection, row)
    return rows


def _export_key(document: BillbeeDocument) -> tuple:
    if document.type == BillbeeDocument.Type.CREDIT_NOTE:
        return ("document", document.pk)
    return ("order", document.order_id)


def _exports_of(connection: Connection, documents: list[BillbeeDocument]) -> dict:
    order_ids = {d.order_id for d in documents if d.type == BillbeeDocument.Type.INVOICE}
    note_ids = {d.pk for d in documents if d.type == BillbeeDocument.Type.CREDIT_NOTE}
    found = OrderExport.objects.filter(connection=connection).filter(
        Q(document__isnull=True, order_id__in=order_ids) | Q(document_id__in=note_ids)
    )
    return {
        ("document", e.document_id) if e.document_id else ("order", e.order_id): e for e in found
    }


def _booked_payments(exports) -> dict[int, Decimal]:
    """What each export booked onto its voucher: its booked payments, or (exports from before
    payments were booked one by one) the amount it recorded."""
    ids = [export.pk for export in exports]
    sums = dict(
        PaymentBooking.objects.filter(export_id__in=ids, status=PaymentBooking.Status.BOOKED)
        .values_list("export_id")
        .annotate(total=Sum("amount"))
        .values_list("export_id", "total")
    )
    for export in exports:
        if export.pk not in sums and export.payment_booked_at and export.payment_amount:
            sums[export.pk] = export.payment_amount
    return {pk: cents(total) for pk, total in sums.items()}


def _not_exported_reason(connection: Connection, row: BillbeeSide) -> str:
    """Why there is no voucher yet, in the export's own words where it has any."""
    export = row.export
    if export is not None:
        text = export.message or export.get_problem_display() or export.get_status_display()
        return f"{export.get_status_display()}: {text}" if export.message else text
    order = row.document.order
    if row.document.type == BillbeeDocument.Type.INVOICE and order is not None:
        reasons = eligibility(connection=connection, order=order)
        broken = [reason.failed for reason in reasons if not reason.ok]
        if broken:
            return "; ".join(broken)
    return _("Not taken up by an export yet; the next export run does.")


def billbee_documents_named(*, merchant, numbers: set[str]) -> dict[str, BillbeeDocument]:
    """The merchant's Billbee documents with these numbers (any connection, any date)."""
    found = BillbeeDocument.objects.filter(merchant=merchant, number__in=numbers)
    return {document.number: document for document in found.order_by("invoice_date")}


# --- Reports -------------------------------------------------------------------------------


def reports_of(*, connection: Connection) -> QuerySet[ReconciliationReport]:
    return ReconciliationReport.objects.filter(connection=connection).order_by("-created_at", "-id")


def latest_monthly_report_for(connection: Connection) -> ReconciliationReport | None:
    """The newest monthly report of the connection (any status), for the dashboard."""
    return (
        ReconciliationReport.objects.filter(
            connection=connection, kind=ReconciliationReport.Kind.MONTHLY
        )
        .order_by("-period_start", "-id")
        .first()
    )


def report_rows(
    *, report: ReconciliationReport, deviations_only: bool = False
) -> QuerySet[ReconciliationRow]:
    """The flagged rows first, then by number."""
    rows = report.rows.all()
    if deviations_only:
        rows = rows.filter(has_flags=True)
    return rows.order_by("-has_flags", "number", "id")
