"""The connection form after a mistake: the banner names the tabs with errors, the first is
open and marked, the typed token is kept server-side (never in the page) for the next submit;
"Neu" on the account assignment refuses duplicates before sending and speaks German."""

import json

import responses
from django.urls import reverse

from connections.models import Connection
from tests.connections_factories import GOOD_TOKEN, ConnectionFactory
from tests.orders_factories import ShopFactory
from tests.test_connections import (  # the autouse fixture points the client at the mocks
    API,
    form_data,
    sevdesk_accepts,
    sevdesk_at_test_url,  # noqa: F401
)

NEW_TOKEN = "0123456789abcdef0123456789abcdef"


def test_an_error_on_the_other_tab_is_announced_marked_and_opened(
    member_client, merchant, sevdesk_http
):
    shop = ShopFactory(merchant=merchant)
    url = reverse("connections:connection_create") + "?tab=api"

    response = member_client.post(url, form_data([shop], order_states=None, api_token=GOOD_TOKEN))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="form-errors"' in page
    assert "Bitte die markierten Felder prüfen" in page and "Reiter Eigenschaften" in page
    assert response.context["tab"] == "properties"
    assert response.context["error_tabs"] == ["properties"]
    assert 'data-tab="properties" aria-selected="true" class="has-errors"' in page
    assert len(sevdesk_http.calls) == 0  # nothing was tested or saved


def test_the_typed_token_is_kept_for_the_next_submit_but_never_in_the_page(
    member_client, merchant, sevdesk_http
):
    sevdesk_accepts(sevdesk_http, token=NEW_TOKEN)
    shop = ShopFactory(merchant=merchant)
    url = reverse("connections:connection_create")

    first = member_client.post(url, form_data([shop], order_states=None, api_token=NEW_TOKEN))

    page = first.content.decode()
    assert NEW_TOKEN not in page
    assert "Eingegeben: ••••cdef" in page
    assert all(NEW_TOKEN not in str(value) for value in member_client.session.values())

    second = member_client.post(url, form_data([shop], api_token=""))  # field left empty

    assert second.status_code == 302
    connection = Connection.objects.get()
    assert connection.api_token == NEW_TOKEN
    assert connection.status == Connection.Status.OK
    assert not any(key.startswith("connection-held-token") for key in member_client.session.keys())  # noqa: SIM118 (a session is not iterable)


def test_a_held_token_is_forgotten_when_the_page_is_opened_again(
    member_client, merchant, sevdesk_http
):
    shop = ShopFactory(merchant=merchant)
    url = reverse("connections:connection_create")
    member_client.post(url, form_data([shop], order_states=None, api_token=NEW_TOKEN))

    member_client.get(url)
    response = member_client.post(url, form_data([shop], api_token=""))

    assert response.status_code == 200  # a new connection needs its token again
    assert "api_token" in response.context["form"].errors


def _assignment_page(member_client, connection) -> str:
    return member_client.get(connection.get_absolute_url() + "?tab=accounts").content.decode()


def test_a_booking_account_number_in_use_is_refused_before_anything_is_sent(
    member_client, merchant, sevdesk_http
):
    sevdesk_accepts(sevdesk_http)
    connection = ConnectionFactory(merchant=merchant)

    member_client.post(
        reverse("accounts_mapping:clearing_account_new", args=[connection.pk]),
        {"clearing-name": "Klarna", "clearing-accounting_number": "1361"},  # PayPal's
    )

    assert not [call for call in sevdesk_http.calls if call.request.method == "POST"]
    page = _assignment_page(member_client, connection)
    assert "Das Buchungskonto 1361 nutzt bereits das sevDesk-Zahlungskonto" in page
    assert 'value="Klarna"' in page and 'value="1361"' in page  # the input is kept


def test_sevdesks_english_refusal_is_told_in_german_and_the_input_kept(
    member_client, merchant, sevdesk_http
):
    sevdesk_accepts(sevdesk_http)
    sevdesk_http.add(
        responses.POST,
        f"{API}/CheckAccount/Factory/clearingAccount",
        json={"error": {"message": "Validation error: accountingNumber is invalid"}},
        status=422,
    )
    connection = ConnectionFactory(merchant=merchant)

    member_client.post(
        reverse("accounts_mapping:clearing_account_new", args=[connection.pk]),
        {"clearing-name": "Kasse Markt", "clearing-accounting_number": "99999"},
    )

    sent = [call for call in sevdesk_http.calls if call.request.method == "POST"]
    assert json.loads(sent[0].request.body) == {"name": "Kasse Markt", "accountingNumber": 99999}
    page = _assignment_page(member_client, connection)
    assert "sevDesk hat das Verrechnungskonto nicht angenommen" in page
    assert "(sevDesk: " in page
    assert 'value="Kasse Markt"' in page and 'value="99999"' in page
