"""The sevDesk client: what leaves (checked against sevDesk's spec) and how answers are read."""

import datetime
import json
import time
import uuid
from decimal import Decimal
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from connections.sevdesk_client import (
    CheckAccount,
    Contact,
    SevdeskAuthenticationFailed,
    SevdeskClient,
    SevdeskError,
    SevdeskNotFound,
    SevdeskRateLimited,
    SevdeskRejected,
    SevdeskTemporaryError,
    StaticCountry,
    VoucherSummary,
    encode_json,
)
from core.ratelimit import RateLimiter

BASE = "https://sevdesk.test/api/v1"


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex  # like sevDesk's: 32 hex characters, unique per test


@pytest.fixture
def client(token) -> SevdeskClient:
    return SevdeskClient(token=token, base_url=BASE, requests_per_second=None)


def sent(http, index: int = -1) -> requests.PreparedRequest:
    return http.calls[index].request


def sent_json(http, index: int = -1):
    return json.loads(sent(http, index).body, parse_float=Decimal)


def sent_query(http, index: int = -1) -> dict[str, list[str]]:
    return parse_qs(urlsplit(sent(http, index).url).query)


# --- Headers -------------------------------------------------------------------------------


def test_the_token_travels_in_the_authorization_header_and_never_in_the_url(
    sevdesk_http, client, token
):
    # given
    sevdesk_http.get(f"{BASE}/Tools/bookkeepingSystemVersion", json={"objects": {"version": "2.0"}})
    # when
    client.bookkeeping_system_version()
    # then
    request = sent(sevdesk_http)
    assert request.headers["Authorization"] == token
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == "billbee-sevdesk/0.1"
    assert token not in request.url


def test_the_client_never_shows_its_token_in_its_repr(client, token):
    assert token not in repr(client)


# --- Basics and accounts -------------------------------------------------------------------


def test_bookkeeping_system_version_reads_the_version(sevdesk_http, client):
    sevdesk_http.get(f"{BASE}/Tools/bookkeepingSystemVersion", json={"objects": {"version": "1.0"}})

    assert client.bookkeeping_system_version() == "1.0"
    assert sent(sevdesk_http).method == "GET"


def test_check_accounts_are_parsed_from_string_typed_fields(sevdesk_http, client):
    # given sevDesk's usual strings for ids, status and flags
    sevdesk_http.get(
        f"{BASE}/CheckAccount",
        json={
            "objects": [
                {
                    "id": "42",
                    "objectName": "CheckAccount",
                    "name": "PayPal (Billbee)",
                    "type": "offline",
                    "status": "100",
                    "accountingNumber": "1361",
                    "defaultAccount": "0",
                },
                {
                    "id": "7",
                    "objectName": "CheckAccount",
                    "name": "Sparkasse",
                    "type": "online",
                    "status": "0",
                    "defaultAccount": "1",
                },
            ]
        },
    )
    # when
    accounts = client.list_check_accounts()
    # then
    assert accounts == [
        CheckAccount(42, "PayPal (Billbee)", "offline", 100, 1361, False),
        CheckAccount(7, "Sparkasse", "online", 0, None, True),
    ]
    assert (accounts[0].is_offline, accounts[0].is_active) == (True, True)
    assert (accounts[1].is_offline, accounts[1].is_active) == (False, False)


def test_create_clearing_account_sends_name_and_booking_account(sevdesk_http, client):
    sevdesk_http.post(
        f"{BASE}/CheckAccount/Factory/clearingAccount",
        status=201,
        json={
            "objects": {
                "id": "43",
                "name": "PayPal (Billbee)",
                "type": "offline",
                "status": "100",
                "accountingNumber": "1361",
            }
        },
    )

    account = client.create_clearing_account(name="PayPal (Billbee)", accounting_number=1361)

    assert sent_json(sevdesk_http) == {"name": "PayPal (Billbee)", "accountingNumber": 1361}
    assert sent(sevdesk_http).headers["Content-Type"] == "application/json"
    assert account == CheckAccount(43, "PayPal (Billbee)", "offline", 100, 1361, False)


