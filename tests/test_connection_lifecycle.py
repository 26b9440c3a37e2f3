"""A connection can be deactivated, activated again and deleted (softly: its history stays).
No run of any kind picks up a connection that is not active."""

import datetime
from unittest import mock

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse

from connections.admin import ConnectionAdmin
from connections.models import Connection
from connections.services import (
    ConnectionNotActivated,
    connection_activate,
    connection_deactivate,
)
from exports.forms import ManualExportForm
from exports.models import ExportRun, OrderExport
from exports.services import exports_due, exports_enqueue_for_orders
from exports.tasks import run_all
from reconciliation.services import monthly_reports_schedule
from tests.connections_factories import ConnectionFactory
from tests.exports_fixtures import invoiced_order, run_export


def _edit(connection) -> str:
    return reverse("connections:connection_edit", args=[connection.pk])


def test_a_deactivated_connection_is_picked_up_by_no_run(merchant, shop, connection):
    order = invoiced_order(merchant, shop)
    connection_deactivate(connection=connection)

    with mock.patch("exports.tasks.run_connection.delay") as scheduled:
        run_all()
    assert scheduled.call_count == 0
    assert exports_enqueue_for_orders(merchant_id=merchant.pk, order_ids=[order.pk]) == []
    assert connection not in ManualExportForm(merchant=merchant).fields["connection"].queryset
    assert monthly_reports_schedule(today=datetime.date(2026, 12, 3)) == []
    OrderExport.objects.create(merchant=merchant, connection=connection, order=order)
    assert exports_due() == []

    connection_activate(connection=connection)

    with mock.patch("exports.tasks.run_connection.delay") as scheduled:
        run_all()
    scheduled.assert_called_once_with(connection.pk)
    assert exports_due() != []
    assert connection in ManualExportForm(merchant=merchant).fields["connection"].queryset


def test_the_buttons_deactivate_and_activate(member_client, connection):
    response = member_client.post(
        reverse("connections:connection_deactivate", args=[connection.pk]), follow=True
    )
    page = response.content.decode()
    assert "ist deaktiviert" in page
    assert 'id="connection-inactive"' in page
    connection.refresh_from_db()
    assert not connection.is_active
    list_page = member_client.get(reverse("connections:connection_list")).content.decode()
    assert "deaktiviert" in list_page

    member_client.post(reverse("connections:connection_activate", args=[connection.pk]))
    connection.refresh_from_db()
    assert connection.is_active


def test_activating_is_refused_where_it_would_book_every_order_twice(merchant, shop, connection):
    connection.sevdesk_client_id = 4711
    connection.save()
    connection_deactivate(connection=connection)
    twin = ConnectionFactory(merchant=merchant, shops=[shop], sevdesk_client_id=4711)

    with pytest.raises(ConnectionNotActivated, match=r"zweimal|twice"):
        connection_activate(connection=connection)
    connection.refresh_from_db()
    assert not connection.is_active
    assert twin.is_active


def test_the_delete_page_says_what_happens_and_deleting_keeps_the_history(
    member_client, merchant, shop, connection
):
    run_export(connection, orders=[invoiced_order(merchant, shop)])
    confirm = member_client.get(reverse("connections:connection_delete", args=[connection.pk]))
    text = confirm.content.decode()
    assert "1 Beleg, den sie angelegt hat, bleibt in sevDesk" in text
    assert "Exportprotokoll und Abstimmungen bleiben erhalten" in text
    assert Connection.objects.get(pk=connection.pk).deleted_at is None  # GET changes nothing

    response = member_client.post(reverse("connections:connection_delete", args=[connection.pk]))

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.deleted_at is not None and not connection.is_active
    assert connection.api_token == "" and connection.api_token_last4 == ""
    assert OrderExport.objects.filter(connection=connection, voucher_id__isnull=False).exists()
    listed = member_client.get(reverse("connections:connection_list")).content.decode()
    assert f'href="{_edit(connection)}"' not in listed
    assert member_client.get(_edit(connection)).status_code == 404
    log = reverse("exports:connection_export_log", args=[connection.pk])
    assert member_client.get(log).status_code == 200
    with pytest.raises(ConnectionNotActivated):
        connection_activate(connection=connection)


def test_members_who_are_not_owners_cannot_switch_or_delete(plain_member_client, connection):
    for name in ("connection_deactivate", "connection_delete"):
        response = plain_member_client.post(reverse(f"connections:{name}", args=[connection.pk]))
        assert response.status_code == 403, name
    connection.refresh_from_db()
    assert connection.is_active and connection.deleted_at is None


def test_the_admin_switches_and_deletes_softly(merchant, shop, connection, admin_user):
    admin = ConnectionAdmin(Connection, site)
    request = RequestFactory().post("/")
    request.user = admin_user
    queryset = Connection.objects.filter(pk=connection.pk)

    admin.deactivate(request, queryset)
    assert not Connection.objects.get(pk=connection.pk).is_active
    admin.activate(request, queryset)
    assert Connection.objects.get(pk=connection.pk).is_active
    with mock.patch.object(admin, "message_user"):
        admin.soft_delete(request, queryset)
    deleted = Connection.objects.get(pk=connection.pk)
    assert deleted.deleted_at is not None
    assert not admin.has_delete_permission(request, deleted)
    assert "api_token" not in admin.get_form(request, deleted).base_fields


def test_the_export_form_preselects_the_last_used_else_the_only_working_connection(
    merchant, shop, connection
):
    def preselected():
        return ManualExportForm(merchant=merchant).fields["connection"].initial

    assert preselected() == connection.pk  # the only working one
    rejected = ConnectionFactory(merchant=merchant, shops=[shop], name="A-Shop")
    rejected.status = Connection.Status.TOKEN_REJECTED
    rejected.save()
    assert preselected() == connection.pk  # a rejected token does not count
    other = ConnectionFactory(merchant=merchant, shops=[shop], name="B-Shop")
    other.status = Connection.Status.OK
    other.save()
    form = ManualExportForm(merchant=merchant)
    assert form.fields["connection"].initial is None  # two: nothing is guessed
    assert "Verbindung wählen" in str(form["connection"])

    ExportRun.objects.create(merchant=merchant, connection=other, kind=ExportRun.Kind.MANUAL)
    assert preselected() == other.pk  # the one used last
