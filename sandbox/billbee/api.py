"""The simulated Billbee REST API under /sandbox/billbee/api/v1/, in the shapes of the spec.

Like the real one it wants the X-Billbee-Api-Key header and HTTP Basic (user + API password)
on every call, allows 2 requests per second per endpoint and key + user (429 with
Retry-After), answers errors in ASP.NET's {"Message", "ModelState"} form and writes
timestamps in UTC without offset. Faults can be injected per account (see services).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt

from orders.enums import ORDER_STATES, PAYMENT_TYPES

from .invoices import (
    credit_note_date,
    credit_note_entry,
    invoice_list_entry,
    invoice_number,
    invoice_pdf,
    invoice_totals,
)
from .models import SandboxAccount, SandboxFaultPlan, SandboxOrder
from .representations import (
    billbee_dumps,
    billbee_timestamp,
    parse_billbee_timestamp,
    with_numbers,
)
from .services import fault_claim, order_tags_add
from .webhooks import FILTERS, WebhookInvalid, webhook_model, webhook_register

MAX_PAGE_SIZE = 250
DEFAULT_PAGE_SIZE = 50
REQUESTS_PER_SECOND = 2
NO_ERROR = {"ErrorMessage": None, "ErrorCode": 0, "ErrorDescription": "NoError"}
HTML_502 = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1><p>The server returned an invalid response.</p></body></html>"
)


class BadRequest(Exception):
    """A query the real API would refuse with 400 and a ModelState entry."""

    def __init__(self, field: str, problem: str):
        super().__init__(problem)
        self.field = field
        self.problem = problem


# --- Answers -------------------------------------------------------------------------------


def json_answer(payload, status: int = 200) -> HttpResponse:
    return HttpResponse(
        billbee_dumps(payload), status=status, content_type="application/json; charset=utf-8"
    )


def error_answer(status: int, message: str, model_state: dict | None = None) -> HttpResponse:
    body: dict = {"Message": message}
    if model_state:
        body["ModelState"] = model_state
    return json_answer(body, status)


def result_answer(data) -> HttpResponse:
    return json_answer({**NO_ERROR, "Data": data})


def paged_answer(rows: list, *, page: int, page_size: int, total: int) -> HttpResponse:
    paging = {
        "Page": page,
        "TotalPages": math.ceil(total / page_size),
        "TotalRows": total,
        "PageSize": page_size,
    }
    return json_answer({"Paging": paging, **NO_ERROR, "Data": rows})


# --- Authentication, throttling, faults ----------------------------------------------------


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return username, password


def authenticate(request: HttpRequest) -> SandboxAccount | None:
    api_key = request.headers.get("X-Billbee-Api-Key", "")
    credentials = _basic_credentials(request)
    if not api_key or credentials is None:
        return None
    username, password = credentials
    account = SandboxAccount.objects.filter(api_key=api_key, username=username).first()
    if account and secrets.compare_digest(account.api_password, password):
        return account
    return None


def throttled(account: SandboxAccount, endpoint: str) -> bool:
    """More than 2 calls in one second to one endpoint by one key + user?"""
    if not getattr(settings, "SANDBOX_BILLBEE_THROTTLE", True):
        return False
    key = f"sandbox-billbee:{account.api_key}:{account.username}:{endpoint}:{int(time.time())}"
    cache.add(key, 0, timeout=5)
    try:
        return cache.incr(key) > REQUESTS_PER_SECOND
    except ValueError:  # expired between add and incr
        return False


def billbee_endpoint(name: str, method: str) -> Callable:
    """Wrap a view as one API endpoint: method, credentials, throttle and injected faults."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def endpoint(request: HttpRequest, **kwargs) -> HttpResponse:
            if settings.SANDBOX_BILLBEE_LATENCY_MS:
                time.sleep(settings.SANDBOX_BILLBEE_LATENCY_MS / 1000)
            if request.method != method:
                return error_answer(
                    405, f"The requested resource does not support http method '{request.method}'."
                )
            account = authenticate(request)
            if account is None:
                return error_answer(401, "Authorization has been denied for this request.")
            if throttled(account, name):
                response = error_answer(429, "Too many requests. Please wait and try again.")
                response["Retry-After"] = "1"
                return response
            fault = fault_claim(
                account=account,
                path=request.path,
                kinds=(SandboxFaultPlan.Kind.HTTP_500, SandboxFaultPlan.Kind.HTML_502),
            )
            if fault == SandboxFaultPlan.Kind.HTTP_500:
                return error_answer(500, "An error has occurred.")
            if fault == SandboxFaultPlan.Kind.HTML_502:
                return HttpResponse(HTML_502, status=502, content_type="text/html")
            try:
                return view(request, account, **kwargs)
            except BadRequest as exc:
                return error_answer(400, "The request is invalid.", {exc.field: [exc.problem]})

        return login_not_required(csrf_exempt(endpoint))

    return decorate