# --- Contacts ------------------------------------------------------------------------------


def test_contacts_are_searched_by_customer_number_including_persons(sevdesk_http, client):
    sevdesk_http.get(
        f"{BASE}/Contact",
        json={
            "objects": [
                {"id": "9", "customerNumber": "K-100", "surename": "Erika", "familyname": "M"}
            ]
        },
    )

    contacts = client.find_contacts_by_customer_number("K-100")

    # depth=1, or sevDesk only searches organisations and a person gets created again
    assert sent_query(sevdesk_http) == {"customerNumber": ["K-100"], "depth": ["1"]}
    assert contacts == [Contact(9, "K-100", None, "Erika", "M")]


def test_a_person_is_created_as_customer_with_sevdesks_field_names(sevdesk_http, client):
    sevdesk_http.post(
        f"{BASE}/Contact",
        status=201,
        json={"objects": {"id": "77", "customerNumber": "K-1", "surename": "Erika"}},
    )

    contact = client.create_contact(
        organisation=None,
        first_name="Erika",
        last_name="Mustermann",
        customer_number="K-1",
        vat_number=None,
    )

    assert sent_json(sevdesk_http) == {
        "surename": "Erika",
        "familyname": "Mustermann",
        "customerNumber": "K-1",
        "category": {"id": 3, "objectName": "Category"},
    }
    assert contact.id == 77


def test_an_organisation_is_created_from_the_bare_answer_the_spec_shows(sevdesk_http, client):
    # given the answer without the {"objects": ...} envelope, as the spec shows it
    sevdesk_http.post(
        f"{BASE}/Contact",
        status=201,
        json={"id": "78", "name": "Firma GmbH", "customerNumber": "K-2"},
    )

    contact = client.create_contact(
        organisation="Firma GmbH",
        first_name="Max",
        last_name="Muster",
        customer_number="K-2",
        vat_number="DE123456789",
    )

    assert sent_json(sevdesk_http) == {
        "name": "Firma GmbH",
        "customerNumber": "K-2",
        "vatNumber": "DE123456789",
        "category": {"id": 3, "objectName": "Category"},
    }
    assert contact == Contact(78, "K-2", "Firma GmbH", None, None)


def test_a_contact_without_any_name_is_refused_before_sending(sevdesk_http, client):
    with pytest.raises(ValueError, match="needs an organisation"):
        client.create_contact(
            organisation=None, first_name=None, last_name=None, customer_number="K", vat_number=None
        )
    assert len(sevdesk_http.calls) == 0


def test_an_address_is_added_to_a_contact(sevdesk_http, client):
    sevdesk_http.post(f"{BASE}/ContactAddress", status=201, json={"objects": {"id": "501"}})

    address_id = client.create_contact_address(
        contact_id=77, street="Musterweg 1", zip_code="10115", city="Berlin", country_id=1
    )

    assert sent_json(sevdesk_http) == {
        "contact": {"id": 77, "objectName": "Contact"},
        "street": "Musterweg 1",
        "zip": "10115",
        "city": "Berlin",
        "country": {"id": 1, "objectName": "StaticCountry"},
        "category": None,
    }
    assert address_id == 501


def test_an_email_is_added_to_a_contact(sevdesk_http, client):
    sevdesk_http.post(f"{BASE}/CommunicationWay", status=201, json={"objects": {"id": "601"}})

    way_id = client.create_contact_email(contact_id=77, email="erika@example.com", key_id=2)

    assert sent_json(sevdesk_http) == {
        "contact": {"id": 77, "objectName": "Contact"},
        "type": "EMAIL",
        "value": "erika@example.com",
        "key": {"id": 2, "objectName": "CommunicationWayKey"},
        "main": True,
    }
    assert way_id == 601


def test_static_countries_are_listed_with_upper_case_codes(sevdesk_http, client):
    sevdesk_http.get(
        f"{BASE}/StaticCountry",
        json={"objects": [{"id": "1", "code": "de", "name": "Deutschland", "nameEn": "Germany"}]},
    )

    assert client.list_static_countries() == [StaticCountry(1, "DE", "Deutschland")]
    assert sent_query(sevdesk_http) == {"limit": ["1000"]}


