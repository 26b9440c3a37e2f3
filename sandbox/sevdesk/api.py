"""The simulated sevDesk REST API (`/sandbox/sevdesk/api/v1/...`).

Every URL goes through `endpoint`: the token check (as sevDesk: ``Authorization`` header
only), the account's fault switches, then the handler for the HTTP method. Handlers raise
`SevdeskApiError`s, which are answered in sevDesk's error shape.
"""

import time
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import parsing as p
from . import representations as r
from . import selectors, services
from .errors import AuthenticationRequired, BadRequest, NotFound, SevdeskApiError
from .models import (
    CheckAccount,
    CommunicationWayKey,
    FaultPlan,
    SandboxAccount,
    StaticCountry,
    Voucher,
)
from .voucher_input import voucher_input_parse

Handler = Callable[..., HttpResponse]

# What a reverse proxy (sevDesk runs behind one) answers when the upstream answer got lost.
GATEWAY_TIMEOUT_PAGE = (
    "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    "<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n"
)


# --- Plumbing ------------------------------------------------------------------------------


def endpoint(**handlers: Handler) -> Callable[..., HttpResponse]:
    """A view serving one API URL with one handler per lower-case HTTP method."""

    @csrf_exempt
    @login_not_required
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        try:
            account = _authenticated_account(request)
        except SevdeskApiError as exc:
            return error_response(exc)
        handler = handlers.get(request.method.lower())
        if handler is None:
            return error_response(SevdeskApiError("Method not allowed", status=405))
        return _serve(request, account, lambda: handler(request, account, **kwargs))

    return view


def _authenticated_account(request: HttpRequest) -> SandboxAccount:
    token = request.headers.get("Authorization", "").strip()
    account = SandboxAccount.objects.filter(token=token).first() if token else None
    if account is None:
        raise AuthenticationRequired()
    return account


def _serve(request: HttpRequest, account: SandboxAccount, call: Callable) -> HttpResponse:
    """Run the handler under the first fault plan of this account that matches the path."""
    plan = services.fault_claim(account=account, path=request.path, body=request.body)
    if plan and plan.kind == FaultPlan.Kind.LATENCY:
        time.sleep(plan.latency_ms / 1000)
    elif plan and plan.kind != FaultPlan.Kind.LOSE_RESPONSE:
        return _fault_response(plan)
    try:
        response = call()
    except SevdeskApiError as exc:
        response = error_response(exc)
    if plan and plan.kind == FaultPlan.Kind.LOSE_RESPONSE:
        # The change above is committed; only its answer never reaches the caller.
        return HttpResponse(GATEWAY_TIMEOUT_PAGE, status=504, content_type="text/html")
    return response


def _fault_response(plan: FaultPlan) -> HttpResponse:
    if plan.kind == FaultPlan.Kind.HTTP_401:
        return error_response(AuthenticationRequired())
    if plan.kind == FaultPlan.Kind.HTTP_429:
        response = error_response(SevdeskApiError("Too Many Requests", status=429))
        response["Retry-After"] = str(plan.retry_after)
        return response
    return error_response(SevdeskApiError("Internal Server Error", status=500))


def error_response(exc: SevdeskApiError) -> JsonResponse:
    error: dict[str, Any] = {"message": exc.message, "code": None, "data": None}
    if exc.status == 422:
        error["exceptionUUID"] = str(uuid.uuid4())
    return JsonResponse({"error": error}, status=exc.status)


def objects(data: Any, *, status: int = 200, total: int | None = None) -> JsonResponse:
    body: dict[str, Any] = {"objects": data}
    if total is not None:
        body["total"] = str(total)
    return JsonResponse(body, status=status)


def listing(request: HttpRequest, items, render: Callable) -> JsonResponse:
    """A list answer with sevDesk's ``limit``, ``offset`` and ``countAll=true``."""
    window = selectors.page(
        items, limit=p.query_int(request, "limit"), offset=p.query_int(request, "offset")
    )
    total = items.count() if request.GET.get("countAll") == "true" else None
    return objects([render(item) for item in window], total=total)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return value or ""


# --- Basics and check accounts -------------------------------------------------------------


