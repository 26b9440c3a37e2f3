"""Owners change what connects a merchant to Billbee and sevDesk; members export and look.

`member_client` is an owner (the role MembershipFactory gives); `plain_member_client` is a
member of the same merchant without that right.
"""

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts_mapping.models import AccountAssignment
from connections.models import Connection
from exports.models import OrderExport
from merchants.permissions import MEMBER_MAY_POST, NOT_MERCHANT_DATA, SIGNED_ENDPOINTS
from orders.models import BillbeeAccount
from sandbox.sevdesk.models import CheckAccount
from sandbox.sevdesk.services import sandbox_account_create
from tests.connections_factories import GOOD_TOKEN, ConnectionFactory
from tests.orders_factories import BillbeeAccountFactory, OrderFactory, ShopFactory
from tests.urlwalk import iter_routes, own_object, tenant_model_of, url_of, writes_in

NEW_TOKEN = "abcdefabcdefabcdefabcdefabcdef12"
OWNER_ONLY = [
    route
    for route in iter_routes()
    if route.name not in MEMBER_MAY_POST | NOT_MERCHANT_DATA | SIGNED_ENDPOINTS | {"health"}
]


@pytest.fixture
def sevdesk(sandbox_http, db):
    return sandbox_account_create(name="Beispiel GmbH", token=GOOD_TOKEN)


@pytest.fixture
def connection(merchant, sevdesk):
    shop = ShopFactory(merchant=merchant)
    return ConnectionFactory(merchant=merchant, shops=[shop], name="Hauptshop")


def _post(client, url, data=None):
    with CaptureQueriesContext(db) as queries:
        response = client.post(url, data or {})
    return response, writes_in(queries)


def test_the_walk_knows_which_urls_members_may_post_to():
    names = {route.name for route in iter_routes()}
    assert names >= MEMBER_MAY_POST
    assert {"orders:billbee_account", "connections:connection_edit"} <= {
        route.name for route in OWNER_ONLY
    }


@pytest.mark.parametrize("route", OWNER_ONLY, ids=lambda route: route.name)
def test_a_member_changes_nothing_through_any_url_but_export_and_retry(
    route, plain_member_client, merchant, sevdesk
):
    """Every POST URL is owner-only unless named in MEMBER_MAY_POST: a URL added later is too."""
    url = url_of(route, merchant)

    response, writes = _post(plain_member_client, url, {"name": "x", "action": "save"})

    assert response.status_code == 403, url
    assert "Nur Inhaber" in response.content.decode()
    assert writes == []


def test_a_member_cannot_replace_the_billbee_credentials(plain_member_client, merchant):
    account = BillbeeAccountFactory(merchant=merchant, username="inhaber")

    response, writes = _post(
        plain_member_client,
        reverse("orders:billbee_account"),
        {"api_key": "fremd", "username": "fremd", "api_password": "fremd", "action": "save"},
    )

    assert response.status_code == 403
    assert writes == []
    account.refresh_from_db()
    assert account.username == "inhaber"


def test_an_owner_can_replace_the_billbee_credentials(member_client, merchant):
    BillbeeAccountFactory(merchant=merchant, username="alt")

    response = member_client.post(
        reverse("orders:billbee_account"),
        {"api_key": "neu", "username": "neu", "api_password": "neu", "action": "save"},
    )

    assert response.status_code == 302
    assert BillbeeAccount.objects.get(merchant=merchant).username == "neu"


def test_a_member_cannot_replace_a_connection_token(plain_member_client, connection):
    shop = connection.shops.get()
    data = {
        "name": "Übernommen", "start_date": "2026-01-01", "shops": [shop.pk],
        "order_states": ["3"], "payment_reconciliation": "billbee", "api_token": NEW_TOKEN,
        "voucher_date_basis": "invoice", "action": "save",
    }  # fmt: skip

    response, writes = _post(plain_member_client, connection.get_absolute_url(), data)

    assert response.status_code == 403
    assert writes == []
    connection.refresh_from_db()
    assert (connection.name, connection.api_token) == ("Hauptshop", GOOD_TOKEN)


