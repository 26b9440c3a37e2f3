"""Export log per connection, the manual export from the order list, and run progress."""

import re
from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from connections.models import Connection
from core.links import sevdesk_voucher_url
from exports.forms import ManualExportForm
from exports.models import ExportRun, OrderExport
from exports.selectors import OUTCOMES, export_counts, export_log, period_start, retry_offer
from exports.services import export_retry, export_run_create
from exports.tasks import run_manual
from merchants.permissions import refusal
from orders.forms import OrderFilterForm
from orders.models import Order
from orders.selectors import orders_filtered


@require_GET
def connection_export_log(request: HttpRequest, pk: int) -> HttpResponse:
    """The connection's exports, newest change first. Filters (query string, combinable):
    ``status`` and ``problem`` (the model's values), ``outcome`` (a bucket of
    ``exports.selectors.OUTCOMES``: exported, credit_notes, payment_open, waiting_invoice,
    waiting_payment, oss, needs_action, retry, skipped) and ``period`` (today, month: exported
    or last changed since, German calendar); the dashboard's tiles link here."""
    connection = get_object_or_404(Connection.objects.for_merchant(request.merchant), pk=pk)
    status = request.GET.get("status", "")
    problem = request.GET.get("problem", "")
    outcome = request.GET.get("outcome", "")
    period = request.GET.get("period", "")
    if (
        status not in ["", *OrderExport.Status.values]
        or problem not in OrderExport.Problem.values
        or outcome not in ["", *OUTCOMES]
        or period not in ("", "today", "month")
    ):
        return refusal(request, _("The export log has no such filter."), status=400)
    exports = export_log(
        connection=connection,
        status=status,
        problem=problem,
        outcome=outcome,
        since=period_start(period),
    )
    page = Paginator(exports, 50).get_page(request.GET.get("page"))
    for export in page:
        export.voucher_url = sevdesk_voucher_url(export.voucher_id)
        export.retry = retry_offer(export)
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
            "outcome": outcome,
            "period": period,
            "runs": connection.export_runs.all()[:5],
        },
    )


connection_export_log.model = Connection


@require_POST
def order_export_retry(request: HttpRequest, pk: int) -> HttpResponse:
    export = get_object_or_404(OrderExport.objects.for_merchant(request.merchant), pk=pk)
    if export_retry(export=export):
        messages.success(request, _("The order is being sent again now."))
        transaction.on_commit(lambda: _enqueue_connection_run(export.connection_id))
    else:
        messages.warning(
            request,
            _("Sending it again would not help here; what to do is next to the order."),
        )
    return redirect("exports:connection_export_log", pk=export.connection_id)


order_export_retry.model = OrderExport


def _enqueue_connection_run(connection_id: int) -> None:
    from exports.tasks import run_connection

    run_connection.delay(connection_id)


# One manual run takes at most this many orders ("all matching the filter" included): the
# run stores their ids and its progress page reads them. Above it the merchant narrows the
# filter and exports in parts.
MANUAL_EXPORT_LIMIT = 50_000
PREVIEW_ROWS = 20


class ChoiceUnreadable(Exception):
    """The posted choice of orders is not one the order list sends (crafted or outdated)."""


@dataclass(frozen=True)
class ChosenOrders:
    """What "An sevDesk exportieren" was asked for: ticked orders, or the list's filter.

    "All matching the filter" travels as the filter (the order list's query string) and is
    resolved here, never as one field per order: a form with more than 1,000 fields is
    refused by Django before any view sees it.
    """

    orders: QuerySet[Order]
    all_matching: bool
    query: str = ""


