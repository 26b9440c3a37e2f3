"""The "Kontozuweisung" tab of a connection: payment method → sevDesk offline account."""

import re

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts_mapping.models import RevenueAccountAssignment
from accounts_mapping.selectors import (
    COUPON_CASE,
    assignments_by_method,
    field_name,
    payment_methods_for,
    revenue_choices_for,
    revenue_tab_rows,
)
from accounts_mapping.services import (
    AccountNotAssignable,
    Assignment,
    RevenueAccountNotAllowed,
    RevenueChoice,
    account_assignments_save,
    assignable,
    revenue_accounts_fetch,
    revenue_accounts_save,
    unassignable_reason,
)
from connections.forms import ClearingAccountForm
from connections.models import Connection
from connections.services import (
    ClearingAccountRefused,
    clearing_account_create,
    connection_record_test,
    sevdesk_token_test,
)
from connections.sevdesk_client import SevdeskError
from merchants.permissions import refusal


def _live_accounts(request: HttpRequest, connection: Connection):
    """The connection's sevDesk payment accounts, fetched now; None (with a message) on failure."""
    result = sevdesk_token_test(token=connection.api_token)
    if not result.ok:
        connection_record_test(connection=connection, result=result)
        messages.error(request, result.message)
        return None
    return list(result.check_accounts)


def assignment_tab_context(request: HttpRequest, connection: Connection | None) -> dict:
    """The Kontozuweisung tab of a connection page, once the connection reached sevDesk."""
    if connection is None or not connection.reached_sevdesk:
        return {}
    accounts = _live_accounts(request, connection)
    if accounts is None:
        return {"accounts_unavailable": True}
    current = assignments_by_method(connection=connection)
    seen, rest = payment_methods_for(connection=connection)

    def row(method: int | None, label: str) -> dict:
        assignment = current.get(method)
        return {
            "field": "standard" if method is None else f"method_{method}",
            "method": method,
            "label": label,
            "selected": assignment.check_account_id if assignment else None,
        }

    return {
        "check_accounts": [
            {
                "account": account,
                "selectable": assignable(account),
                "reason": unassignable_reason(account),
            }
            for account in accounts
        ],
        "seen_rows": [row(method, label) for method, label in seen],
        "other_rows": [row(method, label) for method, label in rest],
        "standard_row": row(None, _("Standard account (unassigned payments)")),
        "clearing_account_form": _clearing_form(request, connection),
        "revenue": revenue_tab_rows(connection=connection),
    }


@require_POST
def assignments_save(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection.objects.for_merchant(request.merchant), pk=pk)
    assignments = _assignments_posted(request)
    if assignments is None:
        return refusal(
            request,
            _(
                "The account assignment contains values the page does not offer; nothing has "
                "been saved."
            ),
            status=400,
        )
    accounts = _live_accounts(request, connection)
    if accounts is not None:
        try:
            account_assignments_save(
                connection=connection, assignments=assignments, accounts=accounts
            )
        except AccountNotAssignable as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The account assignment has been saved."))
    return redirect(f"{connection.get_absolute_url()}?tab=accounts")


assignments_save.model = Connection


@require_POST
def clearing_account_new(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection.objects.for_merchant(request.merchant), pk=pk)
    form = ClearingAccountForm(request.POST, prefix="clearing")
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        _clearing_input_keep(request, connection)
    else:
        try:
            account = clearing_account_create(connection=connection, **form.cleaned_data)
        except ClearingAccountRefused as refused:
            text = refused.message
            if refused.detail:
                text += " " + _("(sevDesk: %(detail)s)") % {"detail": refused.detail}
            messages.error(request, text)
            _clearing_input_keep(request, connection)
        else:
            messages.success(
                request,
                _("Offline account “%(name)s” created in sevDesk.") % {"name": account.name},
            )
    return redirect(f"{connection.get_absolute_url()}?tab=accounts")


# What was typed into "Neu" survives the redirect back to the tab when it was not created.
def _clearing_input_key(connection: Connection) -> str:
    return f"clearing-account-input:{connection.pk}"