def test_communication_way_keys_are_listed(sevdesk_http, client):
    sevdesk_http.get(
        f"{BASE}/CommunicationWayKey",
        json={"objects": [{"id": "2", "name": "Arbeit"}, {"id": "8", "name": "Rechnungsadresse"}]},
    )

    keys = client.list_communication_way_keys()

    assert [(key.id, key.name) for key in keys] == [(2, "Arbeit"), (8, "Rechnungsadresse")]


# --- Vouchers ------------------------------------------------------------------------------


def test_a_pdf_is_uploaded_as_multipart_field_file(sevdesk_http, client):
    sevdesk_http.post(
        f"{BASE}/Voucher/Factory/uploadTempFile",
        status=201,
        json={"objects": {"filename": "f019bec36c65f5a0e7d2c63cc33f0681.pdf", "pages": "1"}},
    )

    remote_name = client.upload_temp_file(filename="RN-2026-0083.pdf", content=b"%PDF-1.4 x")

    request = sent(sevdesk_http)
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode() + request.body
    )
    (part,) = message.iter_parts()
    assert part.get_param("name", header="content-disposition") == "file"
    assert part.get_filename() == "RN-2026-0083.pdf"
    assert part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == b"%PDF-1.4 x"
    assert remote_name == "f019bec36c65f5a0e7d2c63cc33f0681.pdf"


VOUCHER_PAYLOAD = {
    "voucher": {
        "objectName": "Voucher",
        "mapAll": True,
        "voucherDate": "2026-11-02T00:00:00+01:00",
        "description": "RN-2026-0083",
        "supplierName": "Erika Mustermann",
        "status": 100,
        "creditDebit": "D",
        "voucherType": "VOU",
        "taxRule": {"id": "1", "objectName": "TaxRule"},
        "currency": "EUR",
    },
    "voucherPosSave": [
        {
            "objectName": "VoucherPos",
            "mapAll": True,
            "accountDatev": {"id": 26, "objectName": "AccountDatev"},
            "taxRate": Decimal("19"),
            "net": False,
            "sumGross": Decimal("57.49"),
            "comment": "Umsatz 19 %",
        }
    ],
    "voucherPosDelete": None,
}


def test_save_voucher_sends_amounts_as_exact_json_numbers(sevdesk_http, client):
    # given sevDesk's answer with everything as strings
    sevdesk_http.post(
        f"{BASE}/Voucher/Factory/saveVoucher",
        status=201,
        json={
            "objects": {
                "voucher": {"id": "1234", "status": "100", "sumGross": "57.49"},
                "voucherPos": [],
            }
        },
    )
    # when
    saved = client.save_voucher(VOUCHER_PAYLOAD)
    # then the amount left as the number 57.49, not a string and not 57.490000000000002
    assert b'"sumGross":57.49,' in sent(sevdesk_http).body
    assert sent_json(sevdesk_http) == VOUCHER_PAYLOAD
    assert (saved.id, saved.status, saved.sum_gross) == (1234, 100, Decimal("57.49"))


def test_save_voucher_reads_the_bare_answer_the_spec_shows(sevdesk_http, client):
    sevdesk_http.post(
        f"{BASE}/Voucher/Factory/saveVoucher",
        status=201,
        json={"voucher": {"id": 1235, "status": 100, "sumGross": 57.49}, "voucherPos": []},
    )

    saved = client.save_voucher(VOUCHER_PAYLOAD)

    assert (saved.id, saved.status, saved.sum_gross) == (1235, 100, Decimal("57.49"))


