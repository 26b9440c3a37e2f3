"""The merchant's screens: Billbee setup, the order list and one order."""

import json
import logging
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django.views.generic import DetailView

from core.links import sevdesk_voucher_url
from orders import extensions, selectors, services, webhooks
from orders.billbee_client import BillbeeError
from orders.enums import payment_type_name
from orders.forms import BillbeeAccountForm, OrderFilterForm, masked
from orders.models import BillbeeAccount, Order

logger = logging.getLogger(__name__)

ORDERS_PER_PAGE = 50
MAX_PAGE = 1_000_000  # 50 million orders: further pages exist only in crafted URLs


def _account_initial(account: BillbeeAccount | None) -> dict:
    if account is None:
        return {"sync_enabled": True}
    return {
        "username": account.username,
        "sync_since": account.sync_since,
        "sync_enabled": account.sync_enabled,
    }


@require_http_methods(["GET", "POST"])
def billbee_account(request: HttpRequest) -> HttpResponse:
    if request.merchant is None:
        raise Http404
    account = selectors.billbee_account_of(merchant=request.merchant)
    if request.method == "POST" and request.POST.get("action") == "sync":
        return _sync_now(request, account)
    if request.method == "POST" and request.POST.get("action") in {"webhook_on", "webhook_off"}:
        return _webhook_switch(request, account, on=request.POST["action"] == "webhook_on")
    form = BillbeeAccountForm(
        request.POST or None, account=account, initial=_account_initial(account)
    )
    if request.method == "POST" and form.is_valid():
        account = services.billbee_account_save(merchant=request.merchant, **form.cleaned_data)
        if request.POST.get("action") == "test":
            result = services.billbee_account_test(account=account)
            messages.add_message(
                request, messages.SUCCESS if result.ok else messages.ERROR, result.message
            )
        else:
            messages.success(request, _("Billbee account saved."))
        return redirect("orders:billbee_account")
    context = {
        "form": form,
        "account": account,
        "masked_api_key": masked(account.api_key) if account else "",
        "masked_api_password": masked(account.api_password) if account else "",
        "runs": selectors.sync_runs_recent(account=account) if account else [],
        "rejections": selectors.sync_rejections_open(account=account) if account else None,
        "webhooks_off_reason": webhooks.webhooks_unavailable_reason(),
        "usage": selectors.api_usage_for(account=account) if account else None,
        "sync_minutes": (
            int(services.sync_interval(account=account).total_seconds() // 60) if account else None
        ),
    }
    return render(request, "orders/billbee_account.html", context)


def _sync_now(request: HttpRequest, account: BillbeeAccount | None) -> HttpResponseRedirect:
    from orders.tasks import sync_account

    if account is None:
        messages.error(request, _("Set up the Billbee account first."))
    else:
        transaction.on_commit(lambda: sync_account.delay(account.pk))
        messages.success(request, _("Sync started; the runs below show its progress."))
    return redirect("orders:billbee_account")


def _webhook_switch(
    request: HttpRequest, account: BillbeeAccount | None, *, on: bool
) -> HttpResponseRedirect:
    if account is None:
        messages.error(request, _("Set up the Billbee account first."))
    elif on and webhooks.webhooks_unavailable_reason():
        messages.error(request, webhooks.webhooks_unavailable_reason())
    else:
        try:
            if on:
                webhooks.webhook_enable(account=account)
                messages.success(request, _("Real-time notifications are on."))
            else:
                webhooks.webhook_disable(account=account)
                messages.success(request, _("Real-time notifications are off."))
        except BillbeeError as error:
            messages.error(
                request,
                _("Billbee did not take the change: %(error)s")
                % {"error": services.billbee_error_message(error)},
            )
    return redirect("orders:billbee_account")


def _page_number(request: HttpRequest) -> int:
    """The list's page: anything but ASCII digits is the first page, a page beyond any
    merchant's order count is not found (its offset would overflow the database's LIMIT)."""
    raw = request.GET.get("page", "")
    if not (raw.isascii() and raw.isdigit()):  # "²" and "٣" are digits to Python's int()
        return 1
    if len(raw) > len(str(MAX_PAGE)) or int(raw) > MAX_PAGE:
        raise Http404(_("There is no such page of orders."))
    return max(int(raw), 1)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# The sevDesk column's badges: a word or two (the full status is the badge's title).
EXPORT_STATUS_SHORT = {
    "pending": gettext_lazy("Pending"),
    "in_progress": gettext_lazy("Running"),
    "voucher_created": gettext_lazy("Voucher created"),
    "paid": gettext_lazy("Paid"),
    "done": gettext_lazy("Done"),
    "retry": gettext_lazy("Will retry"),
    "needs_action": gettext_lazy("Action needed"),
    "skipped": gettext_lazy("Skipped"),
}


@dataclass(frozen=True)
class ExportBadge:
    status: str
    short: str
    label: str


def _export_badges(orders: list[Order], connections: list) -> None:
    """Each order gets ``sevdesk_badges``: one per connection (None: not exported there)."""
    statuses = selectors.invoice_export_statuses(orders=orders, connections=connections)
    labels = dict(OrderFilterForm.export_status_choices)
    for order in orders:
        order.sevdesk_badges = []
        for sevdesk in connections:
            status = statuses.get((order.pk, sevdesk.pk))
            order.sevdesk_badges.append(
                ExportBadge(
                    status=status,
                    short=EXPORT_STATUS_SHORT.get(status, labels.get(status, status)),
                    label=labels.get(status, status),
                )
                if status
                else None
            )


def order_list(request: HttpRequest) -> HttpResponse:
    form = OrderFilterForm(request.GET or None, merchant=request.merchant)
    orders = selectors.orders_filtered(merchant=request.merchant, filters=form.to_filters())
    page = _page_number(request)
    rows, has_next = selectors.orders_page(orders=orders, page=page, per_page=ORDERS_PER_PAGE)
    total = selectors.orders_total(
        orders=orders, page=page, per_page=ORDERS_PER_PAGE, shown=len(rows), has_next=has_next
    )
    sevdesk_connections = selectors.sevdesk_connections_of(merchant=request.merchant)
    _export_badges(rows, sevdesk_connections)
    context = {
        "form": form,
        "orders": rows,
        "total": total,
        "sevdesk_connections": sevdesk_connections,
        "column_count": 10 + len(sevdesk_connections),
        "page": page,
        "has_next": has_next,
        "has_previous": page > 1,
        "query": _query_without_page(request),
        **extensions.order_list_context(request, rows),
    }
    return render(request, "orders/order_list.html", context)


class OrderDetailView(DetailView):
    model = Order
    template_name = "orders/order_detail.html"
    context_object_name = "order"

    def get_queryset(self):
        return (
            Order.objects.for_merchant(self.request.merchant)
            .select_related("shop")
            .prefetch_related("items", "payments")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["raw_pretty"] = json.dumps(self.object.raw, indent=2, ensure_ascii=False)
        exports = selectors.order_exports_of(order=self.object)
        for export in exports:
            export.voucher_url = sevdesk_voucher_url(export.voucher_id)
        context["sevdesk_exports"] = exports
        context["payment_method_name"] = payment_type_name(self.object.payment_method)
        payments = list(self.object.payments.all())
        for payment in payments:
            payment.method_name = payment_type_name(payment.payment_type)
        context["payments"] = payments
        return context


def order_invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The invoice PDF, fetched from Billbee on first request and served from storage."""
    order = get_object_or_404(Order.objects.for_merchant(request.merchant), pk=pk)
    detail_url = reverse("orders:order_detail", args=[order.pk])
    try:
        document = services.invoice_pdf_fetch(order=order)
    except services.InvoiceNotAvailable as exc:
        messages.warning(request, str(exc))
        return HttpResponseRedirect(detail_url)
    except (BillbeeError, BillbeeAccount.DoesNotExist) as exc:
        message = (
            services.billbee_error_message(exc)
            if isinstance(exc, BillbeeError)
            else _("Set up the Billbee account first.")
        )
        messages.error(request, message)
        return HttpResponseRedirect(detail_url)
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=f"{order.invoice_number or order.billbee_id}.pdf",
        content_type="application/pdf",
    )


order_invoice_pdf.model = Order  # the object the URL's id names (see the tenancy test)


# --- Billbee's webhook (no login: Billbee calls it; the signature is the proof) -------------


@login_not_required
@csrf_exempt
@require_http_methods(["GET", "POST"])
def billbee_webhook(request: HttpRequest, account_id: int) -> HttpResponse:
    """Billbee's address check (GET ?echo=) and its notifications (POST, signed). Refusals
    are logged without the body; nothing is fetched for them."""
    account = BillbeeAccount.objects.filter(pk=account_id).exclude(webhook_secret="").first()
    if account is None:
        logger.warning("Billbee webhook for unknown account %s refused", account_id)
        raise Http404
    if request.method == "GET":
        echo = webhooks.webhook_echo(account=account, echo=request.GET.get("echo", ""))
        if echo is None:
            raise Http404
        return HttpResponse(echo, content_type="text/plain; charset=utf-8")
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > webhooks.MAX_BODY_BYTES:
        logger.warning("Billbee webhook for account %s refused: body too large", account_id)
        return HttpResponse(status=400)
    try:
        received = webhooks.webhook_receive(
            account=account,
            body=request.body,
            signature=request.headers.get(webhooks.SIGNATURE_HEADER),
        )
    except webhooks.WebhookRefused as refused:
        logger.warning("Billbee webhook for account %s refused: %s", account_id, refused.reason)
        return HttpResponse(status=refused.status)
    logger.info("Billbee webhook %s for account %s: sync asked", received.delivery_id, account_id)
    return HttpResponse("OK", content_type="text/plain")


billbee_webhook.model = BillbeeAccount
