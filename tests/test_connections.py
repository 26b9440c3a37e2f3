"""The connection screens: properties and API tabs, test/save, and the account assignment."""

import datetime
import json
import logging

import pytest
import responses
from django.urls import reverse

from accounts_mapping.models import AccountAssignment
from connections.models import Connection
from tests.connections_factories import GOOD_TOKEN, ConnectionFactory
from tests.orders_factories import OrderFactory, ShopFactory

API = "http://sevdesk.test/api/v1"
TOKEN_REJECTED_DE = (
    "Beim Laden dieser Verbindung ist ein Fehler aufgetreten, kontrolliere Deine Zugangsdaten."
)
CHECK_ACCOUNTS = [
    {
        "id": "11",
        "objectName": "CheckAccount",
        "sevClient": {"id": "4711", "objectName": "SevClient"},
        "name": "Geschäftskonto",
        "type": "online",
        "status": "100",
        "accountingNumber": "1200",
        "defaultAccount": "1",
    },
    {
        "id": "12",
        "objectName": "CheckAccount",
        "sevClient": {"id": "4711", "objectName": "SevClient"},
        "name": "PayPal Verrechnung",
        "type": "offline",
        "status": "100",
        "accountingNumber": "1361",
        "defaultAccount": "0",
    },
    {
        "id": "13",
        "objectName": "CheckAccount",
        "sevClient": {"id": "4711", "objectName": "SevClient"},
        "name": "Alt",
        "type": "offline",
        "status": "0",
        "accountingNumber": "1362",
        "defaultAccount": "0",
    },
]


@pytest.fixture(autouse=True)
def sevdesk_at_test_url(settings):
    settings.SEVDESK_API_BASE_URL = API
    settings.SEVDESK_REQUESTS_PER_SECOND = None


def sevdesk_accepts(mock, token=GOOD_TOKEN, accounts=CHECK_ACCOUNTS):
    def answer(body):
        def callback(request):
            if request.headers.get("Authorization") != token:
                error = {"error": {"message": "Authentication required"}}
                return 401, {}, json.dumps(error)
            return 200, {}, json.dumps({"objects": body})

        return callback

    mock.add_callback(
        responses.GET, f"{API}/Tools/bookkeepingSystemVersion", callback=answer({"version": "2.0"})
    )
    mock.add_callback(responses.GET, f"{API}/CheckAccount", callback=answer(accounts))


