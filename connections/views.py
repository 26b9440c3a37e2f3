import re

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from connections import extensions
from connections.forms import ConnectionForm
from connections.models import Connection
from connections.services import (
    connection_overlap,
    connection_record_test,
    connection_save,
    connection_test,
    sevdesk_token_test,
)
from merchants.permissions import refusal


def connection_list(request: HttpRequest) -> HttpResponse:
    connections = (
        Connection.objects.for_merchant(request.merchant).prefetch_related("shops").order_by("name")
    )
    context = {
        "connections": extensions.annotated(connections),
        **extensions.page_context(request, None),
    }
    return render(request, "connections/connection_list.html", context)


@require_http_methods(["GET", "POST"])
def connection_create(request: HttpRequest) -> HttpResponse:
    return _connection_form_page(request, Connection(merchant=request.merchant))


@require_http_methods(["GET", "POST"])
def connection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection.objects.for_merchant(request.merchant), pk=pk)
    return _connection_form_page(request, connection)


connection_edit.model = Connection


def _connection_form_page(request: HttpRequest, connection: Connection) -> HttpResponse:
    if not all(_is_row_id(value) for value in request.POST.getlist("shops")):
        # ModelMultipleChoiceField hands a number beyond bigint to the database (a 500).
        return refusal(request, _("The form contains values the page does not offer."), status=400)
    form = ConnectionForm(request.POST or None, instance=connection, merchant=request.merchant)
    if request.method == "POST" and request.POST.get("action") == "test":
        return _connection_test_only(request, form, connection)
    if request.method == "POST":
        result = _token_test(form, connection) if form.is_valid() else None
        if result is not None and not _books_twice(form, connection, result):
            connection = connection_save(
                connection=form.save(commit=False),
                shops=form.cleaned_data["shops"],
                token=form.cleaned_data["api_token"],
            )
            connection_record_test(connection=connection, result=result)
            messages.success(request, _("The connection has been saved."))
            _report_test(request, result)
            tab = "accounts" if result.ok else "api"
            return redirect(f"{connection.get_absolute_url()}?tab={tab}")
    return _form_render(request, form, connection)


def _form_render(request: HttpRequest, form: ConnectionForm, connection: Connection):
    context = {
        "form": form,
        "connection": connection,
        "properties_fields": [form[name] for name in PROPERTIES_FIELDS],
        "api_fields": [form[name] for name in API_FIELDS],
        "tab": request.GET.get("tab")
        or ("api" if form.errors.keys() & set(API_FIELDS) else "properties"),
    }
    if connection.pk:
        context.update(extensions.page_context(request, connection))
    return render(request, "connections/connection_form.html", context)


def _connection_test_only(
    request: HttpRequest, form: ConnectionForm, connection: Connection
) -> HttpResponse:
    """ "Verbindung testen": tests the typed token, else the stored one, and saves no setting.

    Only a test of the stored token is recorded (status, last check), because that token is
    the one the exports use; a typed token is reported and forgotten until "Speichern". A new
    connection is not created by a test.
    """
    # Validation writes the typed values into `connection`; the page and the recorded test
    # use the row as stored.
    stored = Connection.objects.get(pk=connection.pk) if connection.pk else connection
    form.is_valid()
    token_errors = form.errors.get("api_token")
    result = None
    if not token_errors:
        typed = form.cleaned_data.get("api_token")
        # A typed token is only reported; the stored one's result is recorded on the row.
        result = sevdesk_token_test(token=typed) if typed else connection_test(connection=stored)
    note = _("Only tested: nothing has been saved. Click “Save” to keep the settings.")
    if _wants_json(request):
        if result is None:
            return JsonResponse({"ok": False, "message": " ".join(token_errors), "note": ""})
        return JsonResponse({"ok": result.ok, "message": result.message, "note": note})
    if result is not None:
        _report_test(request, result)
        messages.info(request, note)
    return _form_render(request, form, stored)


ROW_ID = re.compile(r"[0-9]{1,19}")


def _is_row_id(value: str) -> bool:
    return bool(ROW_ID.fullmatch(value)) and int(value) <= 2**63 - 1


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


PROPERTIES_FIELDS = [
    "name",
    "start_date",
    "shops",
    "include_manual_orders",
    "order_states",
    "book_unlinked_credit_notes",
]
API_FIELDS = [
    "payment_reconciliation",
    "api_token",
    "create_full_customers",
    "book_unassigned_as_standard",
    "voucher_date_basis",
]


def _token_test(form: ConnectionForm, connection: Connection):
    return sevdesk_token_test(token=form.cleaned_data.get("api_token") or connection.api_token)


def _books_twice(form: ConnectionForm, connection: Connection, result) -> bool:
    """Refuse (as a form error) a connection that would book into the same sevDesk account as
    another one with a shop in common: each order would be booked twice."""
    other = connection_overlap(
        connection=connection,
        shops=form.cleaned_data["shops"],
        include_manual_orders=form.cleaned_data.get("include_manual_orders", False),
        sevdesk_client_id=result.sevdesk_client_id,
    )
    if other is None:
        return False
    form.add_error(
        "shops",
        _(
            "The connection “%(other)s” already books these shops into the same sevDesk "
            "account. Each order would be booked twice: choose other shops or another sevDesk "
            "account."
        )
        % {"other": other.name},
    )
    return True


def _report_test(request: HttpRequest, result) -> None:
    (messages.success if result.ok else messages.error)(request, result.message)
