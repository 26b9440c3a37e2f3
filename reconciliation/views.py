"""The reconciliation pages: a connection's reports with "Jetzt prüfen", a report with its
progress, rows and totals, and its downloads (CSV, PDF)."""

from decimal import Decimal

from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import number_format
from django.views.decorators.http import require_GET, require_http_methods

from connections.models import Connection
from reconciliation.downloads import (
    export_label,
    flag_labels,
    rate_label,
    report_csv,
    report_filename,
    report_pdf,
    type_label,
    voucher_status_label,
)
from reconciliation.forms import ReconciliationForm
from reconciliation.models import Flag, ReconciliationReport
from reconciliation.selectors import report_rows, reports_of
from reconciliation.services import reconciliation_report_create
from reconciliation.tasks import run_report

ROWS_PER_PAGE = 200


@require_http_methods(["GET", "POST"])
def connection_reports(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection.objects.for_merchant(request.merchant), pk=pk)
    form = ReconciliationForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        report = reconciliation_report_create(
            connection=connection,
            start=form.cleaned_data["start"],
            end=form.cleaned_data["end"],
            user=request.user,
        )
        transaction.on_commit(lambda: run_report.delay(report.pk))
        return redirect("reconciliation:report_detail", pk=report.pk)
    page = Paginator(reports_of(connection=connection), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "reconciliation/connection_reports.html",
        {"connection": connection, "form": form, "page": page},
    )


connection_reports.model = Connection


def _own_report(request: HttpRequest, pk: int) -> ReconciliationReport:
    reports = ReconciliationReport.objects.for_merchant(request.merchant)
    return get_object_or_404(reports.select_related("connection"), pk=pk)


@require_GET
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = _own_report(request, pk)
    if request.headers.get("Accept") == "application/json" or request.GET.get("format") == "json":
        return JsonResponse(_progress(report))
    deviations_only = request.GET.get("only") == "deviations"
    page = Paginator(
        report_rows(report=report, deviations_only=deviations_only), ROWS_PER_PAGE
    ).get_page(request.GET.get("page"))
    for row in page:
        row.flag_labels = flag_labels(row)
        row.type_label = type_label(row)
        row.export_label = export_label(row)
        row.voucher_status_label = voucher_status_label(row)
    summary = report.summary or {}
    rates = [
        {**line, "label": rate_label(line["rate"])}
        | _amounts(line, "billbee", "sevdesk", "difference")
        for line in summary.get("rates", [])
    ]
    return render(
        request,
        "reconciliation/report_detail.html",
        {
            "report": report,
            "connection": report.connection,
            "progress": _progress(report),
            "page": page,
            "deviations_only": deviations_only,
            "summary": summary,
            "totals": _amounts(summary, "billbee_total", "sevdesk_total", "difference"),
            "rates": rates,
            "flag_counts": _flag_counts(summary),
        },
    )


report_detail.model = ReconciliationReport


def _amounts(values: dict, *keys: str) -> dict[str, str]:
    """The amounts as the page's language writes them ("1.234,56"), a dash where unknown."""
    return {
        f"{key}_text": "–"
        if values.get(key) is None
        else number_format(Decimal(values[key]), 2, force_grouping=True)
        for key in keys
    }


def _flag_counts(summary: dict) -> list[tuple[str, str, int]]:
    counts = summary.get("flags", {})
    return [(flag.value, flag.label, counts.get(flag.value, 0)) for flag in Flag]


def _progress(report: ReconciliationReport) -> dict:
    return {
        "status": report.status,
        "status_display": report.get_status_display(),
        "finished": report.finished,
        "pages_read": report.pages_read,
        "vouchers_read": report.vouchers_read,
        "documents": report.documents,
        "rows": report.rows_total,
        "deviations": report.deviations,
        "message": report.message,
    }


@require_GET
def report_csv_download(request: HttpRequest, pk: int) -> HttpResponse:
    report = _own_report(request, pk)
    content = report_csv(report, deviations_only=request.GET.get("only") == "deviations")
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{report_filename(report, "csv")}"'
    return response


report_csv_download.model = ReconciliationReport


@require_GET
def report_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    report = _own_report(request, pk)
    response = HttpResponse(report_pdf(report), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{report_filename(report, "pdf")}"'
    return response


report_pdf_download.model = ReconciliationReport