def test_vouchers_are_found_by_exact_description_only(sevdesk_http, client):
    # given sevDesk's substring match returning RN-1, RN-10 and RN-100
    sevdesk_http.get(
        f"{BASE}/Voucher",
        json={
            "objects": [
                {"id": "10", "description": "RN-10", "status": "100", "sumGross": "5.00"},
                {"id": "1", "description": "RN-1", "status": "100", "sumGross": "57.49"},
                {"id": "100", "description": "RN-100", "status": "1000", "sumGross": "1.00"},
            ]
        },
    )
    # when
    found = client.find_vouchers_by_description("RN-1")
    # then
    assert sent_query(sevdesk_http) == {
        "descriptionLike": ["RN-1"],
        "creditDebit": ["D"],
        "limit": ["1000"],
    }
    assert found == [VoucherSummary(1, "RN-1", 100, Decimal("57.49"), None, None)]


def test_a_paid_voucher_says_so_with_its_pay_date_in_german_time(sevdesk_http, client):
    # given a pay date that is still the 1st in UTC but already the 2nd in Berlin
    sevdesk_http.get(
        f"{BASE}/Voucher/1234",
        json={
            "objects": [
                {
                    "id": "1234",
                    "description": "RN-2026-0083",
                    "status": "1000",
                    "sumGross": "57.49",
                    "paidAmount": "57.49",
                    "payDate": "2026-11-01T23:30:00+00:00",
                }
            ]
        },
    )

    voucher = client.get_voucher(1234)

    assert voucher.is_paid
    assert voucher.pay_date == datetime.date(2026, 11, 2)
    assert voucher.paid_amount == Decimal("57.49")


def test_an_open_voucher_is_not_paid(sevdesk_http, client):
    sevdesk_http.get(
        f"{BASE}/Voucher/5",
        json={"objects": [{"id": "5", "description": "RN-5", "status": "100", "payDate": None}]},
    )

    voucher = client.get_voucher(5)

    assert not voucher.is_paid
    assert voucher.pay_date is None


@pytest.mark.parametrize(
    ("day", "amount", "sent_date", "sent_amount"),
    [
        (datetime.date(2026, 11, 2), Decimal("119"), "2026-11-02T00:00:00+01:00", b"119.00"),
        (datetime.date(2026, 7, 1), Decimal("10.005"), "2026-07-01T00:00:00+02:00", b"10.01"),
    ],
)
def test_a_payment_is_booked_at_midnight_in_berlin_with_a_cent_amount(
    sevdesk_http, client, day, amount, sent_date, sent_amount
):
    sevdesk_http.put(f"{BASE}/Voucher/1234/bookAmount", json={"objects": {"id": "2"}})

    client.book_amount(voucher_id=1234, amount=amount, date=day, check_account_id=42)

    assert b'"amount":' + sent_amount + b"," in sent(sevdesk_http).body
    assert sent_json(sevdesk_http) == {
        "amount": Decimal(sent_amount.decode()),
        "date": sent_date,
        "type": "FULL_PAYMENT",
        "checkAccount": {"id": 42, "objectName": "CheckAccount"},
        "createFeed": True,
    }


GUIDANCE = {
    "objects": [
        {
            "accountDatevId": "26",
            "accountNumber": "8400",
            "accountName": "Erlöse 19 % USt",
            "allowedTaxRules": [
                {"name": "USTPFL_UMS_EINN", "id": "1", "taxRates": ["SEVEN", "NINETEEN"]},
                {"name": "INNERGEM_LIEF", "id": 3, "taxRates": ["ZERO"]},
            ],
            "allowedReceiptTypes": ["REVENUE"],
        }
    ]
}


def test_revenue_guidance_lists_accounts_with_their_rules_and_rates(sevdesk_http, client):
    sevdesk_http.get(f"{BASE}/ReceiptGuidance/forRevenue", json=GUIDANCE)

    (account,) = client.revenue_guidance()

    assert (account.account_datev_id, account.account_number) == (26, "8400")
    assert account.name == "Erlöse 19 % USt"
    assert account.tax_rules == (1, 3)
    assert account.tax_rates == (Decimal("7"), Decimal("19"), Decimal("0"))
    assert account.allows(1, Decimal("19"))
    assert not account.allows(3, Decimal("19"))