def test_a_member_cannot_create_a_connection(plain_member_client, merchant, sevdesk):
    response, writes = _post(plain_member_client, reverse("connections:connection_create"))
    assert writes == []

    assert response.status_code == 403
    assert not Connection.objects.exists()


def test_a_member_cannot_test_a_token_from_the_connection_form(
    plain_member_client, connection, sandbox_http
):
    response, writes = _post(plain_member_client, connection.get_absolute_url(), {"action": "test"})

    assert (response.status_code, writes) == (403, [])
    assert sandbox_http.sent == []


def test_a_member_cannot_change_the_account_assignment(plain_member_client, connection):
    offline = CheckAccount.objects.get(type="offline")

    response, writes = _post(
        plain_member_client,
        reverse("accounts_mapping:assignments_save", args=[connection.pk]),
        {"method_3": str(offline.pk)},
    )

    assert (response.status_code, writes) == (403, [])
    assert not AccountAssignment.objects.exists()


def test_an_owner_can_change_the_account_assignment(member_client, connection):
    offline = CheckAccount.objects.get(type="offline")

    member_client.post(
        reverse("accounts_mapping:assignments_save", args=[connection.pk]),
        {"method_3": str(offline.pk)},
    )

    assert AccountAssignment.objects.get().check_account_id == offline.pk


def test_a_member_cannot_create_an_offline_account(plain_member_client, connection, sandbox_http):
    count = CheckAccount.objects.count()

    response, writes = _post(
        plain_member_client,
        reverse("accounts_mapping:clearing_account_new", args=[connection.pk]),
        {"clearing-name": "Klarna", "clearing-accounting_number": "1363"},
    )

    assert (response.status_code, writes) == (403, [])
    assert CheckAccount.objects.count() == count
    assert sandbox_http.sent == []


def test_an_owner_can_create_an_offline_account(member_client, connection):
    member_client.post(
        reverse("accounts_mapping:clearing_account_new", args=[connection.pk]),
        {"clearing-name": "Klarna", "clearing-accounting_number": "1363"},
    )

    assert CheckAccount.objects.filter(name="Klarna").exists()


def test_a_member_may_retry_an_export(plain_member_client, merchant):
    export = own_object(OrderExport, merchant)

    response = plain_member_client.post(reverse("exports:order_export_retry", args=[export.pk]))

    assert response.status_code == 302
    export.refresh_from_db()
    assert export.status == OrderExport.Status.PENDING


def test_a_member_may_choose_orders_for_an_export(plain_member_client, merchant, connection):
    order = OrderFactory(merchant=merchant)

    response = plain_member_client.post(reverse("exports:manual_export"), {"order": [order.pk]})

    assert response.status_code == 200
    assert list(response.context["orders"]) == [order]


def test_a_member_sees_the_connection_read_only(plain_member_client, connection):
    response = plain_member_client.get(connection.get_absolute_url() + "?tab=accounts")

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="read-only-notice"' in page
    assert 'id="save-connection"' not in page and 'id="test-connection"' not in page
    assert page.count("<fieldset") == page.count('<fieldset class="plain"') == 2
    assert page.count(" disabled>") >= 2  # the settings and the account assignment
    assert 'value="Hauptshop"' in page  # the values are shown


def test_an_owner_sees_the_connection_to_change(member_client, connection):
    page = member_client.get(connection.get_absolute_url()).content.decode()

    assert 'id="read-only-notice"' not in page
    assert 'id="save-connection"' in page
    assert " disabled>" not in page.split('id="connection-form"')[1].split("</form>")[0]


def test_views_that_take_ids_name_their_model_for_the_role_walk_too():
    assert all(tenant_model_of(route.callback) for route in OWNER_ONLY if route.params)