def _chosen_orders(request: HttpRequest) -> ChosenOrders:
    if request.POST.get("all_matching"):
        query = request.POST.get("query", "")
        form = OrderFilterForm(QueryDict(query), merchant=request.merchant)
        if not form.is_valid():  # an unreadable filter must not widen to every order
            raise ChoiceUnreadable
        orders = orders_filtered(merchant=request.merchant, filters=form.to_filters())
        return ChosenOrders(orders=orders, all_matching=True, query=query)
    ticked = [_order_id(value) for value in request.POST.getlist("order")]
    orders = Order.objects.for_merchant(request.merchant).filter(pk__in=ticked)
    return ChosenOrders(orders=orders, all_matching=False)


ORDER_ID = re.compile(r"[0-9]{1,19}")


def _order_id(value: str) -> int:
    if not ORDER_ID.fullmatch(value) or int(value) > 2**63 - 1:
        raise ChoiceUnreadable
    return int(value)


@require_POST
def manual_export(request: HttpRequest) -> HttpResponse:
    """ "An sevDesk exportieren" on the order list: confirm, then a run in the background."""
    try:
        chosen = _chosen_orders(request)
    except ChoiceUnreadable:
        return refusal(
            request,
            _("The choice of orders could not be read; nothing has been exported."),
            status=400,
        )
    form = ManualExportForm(
        request.POST if "confirm" in request.POST else None, merchant=request.merchant
    )
    count = chosen.orders.count()
    too_many = count > MANUAL_EXPORT_LIMIT
    if form.is_bound and form.is_valid() and count and not too_many:
        order_ids = list(chosen.orders.order_by("pk").values_list("pk", flat=True))
        run = export_run_create(
            connection=form.cleaned_data["connection"],
            kind=ExportRun.Kind.MANUAL,
            order_ids=order_ids,
            tag_orders=form.cleaned_data["tag_orders"],
            user=request.user,
        )
        transaction.on_commit(lambda: run_manual.delay(run.pk))
        return redirect("exports:run_progress", pk=run.pk)
    context = {
        "form": form,
        "chosen": chosen,
        "count": count,
        "orders": list(chosen.orders.order_by("pk")[:PREVIEW_ROWS]),
        # Ticked orders are at most a page of the list: they travel as ids.
        "ticked_ids": []
        if chosen.all_matching
        else list(chosen.orders.values_list("pk", flat=True)),
        "too_many": _too_many_message(count) if too_many else "",
    }
    return render(request, "exports/manual_export.html", context)


def _too_many_message(count: int) -> str:
    return _(
        "%(count)s orders match the filter, more than the %(limit)s one export can take. "
        "Narrow the filter (e.g. by shop, state or export status) and export them in parts."
    ) % {
        "count": number_format(count, force_grouping=True),
        "limit": number_format(MANUAL_EXPORT_LIMIT, force_grouping=True),
    }


@require_GET
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(ExportRun.objects.for_merchant(request.merchant), pk=pk)
    if request.headers.get("Accept") == "application/json" or request.GET.get("format") == "json":
        return JsonResponse(_progress(run))
    return render(request, "exports/run_progress.html", {"run": run, "progress": _progress(run)})


run_progress.model = ExportRun


# The progress page lists this many of a run's orders (the counts cover all of them): a page
# polled every second must not carry 50,000 rows.
PROGRESS_ROWS = 500


def _progress(run: ExportRun) -> dict:
    listed = sorted(run.order_ids)[:PROGRESS_ROWS]
    exports = OrderExport.objects.filter(
        connection_id=run.connection_id, order_id__in=listed, document__isnull=True
    ).select_related("order")
    by_order = {export.order_id: export for export in exports}
    orders = Order.objects.filter(pk__in=listed).order_by("pk")
    return {
        "status": run.status,
        "status_display": run.get_status_display(),
        "finished": run.status in (ExportRun.Status.FINISHED, ExportRun.Status.STOPPED),
        "total": run.total,
        "done": run.done,
        "payment_open": run.payment_open,
        "failed": run.failed,
        "skipped": run.skipped,
        "message": run.message,
        "not_listed": max(len(run.order_ids) - len(listed), 0),
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