def test_revenue_guidance_for_one_tax_rule_asks_for_that_rule(sevdesk_http, client):
    sevdesk_http.get(f"{BASE}/ReceiptGuidance/forTaxRule", json=GUIDANCE)

    accounts = client.revenue_guidance(tax_rule=11)

    assert sent_query(sevdesk_http) == {"taxRule": ["11"]}
    assert [a.account_datev_id for a in accounts] == [26]


# --- Errors --------------------------------------------------------------------------------


def test_401_is_an_authentication_failure_with_sevdesks_words(sevdesk_http, client):
    sevdesk_http.get(
        f"{BASE}/CheckAccount", status=401, json={"error": {"message": "Authentication required"}}
    )

    with pytest.raises(SevdeskAuthenticationFailed) as caught:
        client.list_check_accounts()

    assert caught.value.message == "Authentication required"


def test_401_without_a_body_still_says_authentication_required(sevdesk_http, client):
    sevdesk_http.get(f"{BASE}/CheckAccount", status=401, body="")

    with pytest.raises(SevdeskAuthenticationFailed, match=r"^Authentication required$"):
        client.list_check_accounts()


def test_404_is_not_found_and_a_kind_of_rejection(sevdesk_http, client):
    sevdesk_http.get(f"{BASE}/Voucher/99", status=404, json={"error": {"message": "Not found"}})

    with pytest.raises(SevdeskNotFound) as caught:
        client.get_voucher(99)

    assert isinstance(caught.value, SevdeskRejected)
    assert (caught.value.status, caught.value.message) == (404, "Not found")


def test_422_is_rejected_with_sevdesks_validation_message(sevdesk_http, client):
    message = "Tax rule 3 does not allow tax rate 19 for account 8400"
    sevdesk_http.post(
        f"{BASE}/Voucher/Factory/saveVoucher",
        status=422,
        json={"error": {"message": message, "exceptionUUID": "abc"}},
    )

    with pytest.raises(SevdeskRejected) as caught:
        client.save_voucher(VOUCHER_PAYLOAD)

    assert (caught.value.status, caught.value.message) == (422, message)


def test_400_with_a_plain_text_body_is_rejected_with_that_text(sevdesk_http, client):
    sevdesk_http.put(
        f"{BASE}/Voucher/5/bookAmount",
        status=400,
        body="You can only update draft documents",
        content_type="text/plain",
    )

    with pytest.raises(SevdeskRejected) as caught:
        client.book_amount(
            voucher_id=5, amount=Decimal("1"), date=datetime.date(2026, 1, 2), check_account_id=1
        )

    assert (caught.value.status, caught.value.message) == (
        400,
        "You can only update draft documents",
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [({"Retry-After": "30"}, 30.0), ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0)],
    ids=["seconds", "a date in the past"],
)
def test_429_is_rate_limited_with_the_retry_after_seconds(sevdesk_http, client, header, expected):
    sevdesk_http.get(
        f"{BASE}/CheckAccount",
        status=429,
        headers=header,
        json={"error": {"message": "Too many requests"}},
    )

    with pytest.raises(SevdeskRateLimited) as caught:
        client.list_check_accounts()

    assert caught.value.retry_after == expected


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        (500, "", "text/plain", "Internal Server Error"),
        (503, "", "text/plain", "Service Unavailable"),
        (500, "<html><body>Oops</body></html>", "text/html", "Internal Server Error"),
        (500, '{"error": {"message": "Call to a member function"}}', "application/json",
         "Call to a member function"),
    ],
)  # fmt: skip
def test_5xx_is_temporary_and_never_shows_html(
    sevdesk_http, client, status, body, content_type, expected
):
    sevdesk_http.get(f"{BASE}/CheckAccount", status=status, body=body, content_type=content_type)

    with pytest.raises(SevdeskTemporaryError) as caught:
        client.list_check_accounts()

    assert caught.value.message == expected


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (requests.ConnectTimeout("timed out"), "sevDesk did not answer in time"),
        (requests.ReadTimeout("timed out"), "sevDesk did not answer in time"),
        (requests.ConnectionError("refused"), "Could not connect to sevDesk"),
    ],
)
def test_timeouts_and_connection_errors_are_temporary(sevdesk_http, client, failure, expected):
    sevdesk_http.get(f"{BASE}/CheckAccount", body=failure)

    with pytest.raises(SevdeskTemporaryError, match=f"^{expected}$"):
        client.list_check_accounts()