def _clearing_input_keep(request: HttpRequest, connection: Connection) -> None:
    request.session[_clearing_input_key(connection)] = {
        "name": request.POST.get("clearing-name", "")[:100],
        "accounting_number": request.POST.get("clearing-accounting_number", "")[:20],
    }


def _clearing_form(request: HttpRequest, connection: Connection) -> ClearingAccountForm:
    return ClearingAccountForm(
        prefix="clearing", initial=request.session.pop(_clearing_input_key(connection), None)
    )


clearing_account_new.model = Connection


REVENUE_TAB = "?tab=accounts#erloeskonten"


@require_POST
def revenue_accounts_post(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the revenue accounts, or ("refresh") read sevDesk's guidance again first."""
    connection = get_object_or_404(Connection.objects.for_merchant(request.merchant), pk=pk)
    if "refresh" in request.POST:
        try:
            changes = revenue_accounts_fetch(connection=connection)
        except SevdeskError as error:
            messages.error(
                request,
                _("sevDesk's revenue accounts could not be read: %(error)s") % {"error": error},
            )
        else:
            messages.success(request, _("The revenue accounts were read from sevDesk again."))
            for change in changes:
                messages.warning(request, change)
        return redirect(connection.get_absolute_url() + REVENUE_TAB)
    choices = _revenue_posted(request, connection)
    if choices is None:
        return refusal(
            request,
            _(
                "The revenue accounts contain values the page does not offer; nothing has been "
                "saved."
            ),
            status=400,
        )
    try:
        revenue_accounts_save(connection=connection, choices=choices)
    except RevenueAccountNotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The revenue accounts have been saved."))
    return redirect(connection.get_absolute_url() + REVENUE_TAB)


revenue_accounts_post.model = Connection


def _revenue_posted(request: HttpRequest, connection: Connection) -> list[RevenueChoice] | None:
    """The revenue fields the tab offers for the stored guidance; None when a value is not a
    number. Fields the page does not send stay as they are."""
    Kind = RevenueAccountAssignment.Kind
    fields = [(Kind.COUPON, COUPON_CASE)] + [
        (kind, case)
        for case in revenue_choices_for(connection=connection)
        for kind in (Kind.GOODS, Kind.SHIPPING)
    ]
    choices = []
    for kind, case in fields:
        name = field_name(kind, case)
        if name not in request.POST:
            continue
        value = request.POST[name].strip()
        account_id = _number(value, maximum=CHECK_ACCOUNT_ID_MAX) if value else None
        if value and account_id is None:
            return None
        choices.append(RevenueChoice(kind=kind, case=case, account_id=account_id))
    return choices


# Billbee's payment methods are small numbers; sevDesk's ids fit a bigint. A crafted number
# beyond either would only fail in the database.
PAYMENT_METHOD_MAX = 2**31 - 1
CHECK_ACCOUNT_ID_MAX = 2**63 - 1
ASCII_NUMBER = re.compile(r"[0-9]{1,19}")


def _assignments_posted(request: HttpRequest) -> list[Assignment] | None:
    """The rows of the tab ("standard", "method_<n>" → an account id or empty); None when a
    name or value is not one the tab sends."""
    assignments = []
    for field, value in request.POST.items():
        if field == "standard":
            method = None
        elif field.startswith("method_"):
            method = _number(field.removeprefix("method_"), maximum=PAYMENT_METHOD_MAX)
            if method is None:
                return None
        else:
            continue  # csrfmiddlewaretoken, merchant_id
        value = value.strip()
        account_id = _number(value, maximum=CHECK_ACCOUNT_ID_MAX) if value else None
        if value and account_id is None:
            return None
        assignments.append(Assignment(payment_method=method, check_account_id=account_id))
    return assignments


def _number(text: str, *, maximum: int) -> int | None:
    """A plain ASCII number up to `maximum`, else None ("²" and "٣" are digits to Python)."""
    if not ASCII_NUMBER.fullmatch(text) or int(text) > maximum:
        return None
    return int(text)