def bookkeeping_system_version(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # operationId bookkeepingSystemVersion: GET /Tools/bookkeepingSystemVersion
    return objects({"version": account.bookkeeping_version})


def check_account_list(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # operationId getCheckAccounts: GET /CheckAccount
    items = CheckAccount.objects.filter(account=account).select_related("account")
    return listing(request, items, r.check_account)


def clearing_account_create(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # operationId createClearingAccount: POST /CheckAccount/Factory/clearingAccount
    data = p.json_body(request)
    name = _text(data, "name").strip()
    if not name:
        raise BadRequest("Required field name is missing")
    number = data.get("accountingNumber")
    created = services.clearing_account_create(
        account=account,
        name=name,
        accounting_number=None if number is None else p.integer(number, field="accountingNumber"),
    )
    return objects(r.check_account(created), status=201)


# --- Contacts ------------------------------------------------------------------------------


def contact_list(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # operationId getContacts: GET /Contact
    items = selectors.contact_list(
        account=account,
        depth=request.GET.get("depth") in {"1", "true"},
        customer_number=request.GET.get("customerNumber", ""),
        name=request.GET.get("name", ""),
    )
    return listing(request, items.select_related("account"), r.contact)


def contact_create(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # operationId createContact: POST /Contact
    data = p.json_body(request)
    category = p.reference_id(p.required(data, "category"), "Category", field="category")
    created = services.contact_create(
        account=account,
        name=_text(data, "name"),
        surename=_text(data, "surename"),
        familyname=_text(data, "familyname"),
        category_id=category,
        customer_number=_text(data, "customerNumber"),
        vat_number=_text(data, "vatNumber"),
    )
    return objects(r.contact(created), status=201)


def contact_address_create(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # operationId createContactAddress: POST /ContactAddress
    data = p.json_body(request)
    category = data.get("category")
    category_id = (
        None if category is None else p.reference_id(category, "Category", field="category")
    )
    created = services.contact_address_create(
        account=account,
        contact_id=p.reference_id(p.required(data, "contact"), "Contact", field="contact"),
        country_id=p.reference_id(p.required(data, "country"), "StaticCountry", field="country"),
        street=_text(data, "street"),
        zip_code=_text(data, "zip"),
        city=_text(data, "city"),
        category_id=category_id,
        name=_text(data, "name"),
    )
    return objects(r.contact_address(created), status=201)


def communication_way_create(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # operationId createCommunicationWay: POST /CommunicationWay
    data = p.json_body(request)
    value = _text(data, "value").strip()
    if not value:
        raise BadRequest("Required field value is missing")
    created = services.communication_way_create(
        account=account,
        contact_id=p.reference_id(p.required(data, "contact"), "Contact", field="contact"),
        type=p.required(data, "type"),
        value=value,
        key_id=p.reference_id(p.required(data, "key"), "CommunicationWayKey", field="key"),
        main=p.boolean(data.get("main", False), field="main"),
    )
    return objects(r.communication_way(created), status=201)


def static_country_list(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # GET /StaticCountry (used by public clients, missing from the spec)
    return listing(request, StaticCountry.objects.all(), r.static_country)


def communication_way_key_list(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # operationId getCommunicationWayKeys: GET /CommunicationWayKey
    return listing(request, CommunicationWayKey.objects.all(), r.communication_way_key)


# --- Vouchers ------------------------------------------------------------------------------


def upload_temp_file(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # operationId voucherUploadFile: POST /Voucher/Factory/uploadTempFile
    upload = request.FILES.get("file")
    if upload is None:
        raise BadRequest("Required multipart field file is missing")
    return objects(
        r.temp_file(services.temp_file_create(account=account, upload=upload)), status=201
    )


def save_voucher(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # operationId voucherFactorySaveVoucher: POST /Voucher/Factory/saveVoucher
    data = voucher_input_parse(p.json_body(request), version=account.bookkeeping_version)
    voucher = services.voucher_save(account=account, data=data)
    return objects(r.voucher_with_positions(voucher), status=201)


def voucher_list(request: HttpRequest, account: SandboxAccount) -> HttpResponse:
    # operationId getVouchers: GET /Voucher
    status = p.query_int(request, "status")
    if status is not None and status not in Voucher.Status.values:
        raise BadRequest("status must be 50, 100, 750 or 1000")
    credit_debit = request.GET.get("creditDebit", "")
    if credit_debit not in {"", "C", "D"}:
        raise BadRequest("creditDebit must be C or D")
    items = selectors.voucher_list(
        account=account,
        description_like=request.GET.get("descriptionLike", ""),
        credit_debit=credit_debit,
        status=status,
        start=p.query_int(request, "startDate"),
        end=p.query_int(request, "endDate"),
        contact_id=p.query_int(request, "contact[id]"),
    )
    return listing(request, items, r.voucher)


def voucher_detail(request: HttpRequest, account: SandboxAccount, voucher_id: int):
    # operationId getVoucherById: GET /Voucher/{voucherId}
    voucher = Voucher.objects.filter(account=account, pk=voucher_id).first()
    if voucher is None:
        raise NotFound(f"Voucher with id {voucher_id} not found")
    return objects([r.voucher(voucher)])


def voucher_book_amount(request: HttpRequest, account: SandboxAccount, voucher_id: int):
    # operationId bookVoucher: PUT /Voucher/{voucherId}/bookAmount
    data = p.json_body(request)
    check_account = p.required(data, "checkAccount")
    payment = services.voucher_book_amount(
        account=account,
        voucher_id=voucher_id,
        amount=p.money(p.required(data, "amount"), field="amount"),
        date=p.calendar_date(p.required(data, "date"), field="date"),
        type=p.required(data, "type"),
        check_account_id=p.reference_id(check_account, "CheckAccount", field="checkAccount"),
    )
    return objects(r.voucher_log(payment))


def receipt_guidance_for_revenue(request: HttpRequest, account: SandboxAccount):
    # operationId forRevenue: GET /ReceiptGuidance/forRevenue
    return objects([r.receipt_guidance(a) for a in selectors.revenue_accounts(account=account)])


def receipt_guidance_for_tax_rule(request: HttpRequest, account: SandboxAccount):
    # operationId forTaxRule: GET /ReceiptGuidance/forTaxRule?taxRule=N
    tax_rule = p.query_int(request, "taxRule")
    if tax_rule is None:
        raise BadRequest("Required query parameter taxRule is missing")
    found = selectors.revenue_accounts_for_tax_rule(account=account, tax_rule=tax_rule)
    return objects([r.receipt_guidance(a) for a in found])


def unknown_resource(request: HttpRequest, account: SandboxAccount, **kwargs: Any):
    raise NotFound("The requested resource does not exist in the sandbox")