def test_a_2xx_that_is_not_json_is_temporary(sevdesk_http, client):
    sevdesk_http.get(f"{BASE}/CheckAccount", body="<html>Wartungsarbeiten</html>", status=200)

    with pytest.raises(SevdeskTemporaryError, match="not JSON"):
        client.list_check_accounts()


def test_a_2xx_without_the_expected_fields_is_temporary(sevdesk_http, client):
    sevdesk_http.post(
        f"{BASE}/Voucher/Factory/saveVoucher", status=201, json={"objects": {"voucher": {}}}
    )

    with pytest.raises(SevdeskTemporaryError, match="lacks 'id'"):
        client.save_voucher(VOUCHER_PAYLOAD)


def test_every_error_is_a_sevdesk_error_and_none_shows_the_token(sevdesk_http, client, token):
    sevdesk_http.get(f"{BASE}/CheckAccount", status=403, json={"error": {"message": "Forbidden"}})

    with pytest.raises(SevdeskError) as caught:
        client.list_check_accounts()

    assert token not in str(caught.value)
    assert token not in repr(caught.value.__cause__)


# --- Rate limit ----------------------------------------------------------------------------


def test_requests_of_one_token_share_one_rate_limit(sevdesk_http, token):
    # given 2 requests per second for a token, kept by a real limiter shared by two clients
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    limiter = RateLimiter(sleep=sleep)
    first, second = (
        SevdeskClient(token=token, base_url=BASE, requests_per_second=2, limiter=limiter)
        for _ in range(2)
    )
    other = SevdeskClient(
        token=uuid.uuid4().hex, base_url=BASE, requests_per_second=2, limiter=limiter
    )
    sevdesk_http.get(f"{BASE}/Tools/bookkeepingSystemVersion", json={"objects": {"version": "2.0"}})
    started = time.monotonic()
    # when two requests of the token and one of another token are made at once
    first.bookkeeping_system_version()
    other.bookkeeping_system_version()  # another token: its own budget
    second.bookkeeping_system_version()
    assert waits == []
    # then the token's third request waits for the window to move on
    first.bookkeeping_system_version()
    assert time.monotonic() - started >= 0.95
    assert sum(waits) >= 0.9
    assert len(sevdesk_http.calls) == 4


def test_a_429_with_retry_after_pauses_the_token_for_every_client_sharing_the_limiter(
    sevdesk_http, token
):
    # given two clients of one token sharing a limiter (as two workers share Redis)
    limiter = RateLimiter()
    first, second = (
        SevdeskClient(token=token, base_url=BASE, requests_per_second=None, limiter=limiter)
        for _ in range(2)
    )
    other = SevdeskClient(
        token=uuid.uuid4().hex, base_url=BASE, requests_per_second=None, limiter=limiter
    )
    sevdesk_http.get(
        f"{BASE}/CheckAccount", status=429, headers={"Retry-After": "30"}, json=TOO_MANY
    )
    with pytest.raises(SevdeskRateLimited) as limited:
        first.list_check_accounts()
    assert (limited.value.retry_after, limited.value.status) == (30.0, 429)
    # when the second client of that token wants to send
    with pytest.raises(SevdeskRateLimited) as paused:
        second.bookkeeping_system_version()
    # then it is refused without a request, told how long the pause still runs
    assert 29 < paused.value.retry_after <= 30
    assert paused.value.status is None
    assert len(sevdesk_http.calls) == 1
    # and another token is not paused
    sevdesk_http.get(f"{BASE}/Tools/bookkeepingSystemVersion", json={"objects": {"version": "2.0"}})
    assert other.bookkeeping_system_version() == "2.0"
    assert len(sevdesk_http.calls) == 2


TOO_MANY = {"error": {"message": "Too many requests"}}


