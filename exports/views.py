"""Export log per connection, the manual export from the order list, and run progress."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from connections.models import Connection
from exports.forms import ManualExportForm
from exports.models import ExportRun, OrderExport
from exports.selectors import export_counts, export_log
from exports.services import export_retry, export_run_create
from exports.tasks import run_manual
from orders.forms import OrderFilterForm
from orders.models import Order
from orders.selectors import orders_filtered


def sevdesk_voucher_url(voucher_id: int | None) -> str:
    """Where the merchant sees the voucher: sevDesk itself, or the sandbox's voucher list."""
    if not voucher_id:
        return ""
    if settings.SEVDESK_API_BASE_URL.startswith(settings.SITE_URL + "/sandbox/"):
        return f"{reverse('sandbox:sevdesk:voucher_list')}#voucher-{voucher_id}"
    return f"{settings.SEVDESK_APP_URL}/#/ex/detail/id/{voucher_id}"


@require_GET
def connection_export_log(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection.objects.for_merchant(request.merchant), pk=pk)
    status = request.GET.get("status", "")
    problem = request.GET.get("problem", "")
    page = Paginator(
        export_log(connection=connection, status=status, problem=problem), 50
    ).get_page(request.GET.get("page"))
    for export in page:
        export.voucher_url = sevdesk_voucher_url(export.voucher_id)
    return render(
        request,
        "exports/export_log.html",
        {
            "connection": connection,
            "page": page,
            "counts": export_counts(connection=connection),
            "statuses": OrderExport.Status.choices,
            "status": status,
            "problem": problem,
            "runs": connection.export_runs.all()[:5],
        },
    )


connection_export_log.model = Connection


@require_POST
def order_export_retry(request: HttpRequest, pk: int) -> HttpResponse:
    export = get_object_or_404(OrderExport.objects.for_merchant(request.merchant), pk=pk)
    export_retry(export=export)
    messages.success(request, _("The order will be exported again with the next run."))
    transaction.on_commit(lambda: _enqueue_connection_run(export.connection_id))
    return redirect("exports:connection_export_log", pk=export.connection_id)


order_export_retry.model = OrderExport


def _enqueue_connection_run(connection_id: int) -> None:
    from exports.tasks import run_connection

    run_connection.delay(connection_id)


MANUAL_EXPORT_LIMIT = 5000


def _chosen_orders(request: HttpRequest):
    """The ticked orders, or with "all matching" every order the list's filter shows."""
    if request.POST.get("all_matching"):
        query = QueryDict(request.POST.get("query", ""))
        form = OrderFilterForm(query, merchant=request.merchant)
        return orders_filtered(merchant=request.merchant, filters=form.to_filters())
    ids = [value for value in request.POST.getlist("order") if value.isdigit()]
    return Order.objects.for_merchant(request.merchant).filter(pk__in=ids)


@require_POST
def manual_export(request: HttpRequest) -> HttpResponse:
    """ "An sevDesk exportieren" on the order list: confirm, then a run in the background."""
    orders = list(_chosen_orders(request).order_by("pk")[:MANUAL_EXPORT_LIMIT])
    form = ManualExportForm(
        request.POST if "confirm" in request.POST else None, merchant=request.merchant
    )
    if form.is_bound and form.is_valid() and orders:
        run = export_run_create(
            connection=form.cleaned_data["connection"],
            kind=ExportRun.Kind.MANUAL,
            order_ids=[order.pk for order in orders],
            tag_orders=form.cleaned_data["tag_orders"],
            user=request.user,
        )
        transaction.on_commit(lambda: run_manual.delay(run.pk))
        return redirect("exports:run_progress", pk=run.pk)
    return render(request, "exports/manual_export.html", {"form": form, "orders": orders})


@require_GET
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(ExportRun.objects.for_merchant(request.merchant), pk=pk)
    if request.headers.get("Accept") == "application/json" or request.GET.get("format") == "json":
        return JsonResponse(_progress(run))
    return render(request, "exports/run_progress.html", {"run": run, "progress": _progress(run)})


run_progress.model = ExportRun


def _progress(run: ExportRun) -> dict:
    exports = OrderExport.objects.filter(
        connection_id=run.connection_id, order_id__in=run.order_ids
    ).select_related("order")
    by_order = {export.order_id: export for export in exports}
    orders = Order.objects.filter(pk__in=run.order_ids).order_by("pk")
    return {
        "status": run.status,
        "status_display": run.get_status_display(),
        "finished": run.status in (ExportRun.Status.FINISHED, ExportRun.Status.STOPPED),
        "total": run.total,
        "done": run.done,
        "failed": run.failed,
        "skipped": run.skipped,
        "message": run.message,
        "orders": [
            {
                "order": str(order),
                "invoice_number": order.invoice_number,
                "status": by_order[order.pk].get_status_display() if order.pk in by_order else "",
                "status_code": by_order[order.pk].status if order.pk in by_order else "pending",
                "message": by_order[order.pk].message if order.pk in by_order else "",
            }
            for order in orders
        ],
    }
