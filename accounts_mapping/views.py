"""The "Kontozuweisung" tab of a connection: payment method → sevDesk offline account."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts_mapping.selectors import assignments_by_method, payment_methods_for
from accounts_mapping.services import (
    AccountNotAssignable,
    Assignment,
    account_assignments_save,
    assignable,
    unassignable_reason,
)
from connections.forms import ClearingAccountForm
from connections.models import Connection
from connections.services import (
    clearing_account_create,
    connection_record_test,
    sevdesk_token_test,
)
from connections.sevdesk_client import SevdeskError


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
        "clearing_account_form": ClearingAccountForm(prefix="clearing"),
    }


@require_POST
def assignments_save(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection.objects.for_merchant(request.merchant), pk=pk)
    accounts = _live_accounts(request, connection)
    if accounts is not None:
        assignments = [
            Assignment(payment_method=_method_of(field), check_account_id=_int_or_none(value))
            for field, value in request.POST.items()
            if field == "standard" or field.removeprefix("method_").isdigit()
        ]
        try:
            account_assignments_save(
                connection=connection, assignments=assignments, accounts=accounts
            )
        except AccountNotAssignable as refusal:
            messages.error(request, str(refusal))
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
    else:
        try:
            account = clearing_account_create(connection=connection, **form.cleaned_data)
        except SevdeskError as error:
            messages.error(
                request,
                _("sevDesk did not create the offline account: %(error)s") % {"error": error},
            )
        else:
            messages.success(
                request,
                _("Offline account “%(name)s” created in sevDesk.") % {"name": account.name},
            )
    return redirect(f"{connection.get_absolute_url()}?tab=accounts")


clearing_account_new.model = Connection


def _method_of(field: str) -> int | None:
    return None if field == "standard" else int(field.removeprefix("method_"))


def _int_or_none(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None
