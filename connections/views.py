import re

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from connections import extensions
from connections.forms import ConnectionForm
from connections.models import Connection
from connections.services import (
    ConnectionNotActivated,
    connection_activate,
    connection_deactivate,
    connection_delete,
    connection_overlap,
    connection_record_test,
    connection_save,
    connection_test,
    sevdesk_token_test,
)
from core import crypto
from merchants.permissions import refusal


def connection_list(request: HttpRequest) -> HttpResponse:
    connections = (
        Connection.objects.for_merchant(request.merchant)
        .live()
        .prefetch_related("shops")
        .order_by("name")
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
    connection = get_object_or_404(_live_connections(request), pk=pk)
    return _connection_form_page(request, connection)


connection_edit.model = Connection


def _live_connections(request: HttpRequest):
    return Connection.objects.for_merchant(request.merchant).live()


@require_POST
def connection_deactivate_view(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(_live_connections(request), pk=pk)
    connection_deactivate(connection=connection)
    messages.success(
        request,
        _("“%(name)s” is deactivated: nothing is sent to sevDesk until you activate it again.")
        % {"name": connection.name},
    )
    return redirect(connection)


connection_deactivate_view.model = Connection


@require_POST
def connection_activate_view(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(_live_connections(request), pk=pk)
    try:
        connection_activate(connection=connection)
    except ConnectionNotActivated as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("“%(name)s” is active again: its orders go out with the next run.")
            % {"name": connection.name},
        )
    return redirect(connection)


connection_activate_view.model = Connection


@require_http_methods(["GET", "POST"])
def connection_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirm page that says what deleting does, then the soft delete."""
    connection = get_object_or_404(_live_connections(request), pk=pk)
    if request.method == "POST":
        connection_delete(connection=connection)
        messages.success(request, _("“%(name)s” is deleted.") % {"name": connection.name})
        return redirect("connections:connection_list")
    exported = connection.order_exports.filter(voucher_id__isnull=False).count()
    return render(
        request,
        "connections/connection_confirm_delete.html",
        {"connection": connection, "exported": exported},
    )


connection_delete_view.model = Connection


def _connection_form_page(request: HttpRequest, connection: Connection) -> HttpResponse:
    if not all(_is_row_id(value) for value in request.POST.getlist("shops")):
        # ModelMultipleChoiceField hands a number beyond bigint to the database (a 500).
        return refusal(request, _("The form contains values the page does not offer."), status=400)
    held = _held_token(request, connection) if request.method == "POST" else ""
    _held_token_forget(request, connection)
    form = ConnectionForm(
        request.POST or None, instance=connection, merchant=request.merchant, held_token=held
    )
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
        _held_token_keep(request, connection, form)
    return _form_render(request, form, connection)


# A typed token is not echoed into the page when the form comes back with errors: it is kept
# encrypted in the session for the next submit of the same form, then forgotten.
def _held_token_key(connection: Connection) -> str:
    return f"connection-held-token:{connection.pk or 'new'}"


def _held_token(request: HttpRequest, connection: Connection) -> str:
    stored = request.session.get(_held_token_key(connection), "")
    token = crypto.decrypt_or_unreadable(stored) if stored else ""
    return "" if crypto.is_unreadable(token) else token


def _held_token_forget(request: HttpRequest, connection: Connection) -> None:
    request.session.pop(_held_token_key(connection), None)


def _held_token_keep(request: HttpRequest, connection: Connection, form: ConnectionForm) -> None:
    cleaned = getattr(form, "cleaned_data", None) or {}  # an empty POST leaves it unbound
    token = cleaned.get("api_token") if "api_token" not in form.errors else ""
    if token and not crypto.is_unreadable(token):
        request.session[_held_token_key(connection)] = crypto.encrypt(token)
        form.hold_token(token)


def _error_tabs(form: ConnectionForm) -> list[str]:
    """The tabs with a field error, in tab order (errors not tied to a field: the first)."""
    fields = {"properties": set(PROPERTIES_FIELDS), "api": set(API_FIELDS)}
    tabs = [tab for tab, names in fields.items() if form.errors.keys() & names]
    if form.non_field_errors() and not tabs:
        tabs = ["properties"]
    return tabs


def _form_render(request: HttpRequest, form: ConnectionForm, connection: Connection):
    error_tabs = _error_tabs(form) if form.is_bound else []
    context = {
        "form": form,
        "connection": connection,
        "properties_fields": [form[name] for name in PROPERTIES_FIELDS],
        "api_fields": [form[name] for name in API_FIELDS],
        "error_tabs": error_tabs,
        "tab": (error_tabs[0] if error_tabs else None) or request.GET.get("tab") or "properties",
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
