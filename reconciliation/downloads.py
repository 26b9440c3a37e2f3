"""The report as the merchant takes it away: CSV for a spreadsheet (German conventions: `;`,
1.234,56, 03.12.2026, UTF-8 with BOM, as Excel opens it), and a PDF for the files."""

import csv
import datetime
import io
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from exports.models import OrderExport
from orders.models import BillbeeDocument
from reconciliation.models import Flag, ReconciliationReport, ReconciliationRow
from reconciliation.selectors import report_rows

# What a voucher's status number means (GET /Voucher's status).
VOUCHER_STATUS = {
    50: gettext_lazy("Draft"),
    100: gettext_lazy("Open"),
    750: gettext_lazy("Partially paid"),
    1000: gettext_lazy("Paid"),
}
PDF_ROWS = 2000


def german_amount(value: Decimal | str | None) -> str:
    """1234.5 → "1.234,50" whatever the page's language: the accountant's spreadsheet."""
    if value in (None, ""):
        return ""
    text = f"{Decimal(value):,.2f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def german_date(value: datetime.date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def rate_label(rate: str) -> str:
    if rate == "unknown":
        return _("unknown")
    return f"{rate.replace('.', ',')} %"


def flag_labels(row: ReconciliationRow) -> list[str]:
    return [str(Flag(flag).label) for flag in row.flags if flag in Flag.values]


def type_label(row: ReconciliationRow) -> str:
    if not row.document_type:
        return _("sevDesk only")
    return str(BillbeeDocument.Type(row.document_type).label)


def export_label(row: ReconciliationRow) -> str:
    if not row.document_type:
        return ""
    if not row.export_status:
        return _("not exported")
    return str(OrderExport.Status(row.export_status).label)


def voucher_status_label(row: ReconciliationRow) -> str:
    if row.voucher_status is None:
        return ""
    return str(VOUCHER_STATUS.get(row.voucher_status, row.voucher_status))


def _headers() -> list[str]:
    return [
        _("Number"),
        _("Type"),
        _("Voucher date (Billbee)"),
        _("Gross (Billbee)"),
        _("Export"),
        _("Voucher of our export"),
        _("sevDesk voucher"),
        _("Voucher date (sevDesk)"),
        _("Gross (sevDesk)"),
        _("Paid (sevDesk)"),
        _("Paid (booked by us)"),
        _("sevDesk status"),
        _("Deviations"),
        _("Note"),
    ]


def _cells(row: ReconciliationRow) -> list[str]:
    return [
        row.number,
        type_label(row),
        german_date(row.billbee_date),
        german_amount(row.billbee_gross),
        export_label(row),
        str(row.export_voucher_id or ""),
        str(row.voucher_id or ""),
        german_date(row.voucher_date),
        german_amount(row.voucher_gross),
        german_amount(row.voucher_paid),
        german_amount(row.expected_paid),
        voucher_status_label(row),
        ", ".join(flag_labels(row)),
        row.note,
    ]


def report_csv(report: ReconciliationReport, *, deviations_only: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(_headers())
    for row in report_rows(report=report, deviations_only=deviations_only).iterator(2000):
        writer.writerow(_cells(row))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def report_filename(report: ReconciliationReport, extension: str) -> str:
    return f"abstimmung-{report.period_start:%Y-%m-%d}-{report.period_end:%Y-%m-%d}.{extension}"


def report_pdf(report: ReconciliationReport) -> bytes:
    """Summary, totals per rate and the deviations (at most PDF_ROWS; the CSV has all)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7, leading=8)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=_("Reconciliation Billbee – sevDesk"),
    )
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ("FONTSIZE", (0, 0), (-1, -1), 7),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    summary = report.summary or {}
    story = [
        Paragraph(_("Reconciliation Billbee – sevDesk"), styles["Title"]),
        Paragraph(
            _("Connection “%(connection)s”, %(start)s – %(end)s")
            % {
                "connection": report.connection.name,
                "start": german_date(report.period_start),
                "end": german_date(report.period_end),
            },
            styles["BodyText"],
        ),
        Paragraph(
            _(
                "%(documents)s Billbee documents, %(vouchers)s sevDesk vouchers, "
                "%(deviations)s rows with deviations."
            )
            % {
                "documents": summary.get("documents", 0),
                "vouchers": summary.get("vouchers", 0),
                "deviations": summary.get("deviations", 0),
            },
            styles["BodyText"],
        ),
        Spacer(1, 4 * mm),
        Paragraph(_("Totals per VAT rate (gross)"), styles["Heading3"]),
    ]
    totals = [[_("VAT rate"), _("Billbee"), _("sevDesk"), _("Difference")]]
    for line in summary.get("rates", []):
        totals.append(
            [
                rate_label(line["rate"]),
                german_amount(line["billbee"]),
                german_amount(line["sevdesk"]),
                german_amount(line["difference"]),
            ]
        )
    totals.append(
        [
            _("Total"),
            german_amount(summary.get("billbee_total")),
            german_amount(summary.get("sevdesk_total")),
            german_amount(summary.get("difference")),
        ]
    )
    story += [Table(totals, style=grid, hAlign="LEFT"), Spacer(1, 4 * mm)]
    story.append(Paragraph(_("Deviations"), styles["Heading3"]))
    flagged = list(report_rows(report=report, deviations_only=True)[: PDF_ROWS + 1])
    header = [_("Number"), _("Type"), _("Billbee"), _("sevDesk"), _("Deviations"), _("Note")]
    lines = [header]
    for row in flagged[:PDF_ROWS]:
        lines.append(
            [
                row.number,
                type_label(row),
                f"{german_date(row.billbee_date)} {german_amount(row.billbee_gross)}".strip(),
                f"{german_date(row.voucher_date)} {german_amount(row.voucher_gross)}".strip(),
                Paragraph(", ".join(flag_labels(row)), small),
                Paragraph(row.note, small),
            ]
        )
    if len(lines) == 1:
        story.append(Paragraph(_("No deviations."), styles["BodyText"]))
    else:
        widths = [35 * mm, 25 * mm, 35 * mm, 35 * mm, 50 * mm, 90 * mm]
        story.append(Table(lines, colWidths=widths, style=grid, repeatRows=1, hAlign="LEFT"))
    if len(flagged) > PDF_ROWS:
        story.append(
            Paragraph(
                _("Only the first %(count)s deviations are listed; the CSV has all of them.")
                % {"count": PDF_ROWS},
                styles["BodyText"],
            )
        )
    document.build(story)
    return buffer.getvalue()