def test_429s_without_retry_after_back_off_exponentially_and_a_success_resets(sevdesk_http, token):
    # given a limiter whose back-off starts at 50 ms (2 s in production), without jitter
    limiter = RateLimiter(backoff_base=0.05, jitter=lambda: 0.0)
    client = SevdeskClient(token=token, base_url=BASE, requests_per_second=None, limiter=limiter)
    url = f"{BASE}/CheckAccount"
    for status in (429, 429, 200, 429):
        sevdesk_http.get(url, status=status, json=TOO_MANY if status == 429 else {"objects": []})

    pauses = []
    for _ in range(4):
        try:
            client.list_check_accounts()
        except SevdeskRateLimited as error:
            pauses.append(error.retry_after)
            assert client_is_paused(client, limiter) > 0
        time.sleep(0.12)  # past every pause above

    assert pauses == [0.05, 0.1, 0.05]  # doubled, then after the success from the start
    assert len(sevdesk_http.calls) == 4


def client_is_paused(client: SevdeskClient, limiter: RateLimiter) -> float:
    return limiter.paused_for(client._limit_key)


def test_the_back_off_of_a_429_has_jitter_and_reaches_the_retry_after_of_the_error(
    sevdesk_http, token
):
    limiter = RateLimiter(jitter=lambda: 0.999)
    client = SevdeskClient(token=token, base_url=BASE, requests_per_second=None, limiter=limiter)
    sevdesk_http.get(f"{BASE}/CheckAccount", status=429, json=TOO_MANY)

    with pytest.raises(SevdeskRateLimited) as limited:
        client.list_check_accounts()

    assert 2.0 < limited.value.retry_after < 2.5
    assert limited.value.retry_after - 0.01 < client_is_paused(client, limiter) <= 2.5


def voucher_object(voucher_id: int, description: str, **fields) -> dict:
    return {
        "id": str(voucher_id),
        "objectName": "Voucher",
        "description": description,
        "status": "100",
        "sumGross": "119.00",
        "voucherDate": "2026-03-02T00:00:00+01:00",
        "creditDebit": "D",
        **fields,
    }


def test_find_vouchers_pages_through_every_page_and_keeps_exact_descriptions(sevdesk_http, client):
    # given 230 vouchers matching "RN-1" as a substring, three of them exactly
    exact = {5, 150, 222}
    vouchers = [voucher_object(n, "RN-1" if n in exact else f"RN-1{n}") for n in range(1, 231)]
    for offset in (0, 100, 200):
        sevdesk_http.get(f"{BASE}/Voucher", json={"objects": vouchers[offset : offset + 100]})
    # when
    found = client.find_vouchers(
        description="RN-1",
        start_date=datetime.date(2026, 3, 1),
        end_date=datetime.date(2026, 3, 31),
    )
    # then three pages were asked for, in Berlin days as unix timestamps
    expected_query = {
        "descriptionLike": ["RN-1"],
        "creditDebit": ["D"],
        "limit": ["100"],
        "startDate": ["1772319600"],  # 2026-03-01 00:00 CET
        "endDate": ["1774994399"],  # 2026-03-31 23:59:59 CEST
    }
    assert [sent_query(sevdesk_http, i) for i in range(3)] == [
        expected_query,
        expected_query | {"offset": ["100"]},
        expected_query | {"offset": ["200"]},
    ]
    assert [v.id for v in found] == [5, 150, 222]
    assert found[0].voucher_date == datetime.date(2026, 3, 2)
    assert found[0].sum_gross == Decimal("119.00")


def test_find_vouchers_stops_after_a_full_last_page_answered_by_an_empty_one(sevdesk_http, client):
    page = [voucher_object(n, "RN-7") for n in range(1, 101)]
    sevdesk_http.get(f"{BASE}/Voucher", json={"objects": page})
    sevdesk_http.get(f"{BASE}/Voucher", json={"objects": []})

    found = client.find_vouchers(description="RN-7")

    assert len(found) == 100
    assert len(sevdesk_http.calls) == 2
    assert "startDate" not in sent_query(sevdesk_http, 0)


