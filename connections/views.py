from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from connections import extensions
from connections.forms import ConnectionForm
from connections.models import Connection
from connections.services import (
    connection_save,
    connection_test,
    sevdesk_token_test,
)


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
    form = ConnectionForm(request.POST or None, instance=connection, merchant=request.merchant)
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if form.is_valid():
            connection = connection_save(
                connection=form.save(commit=False),
                shops=form.cleaned_data["shops"],
                token=form.cleaned_data["api_token"],
            )
            result = connection_test(connection=connection)
            if action == "save":
                messages.success(request, _("The connection has been saved."))
            _report_test(request, result)
            tab = "accounts" if result.ok and action == "save" else "api"
            return redirect(f"{connection.get_absolute_url()}?tab={tab}")
        if action == "test" and (form.cleaned_data.get("api_token") or connection.pk):
            # The form is incomplete, but the token can be tested on its own; nothing is saved.
            token = form.cleaned_data.get("api_token") or connection.api_token
            _report_test(request, sevdesk_token_test(token=token))
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


PROPERTIES_FIELDS = ["name", "start_date", "shops", "order_states"]
API_FIELDS = [
    "payment_reconciliation",
    "api_token",
    "create_full_customers",
    "book_unassigned_as_standard",
    "voucher_date_basis",
]


def _report_test(request: HttpRequest, result) -> None:
    (messages.success if result.ok else messages.error)(request, result.message)
