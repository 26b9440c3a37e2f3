"""Payments are booked only on active offline accounts, never on banks or cash registers."""

import json
import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from connections.sevdesk_client import CheckAccount, SevdeskClient
from exports.payments import PaymentAccountNotAllowed, payment_book

BASE = "https://sevdesk.test/api/v1"
CLEARING = CheckAccount(42, "PayPal (Billbee)", "offline", 100, 1361, False)
ARCHIVED = CheckAccount(43, "Altes Verrechnungskonto", "offline", 0, 1362, False)
BANK = CheckAccount(7, "Sparkasse", "online", 100, None, True)
REGISTER = CheckAccount(8, "Kasse", "register", 100, None, False)
ACCOUNTS = [CLEARING, ARCHIVED, BANK, REGISTER]


@pytest.fixture
def client() -> SevdeskClient:
    return SevdeskClient(token=uuid.uuid4().hex, base_url=BASE, requests_per_second=None)


def book(client, check_account_id, check_accounts=ACCOUNTS):
    payment_book(
        client=client,
        voucher_id=1234,
        amount=Decimal("57.49"),
        pay_date=date(2026, 11, 3),
        check_account_id=check_account_id,
        check_accounts=check_accounts,
    )


def put_calls(http) -> list:
    return [call for call in http.calls if call.request.method == "PUT"]


@pytest.mark.parametrize(
    ("account", "reason"),
    [(BANK, "not an offline account"), (REGISTER, "not an offline account")],
)
def test_a_bank_account_or_cash_register_is_refused_and_nothing_is_sent(
    sevdesk_http, client, account, reason
):
    sevdesk_http.put(f"{BASE}/Voucher/1234/bookAmount", json={"objects": {}})

    with translation.override("en"), pytest.raises(PaymentAccountNotAllowed, match=reason):
        book(client, account.id)

    assert put_calls(sevdesk_http) == []


def test_an_archived_offline_account_is_refused(sevdesk_http, client):
    sevdesk_http.put(f"{BASE}/Voucher/1234/bookAmount", json={"objects": {}})

    with translation.override("en"), pytest.raises(PaymentAccountNotAllowed, match="archived"):
        book(client, ARCHIVED.id)

    assert put_calls(sevdesk_http) == []


def test_an_unknown_account_is_refused(sevdesk_http, client):
    sevdesk_http.put(f"{BASE}/Voucher/1234/bookAmount", json={"objects": {}})

    with translation.override("en"), pytest.raises(PaymentAccountNotAllowed, match="id 999"):
        book(client, 999)

    assert put_calls(sevdesk_http) == []


def test_an_active_offline_account_gets_exactly_one_booking(sevdesk_http, client):
    sevdesk_http.put(f"{BASE}/Voucher/1234/bookAmount", json={"objects": {"id": "1"}})

    book(client, CLEARING.id)

    (call,) = put_calls(sevdesk_http)
    assert json.loads(call.request.body, parse_float=Decimal) == {
        "amount": Decimal("57.49"),
        "date": "2026-11-03T00:00:00+01:00",
        "type": "FULL_PAYMENT",
        "checkAccount": {"id": 42, "objectName": "CheckAccount"},
        "createFeed": True,
    }


def test_without_a_given_list_the_accounts_are_read_from_sevdesk_first(sevdesk_http, client):
    # given sevDesk says account 42 is an online bank account
    sevdesk_http.get(
        f"{BASE}/CheckAccount",
        json={"objects": [{"id": "42", "name": "Bank", "type": "online", "status": "100"}]},
    )
    sevdesk_http.put(f"{BASE}/Voucher/1234/bookAmount", json={"objects": {}})

    # when booking on it without a cached list, then it is refused
    with pytest.raises(PaymentAccountNotAllowed):
        book(client, 42, check_accounts=None)

    assert [call.request.method for call in sevdesk_http.calls] == ["GET"]