# --- Query parameters ----------------------------------------------------------------------


def _values(request: HttpRequest, name: str) -> list[str]:
    # ASP.NET binds both "shopId=1&shopId=2" and the PHP-style "shopId[]=1".
    return request.GET.getlist(name) + request.GET.getlist(f"{name}[]")


def _integer(request: HttpRequest, name: str, default: int | None = None) -> int | None:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(name, f"The value '{raw}' is not valid for {name}.") from None


def _integers(request: HttpRequest, name: str) -> list[int]:
    try:
        return [int(raw) for raw in _values(request, name)]
    except ValueError:
        raise BadRequest(name, f"The value is not valid for {name}.") from None


def _timestamp(request: HttpRequest, name: str) -> datetime | None:
    raw = request.GET.get(name)
    if not raw:
        return None
    try:
        return parse_billbee_timestamp(raw)
    except ValueError:
        raise BadRequest(name, f"The value '{raw}' is not valid for {name}.") from None


def _paging(request: HttpRequest) -> tuple[int, int]:
    page = _integer(request, "page", 1)
    page_size = _integer(request, "pageSize", DEFAULT_PAGE_SIZE)
    if page < 1:
        raise BadRequest("page", "page must be 1 or more.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BadRequest("pageSize", f"pageSize must be between 1 and {MAX_PAGE_SIZE}.")
    return page, page_size


def _flag(request: HttpRequest, name: str) -> bool:
    return request.GET.get(name, "").lower() == "true"


# --- Orders --------------------------------------------------------------------------------


def order_document(order: SandboxOrder, *, malformed: bool = False) -> dict:
    document = with_numbers(order.data)
    if malformed:
        document["TotalCost"] = "n/a"  # a string where a number belongs, as broken data would be
        document["CreatedAt"] = "gestern"
    return document


def _filtered_orders(request: HttpRequest, account: SandboxAccount):
    orders = account.orders.all()
    bounds = {
        "created_at__gte": _timestamp(request, "minOrderDate"),
        "created_at__lte": _timestamp(request, "maxOrderDate"),
        "last_modified_at__gt": _timestamp(request, "modifiedAtMin"),
        "last_modified_at__lte": _timestamp(request, "modifiedAtMax"),
        "billbee_id__gte": _integer(request, "minimumBillBeeOrderId"),
        "shop__billbee_id__in": _integers(request, "shopId") or None,
        "state__in": _integers(request, "orderStateId") or None,
    }
    orders = orders.filter(**{key: value for key, value in bounds.items() if value is not None})
    return _tag_filtered(request, orders)


def _tag_filtered(request: HttpRequest, orders):
    for tag in _values(request, "tag"):
        tag_filter = {"tags_key__contains": f"|{tag.lower()}|"}
        if _flag(request, "excludeTags"):
            orders = orders.exclude(**tag_filter)
        else:
            orders = orders.filter(**tag_filter)
    return orders


@billbee_endpoint("orders", "GET")
def orders_list(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # OrderApi_GetList: GET /orders
    page, page_size = _paging(request)
    orders = _filtered_orders(request, account).order_by("billbee_id")
    total = orders.count()
    rows = list(orders[(page - 1) * page_size : page * page_size])
    fault = rows and fault_claim(
        account=account, path=request.path, kinds=(SandboxFaultPlan.Kind.MALFORMED_ORDER,)
    )
    documents = [
        order_document(order, malformed=bool(fault) and index == 0)
        for index, order in enumerate(rows)
    ]
    return paged_answer(documents, page=page, page_size=page_size, total=total)


def _order_or_none(account: SandboxAccount, billbee_id: int) -> SandboxOrder | None:
    return account.orders.filter(billbee_id=billbee_id).first()


@billbee_endpoint("order", "GET")
def order_detail(request: HttpRequest, account: SandboxAccount, billbee_id: int) -> HttpResponse:
    # OrderApi_Get: GET /orders/{id}
    order = _order_or_none(account, billbee_id)
    if order is None:
        return error_answer(404, f"Order {billbee_id} not found.")
    fault = fault_claim(
        account=account, path=request.path, kinds=(SandboxFaultPlan.Kind.MALFORMED_ORDER,)
    )
    return result_answer(order_document(order, malformed=bool(fault)))


@billbee_endpoint("order_tags", "POST")
def order_tags(request: HttpRequest, account: SandboxAccount, billbee_id: int) -> HttpResponse:
    # OrderApi_TagsCreate: POST /orders/{id}/tags
    order = _order_or_none(account, billbee_id)
    if order is None:
        return error_answer(404, f"Order {billbee_id} not found.")
    tags = _tags_from_body(request)
    order_tags_add(order=order, tags=tags)
    return result_answer({"Tags": order.tags})


def _tags_from_body(request: HttpRequest) -> list[str]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise BadRequest("tagData", "The body is not valid JSON.") from None
    tags = body.get("Tags") if isinstance(body, dict) else None
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise BadRequest("tagData.Tags", "Tags must be a list of strings.")
    return tags


@billbee_endpoint("create_invoice", "POST")
def create_invoice(request: HttpRequest, account: SandboxAccount, billbee_id: int) -> HttpResponse:
    # OrderApi_CreateInvoice: POST /orders/CreateInvoice/{id}
    order = _order_or_none(account, billbee_id)
    if order is None:
        return error_answer(404, f"Order {billbee_id} not found.")
    if not invoice_number(order.data):
        # The sandbox never creates invoices: it says so the way Billbee reports errors in
        # a 200 answer (the real behaviour for orders without invoice is undocumented).
        return json_answer(
            {
                "ErrorMessage": "Für diese Bestellung wurde noch keine Rechnung erstellt.",
                "ErrorCode": 1,
                "ErrorDescription": "InvoiceNotCreated",
                "Data": None,
            }
        )
    gross, net = invoice_totals(order.data)
    pdf = invoice_pdf(order) if _flag(request, "includeInvoicePdf") else None
    return result_answer(
        {
            "OrderNumber": order.data.get("OrderNumber"),
            "InvoiceNumber": invoice_number(order.data),
            "PDFData": base64.b64encode(pdf).decode() if pdf else None,
            "InvoiceDate": order.data["InvoiceDate"],
            "TotalGross": gross,
            "TotalNet": net,
            "PdfDownloadUrl": None,
        }
    )


@billbee_endpoint("invoices", "GET")
def invoices_list(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # OrderApi_GetInvoiceList: GET /orders/invoices
    page, page_size = _paging(request)
    orders = account.orders.filter(invoice_date__isnull=False)
    bounds = {
        "paid_at__gte": _timestamp(request, "minPayDate"),
        "paid_at__lte": _timestamp(request, "maxPayDate"),
        "shop__billbee_id__in": _integers(request, "shopId") or None,
        "state__in": _integers(request, "orderStateId") or None,
    }
    orders = orders.filter(**{key: value for key, value in bounds.items() if value is not None})
    orders = _tag_filtered(request, orders)
    since, until = _timestamp(request, "minInvoiceDate"), _timestamp(request, "maxInvoiceDate")
    positions = _flag(request, "includePositions")
    # Invoices and credit notes, each by its own date, in date order as Billbee lists them.
    documents = []
    for order in orders.order_by("invoice_date", "billbee_id"):
        dated = [(order.invoice_date, 0, invoice_list_entry)]
        if "CreditNote" in order.data:
            dated.append((credit_note_date(order), 1, credit_note_entry))
        for day, kind, entry in dated:
            if (since is None or day >= since) and (until is None or day <= until):
                documents.append((day, order.billbee_id, kind, order, entry))
    documents.sort(key=lambda row: row[:3])
    rows = documents[(page - 1) * page_size : page * page_size]
    data = [entry(order, include_positions=positions) for *_key, order, entry in rows]
    return paged_answer(data, page=page, page_size=page_size, total=len(documents))


# --- Webhooks ------------------------------------------------------------------------------


@billbee_endpoint("webhooks", "GET")
def webhooks_list(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # WebHookManagement_Get: GET /webhooks (a plain list, no envelope)
    return json_answer([webhook_model(hook) for hook in account.webhooks.order_by("pk")])


@billbee_endpoint("webhooks", "POST")
def webhooks_create(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # WebHookManagement_Post: POST /webhooks
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise BadRequest("webHook", "The body is not valid JSON.") from None
    try:
        hook = webhook_register(account=account, data=data if isinstance(data, dict) else {})
    except WebhookInvalid as invalid:
        raise BadRequest(invalid.field, invalid.problem) from None
    return json_answer(webhook_model(hook))


def webhooks_root(request: HttpRequest) -> HttpResponse:
    view = webhooks_create if request.method == "POST" else webhooks_list
    return view(request)


webhooks_root = login_not_required(csrf_exempt(webhooks_root))


@billbee_endpoint("webhook", "DELETE")
def webhook_delete(request: HttpRequest, account: SandboxAccount, webhook_id: str) -> HttpResponse:
    # WebHookManagement_Delete: DELETE /webhooks/{id}
    deleted, _rows = account.webhooks.filter(webhook_id=webhook_id).delete()
    if not deleted:
        return error_answer(404, f"WebHook {webhook_id} not found.")
    return json_answer({})


@billbee_endpoint("webhook_filters", "GET")
def webhook_filters(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # WebHookManagement_GetFilters: GET /webhooks/filters (an object: name → description)
    return json_answer(FILTERS)


# --- Shops and enums -----------------------------------------------------------------------


@billbee_endpoint("shopaccounts", "GET")
def shop_accounts(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # ShopAccount_QueryShopAccounts: GET /shopaccounts
    page, page_size = _paging(request)
    shops = account.shops.order_by("billbee_id")
    total = shops.count()
    rows = [
        {
            "Id": shop.billbee_id,
            "AccountType": shop.account_type,
            "Name": shop.name,
            "LastSyncDate": billbee_timestamp(account.created),
            "LastSyncState": 1,
        }
        for shop in shops[(page - 1) * page_size : page * page_size]
    ]
    return paged_answer(rows, page=page, page_size=page_size, total=total)


def _enum_list(names: dict) -> list[dict]:
    # Billbee names them in German whatever the caller's language; ours are msgids.
    with translation.override("de"):
        return [{"Id": key, "Name": str(value)} for key, value in sorted(names.items())]


@billbee_endpoint("enum_orderstates", "GET")
def enum_order_states(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # EnumApi_GetOrderStates: GET /enums/orderstates
    return json_answer(_enum_list(ORDER_STATES))


@billbee_endpoint("enum_paymenttypes", "GET")
def enum_payment_types(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # EnumApi_GetPaymentTypes: GET /enums/paymenttypes
    return json_answer(_enum_list(PAYMENT_TYPES))