def test_find_vouchers_refuses_an_answer_that_ignores_the_offset(sevdesk_http, client):
    page = [voucher_object(n, "RN-7") for n in range(1, 101)]
    sevdesk_http.get(f"{BASE}/Voucher", json={"objects": page})  # the same for every offset

    with pytest.raises(SevdeskTemporaryError, match="same vouchers"):
        client.find_vouchers(description="RN-7")

    assert len(sevdesk_http.calls) == 2


def test_the_sevdesk_account_id_is_read_from_a_check_account(sevdesk_http, client):
    sevdesk_http.get(
        f"{BASE}/CheckAccount",
        json={
            "objects": [
                {
                    "id": "42",
                    "objectName": "CheckAccount",
                    "sevClient": {"id": "718293", "objectName": "SevClient"},
                    "name": "PayPal",
                }
            ]
        },
        match=[responses.matchers.query_param_matcher({"limit": "1"})],
    )

    assert client.sev_client_id() == 718293
    assert len(sevdesk_http.calls) == 1


@pytest.mark.parametrize(
    "objects",
    [[], [{"id": "42", "objectName": "CheckAccount"}], [{"id": "42", "sevClient": {"id": "x"}}]],
    ids=["no check account", "without sevClient", "id not a number"],
)
def test_without_a_readable_sev_client_the_account_id_is_refused_clearly(
    sevdesk_http, client, objects
):
    sevdesk_http.get(f"{BASE}/CheckAccount", json={"objects": objects})

    with pytest.raises(SevdeskRejected, match="which account this token belongs to"):
        client.sev_client_id()


def test_errors_carry_the_http_status_and_an_excerpt_of_the_answer_without_the_token(
    sevdesk_http, client, token
):
    body = json.dumps({"error": {"message": f"Token {token} is not allowed here"}}) + " x" * 400
    sevdesk_http.get(f"{BASE}/CheckAccount", status=422, body=body)

    with pytest.raises(SevdeskRejected) as caught:
        client.list_check_accounts()

    assert caught.value.status == 422
    assert caught.value.excerpt.startswith('{"error": {"message": "Token [token] is not allowed')
    assert len(caught.value.excerpt) == 300
    assert token not in caught.value.excerpt
    assert token not in caught.value.message


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, "<html>\n  <body>Oops</body>\n</html>", SevdeskTemporaryError),
        (401, "", SevdeskAuthenticationFailed),
        (404, '{"error": {"message": "Not found"}}', SevdeskNotFound),
        (429, "slow down", SevdeskRateLimited),
        (200, "<html>Wartungsarbeiten</html>", SevdeskTemporaryError),
    ],
)
def test_every_http_error_carries_its_status_and_excerpt(sevdesk_http, client, status, body, error):
    sevdesk_http.get(f"{BASE}/CheckAccount", status=status, body=body)

    with pytest.raises(error) as caught:
        client.list_check_accounts()

    assert caught.value.status == status
    assert caught.value.excerpt == " ".join(body.split())


def test_a_timeout_has_no_status_and_no_excerpt(sevdesk_http, client):
    sevdesk_http.get(f"{BASE}/CheckAccount", body=requests.ReadTimeout("timed out"))

    with pytest.raises(SevdeskTemporaryError) as caught:
        client.list_check_accounts()

    assert (caught.value.status, caught.value.excerpt) == (None, "")


def test_error_constructors_stay_compatible():
    assert SevdeskError("x").status is None
    assert SevdeskRateLimited(5).status == 429
    assert SevdeskRejected(422, "bad").status == 422
    assert SevdeskNotFound().status == 404
    assert SevdeskNotFound("gone", excerpt="{}").excerpt == "{}"


def test_encode_json_writes_decimals_as_plain_numbers():
    payload = {"a": Decimal("1E+2"), "b": [Decimal("0.10")], "c": "ä", "d": None, "e": True}

    assert encode_json(payload) == b'{"a":100,"b":[0.10],"c":"\\u00e4","d":null,"e":true}'
    with pytest.raises(ValueError, match="cannot be sent"):
        encode_json({"a": Decimal("NaN")})