def form_data(shop_list, **overrides):
    data = {
        "name": "Hauptshop",
        "start_date": "2026-01-01",
        "shops": [shop.pk for shop in shop_list],
        "order_states": ["3", "4"],
        "payment_reconciliation": "billbee",
        "api_token": GOOD_TOKEN,
        "voucher_date_basis": "invoice",
        "action": "save",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.parametrize(
    ("missing", "message"),
    [("shops", "Choose at least one shop."), ("order_states", "Choose at least one order state.")],
)
def test_a_connection_needs_at_least_one_shop_and_one_state(
    missing, message, member_client, merchant, sevdesk_http
):
    member_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    shop = ShopFactory(merchant=merchant)
    data = form_data([shop], **{missing: None})

    response = member_client.post(reverse("connections:connection_create"), data)

    assert response.status_code == 200
    assert response.context["form"].errors[missing] == [message]
    assert not Connection.objects.exists()


def test_save_with_a_wrong_token_keeps_the_settings_and_says_so(
    member_client, merchant, sevdesk_http
):
    sevdesk_accepts(sevdesk_http)
    shop = ShopFactory(merchant=merchant)

    response = member_client.post(
        reverse("connections:connection_create"),
        form_data([shop], api_token="ffffffffffffffffffffffffffffffff"),
        follow=True,
    )

    connection = Connection.objects.get()
    assert connection.status == Connection.Status.TOKEN_REJECTED
    assert list(connection.shops.all()) == [shop]
    assert connection.order_states == [3, 4]
    page = response.content.decode()
    assert TOKEN_REJECTED_DE in page
    assert 'data-tab="accounts"' not in page  # the third tab needs a working connection


def test_save_with_a_good_token_opens_the_account_assignment(member_client, merchant, sevdesk_http):
    sevdesk_accepts(sevdesk_http)
    shop = ShopFactory(merchant=merchant)

    response = member_client.post(
        reverse("connections:connection_create"), form_data([shop]), follow=True
    )

    connection = Connection.objects.get()
    assert connection.status == Connection.Status.OK
    assert connection.bookkeeping_version == "2.0"
    assert connection.api_token == GOOD_TOKEN
    assert response.context["tab"] == "accounts"
    page = response.content.decode()
    assert 'data-tab="accounts"' in page
    assert '<option value="12"' in page  # the active offline account is selectable
    assert '<option value="11" disabled' in page  # the bank account is not
    assert '<option value="13" disabled' in page  # nor the archived one


def test_leaving_the_token_empty_keeps_the_stored_one(member_client, merchant, sevdesk_http):
    sevdesk_accepts(sevdesk_http)
    shop = ShopFactory(merchant=merchant)
    connection = ConnectionFactory(merchant=merchant, shops=[shop])

    member_client.post(connection.get_absolute_url(), form_data([shop], api_token="", name="Neu"))

    connection.refresh_from_db()
    assert (connection.name, connection.api_token) == ("Neu", GOOD_TOKEN)


def test_test_connection_with_an_incomplete_form_tests_the_typed_token_and_saves_nothing(
    member_client, merchant, sevdesk_http
):
    member_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    sevdesk_accepts(sevdesk_http)

    response = member_client.post(
        reverse("connections:connection_create"), form_data([], action="test")
    )

    assert not Connection.objects.exists()
    assert "bookkeeping system 2.0" in response.content.decode().replace(
        "Buchhaltungssystem", "bookkeeping system"
    )
    assert len(sevdesk_http.calls) == 2


def test_the_token_never_appears_in_a_page_or_a_log_line(
    member_client, merchant, sevdesk_http, caplog
):
    caplog.set_level(logging.DEBUG)
    sevdesk_accepts(sevdesk_http)
    shop = ShopFactory(merchant=merchant)
    member_client.post(reverse("connections:connection_create"), form_data([shop]))
    connection = Connection.objects.get()

    pages = [
        member_client.get(reverse("connections:connection_list")),
        member_client.get(connection.get_absolute_url()),
        member_client.get(connection.get_absolute_url() + "?tab=api"),
        member_client.get(connection.get_absolute_url() + "?tab=accounts"),
        member_client.post(connection.get_absolute_url(), form_data([shop], action="test")),
    ]

    for page in pages:
        assert GOOD_TOKEN not in page.content.decode()
    assert "••••3f9a" in pages[2].content.decode()
    assert GOOD_TOKEN not in caplog.text
    assert all(GOOD_TOKEN not in str(record.args) for record in caplog.records)


def test_assigning_paypal_to_an_offline_account_is_saved(member_client, merchant, sevdesk_http):
    sevdesk_accepts(sevdesk_http)
    connection = ConnectionFactory(merchant=merchant)

    member_client.post(
        reverse("accounts_mapping:assignments_save", args=[connection.pk]),
        {"method_3": "12", "standard": "12", "method_1": ""},
    )

    assignments = {a.payment_method: a.check_account_name for a in AccountAssignment.objects.all()}
    assert assignments == {3: "PayPal Verrechnung", None: "PayPal Verrechnung"}


@pytest.mark.parametrize("account_id", ["11", "13", "999"])
def test_payments_are_never_assigned_to_bank_archived_or_unknown_accounts(
    account_id, member_client, merchant, sevdesk_http
):
    sevdesk_accepts(sevdesk_http)
    connection = ConnectionFactory(merchant=merchant)

    response = member_client.post(
        reverse("accounts_mapping:assignments_save", args=[connection.pk]),
        {"method_3": account_id},
        follow=True,
    )

    assert not AccountAssignment.objects.exists()
    assert (
        "cannot receive payments" in response.content.decode()
        or "kann keine Zahlungen" in response.content.decode()
    )


def test_payment_methods_seen_in_orders_come_first(member_client, merchant, sevdesk_http):
    sevdesk_accepts(sevdesk_http)
    connection = ConnectionFactory(merchant=merchant)
    OrderFactory.create_batch(2, merchant=merchant, payment_method=31)
    OrderFactory(merchant=merchant, payment_method=3)

    response = member_client.get(connection.get_absolute_url() + "?tab=accounts")

    seen = [row["method"] for row in response.context["seen_rows"]]
    assert seen == [31, 3]
    assert 31 not in [row["method"] for row in response.context["other_rows"]]


def test_creating_an_offline_account_sends_name_and_booking_account(
    member_client, merchant, sevdesk_http
):
    sevdesk_accepts(sevdesk_http)
    sevdesk_http.add(
        responses.POST,
        f"{API}/CheckAccount/Factory/clearingAccount",
        json={
            "objects": {
                **CHECK_ACCOUNTS[1],
                "id": "14",
                "name": "Klarna (Billbee)",
                "accountingNumber": "1363",
            }
        },
        status=201,
    )
    connection = ConnectionFactory(merchant=merchant)

    member_client.post(
        reverse("accounts_mapping:clearing_account_new", args=[connection.pk]),
        {"clearing-name": "Klarna (Billbee)", "clearing-accounting_number": "1363"},
    )

    sent = json.loads(sevdesk_http.calls[-1].request.body)
    assert sent == {"name": "Klarna (Billbee)", "accountingNumber": 1363}


def test_the_assignment_tab_says_when_sevdesk_reconciles(member_client, merchant, sevdesk_http):
    sevdesk_accepts(sevdesk_http)
    connection = ConnectionFactory(
        merchant=merchant, payment_reconciliation=Connection.PaymentReconciliation.SEVDESK
    )

    page = member_client.get(connection.get_absolute_url() + "?tab=accounts").content.decode()

    assert 'id="reconciliation-notice"' in page


# --- "Verbindung testen" tests, it does not save -------------------------------------------


def test_testing_does_not_make_a_changed_start_date_live(member_client, merchant, sevdesk_http):
    sevdesk_accepts(sevdesk_http)
    shop = ShopFactory(merchant=merchant)
    connection = ConnectionFactory(
        merchant=merchant, shops=[shop], start_date=datetime.date(2026, 1, 1), name="Hauptshop"
    )

    response = member_client.post(
        connection.get_absolute_url(),
        form_data([shop], start_date="2020-01-01", name="Nur getestet", api_token="",
                  action="test"),
    )  # fmt: skip

    assert response.status_code == 200
    connection.refresh_from_db()
    assert (connection.start_date, connection.name) == (datetime.date(2026, 1, 1), "Hauptshop")
    assert connection.status == Connection.Status.OK  # the stored token was tested: recorded
    page = response.content.decode()
    assert "Mit sevDesk verbunden" in page and "nichts gespeichert" in page
    assert 'value="2020-01-01"' in page  # what was typed is still in the form, not saved


def test_testing_a_typed_token_records_nothing_on_the_connection(
    member_client, merchant, sevdesk_http
):
    sevdesk_accepts(sevdesk_http)
    shop = ShopFactory(merchant=merchant)
    connection = ConnectionFactory(merchant=merchant, shops=[shop])
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.TOKEN_REJECTED)
    typed = "ffffffffffffffffffffffffffffffff"  # sevDesk refuses it

    member_client.post(connection.get_absolute_url(), form_data([shop], api_token=typed,
                                                                  action="test"))  # fmt: skip

    connection.refresh_from_db()
    assert connection.api_token == GOOD_TOKEN
    assert connection.status == Connection.Status.TOKEN_REJECTED
    assert connection.checked_at is None
    assert sevdesk_http.calls[0].request.headers["Authorization"] == typed


def test_testing_the_stored_token_records_the_result(member_client, merchant, sevdesk_http):
    sevdesk_accepts(sevdesk_http, token="another-token-entirely-0000000000")
    shop = ShopFactory(merchant=merchant)
    connection = ConnectionFactory(merchant=merchant, shops=[shop])

    member_client.post(connection.get_absolute_url(), form_data([shop], api_token="",
                                                                  action="test"))  # fmt: skip

    connection.refresh_from_db()
    assert connection.status == Connection.Status.TOKEN_REJECTED
    assert connection.checked_at is not None


def test_testing_a_new_connection_creates_none(member_client, merchant, sevdesk_http):
    sevdesk_accepts(sevdesk_http)
    shop = ShopFactory(merchant=merchant)

    response = member_client.post(
        reverse("connections:connection_create"), form_data([shop], action="test")
    )

    assert response.status_code == 200
    assert not Connection.objects.exists()
    assert "Mit sevDesk verbunden" in response.content.decode()


def test_the_page_script_gets_the_test_result_as_json(member_client, merchant, sevdesk_http):
    member_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    sevdesk_accepts(sevdesk_http)
    shop = ShopFactory(merchant=merchant)

    answer = member_client.post(
        reverse("connections:connection_create"),
        form_data([shop], action="test"),
        headers={"accept": "application/json"},
    ).json()

    assert answer["ok"] is True
    assert answer["message"] == "Connected to sevDesk (bookkeeping system 2.0)."
    assert "nothing has been saved" in answer["note"]
    assert not Connection.objects.exists()


def test_a_malformed_typed_token_is_not_sent_to_sevdesk(member_client, merchant, sevdesk_http):
    member_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    connection = ConnectionFactory(merchant=merchant)

    answer = member_client.post(
        connection.get_absolute_url(),
        form_data([], api_token="not-a-token", action="test"),
        headers={"accept": "application/json"},
    ).json()

    assert answer["ok"] is False
    assert "32 characters" in answer["message"]
    assert len(sevdesk_http.calls) == 0


def test_saving_after_a_test_stores_the_token_and_opens_the_account_assignment(
    member_client, merchant, sevdesk_http
):
    sevdesk_accepts(sevdesk_http)
    shop = ShopFactory(merchant=merchant)
    connection = ConnectionFactory(merchant=merchant, shops=[shop], api_token="f" * 32)
    url = connection.get_absolute_url()
    member_client.post(url, form_data([shop], action="test"))

    response = member_client.post(url, form_data([shop], action="save"))

    connection.refresh_from_db()
    assert connection.api_token == GOOD_TOKEN
    assert response["Location"] == f"{url}?tab=accounts"
