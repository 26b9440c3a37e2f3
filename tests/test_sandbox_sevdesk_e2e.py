"""End to end: the real `SevdeskClient`, over real HTTP, against the sandbox in a live server.

Every request the client sends and every answer the sandbox gives is checked against
sevDesk's spec, so client and simulator cannot agree on something sevDesk would refuse.
"""

import datetime
import gc
import threading
import time
from decimal import Decimal

import pytest
import requests
from django.db import connections

from connections.sevdesk_client import (
    SevdeskAuthenticationFailed,
    SevdeskClient,
    SevdeskRateLimited,
    SevdeskTemporaryError,
)
from core import ratelimit
from sandbox.sevdesk.models import Contact, SandboxAccount, Voucher, VoucherPayment
from sandbox.sevdesk.services import fault_inject, sandbox_account_create
from tests.contracts.sevdesk import validate_sevdesk_request, validate_sevdesk_response
from tests.sandbox_sevdesk_support import pdf_bytes

pytestmark = pytest.mark.django_db(transaction=True)

# Answers that are not sevDesk's (see the support module): a proxy's lost-answer page.
PROXY_STATUSES = {504}


class SpecCheckedSession(requests.Session):
    """A session that checks each request and answer against sevDesk's spec."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.checked = 0
        self.hooks["response"].append(self._check)

    def _check(self, response: requests.Response, *args, **kwargs) -> None:
        request = response.request
        self.checked += 1
        try:
            validate_sevdesk_request(
                request.method, request.url, body=request.body, headers=dict(request.headers)
            )
            if response.status_code not in PROXY_STATUSES:
                validate_sevdesk_response(
                    request.method,
                    request.url,
                    status=response.status_code,
                    body=response.content,
                    content_type=response.headers["Content-Type"].split(";")[0],
                )
        except AssertionError as problem:
            self.problems.append(str(problem))


@pytest.fixture
def session(monkeypatch):
    # The live server's request threads outlive a test while the client keeps its connection
    # alive; with persistent database connections (CONN_MAX_AGE on PostgreSQL) one of them
    # stays open and the test database cannot be dropped. Close them after every request.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    checked = SpecCheckedSession()
    yield checked
    checked.close()
    # A caught exception's traceback (pytest.raises) can keep an answer, and with it its
    # connection, alive in a reference cycle; collect it so the connection really closes.
    gc.collect()
    _wait_for_live_server_requests_to_end()
    assert checked.checked > 0, "the client did not use the checking session"
    assert checked.problems == []


def _wait_for_live_server_requests_to_end(timeout: float = 5) -> None:
    """Closing the client's kept-alive connections ends the live server's request threads a
    moment later; each then closes its database connection. Let that happen before the next
    test (or the end of the session, when the shared SQLite connection stops being shared)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
        "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.01)


@pytest.fixture
def account() -> SandboxAccount:
    return sandbox_account_create(name="Muster Shop GmbH")


@pytest.fixture
def sevdesk(live_server, account, session) -> SevdeskClient:
    return SevdeskClient(
        token=account.token,
        base_url=live_server.url + "/sandbox/sevdesk/api/v1",
        timeout=10,
        requests_per_second=None,
        session=session,
    )


def revenue_voucher(*, description: str, filename: str, account_datev_id: int) -> dict:
    """A saveVoucher body as the exporter sends it for an invoice of 119.00 € at 19 %."""
    return {
        "voucher": {
            "objectName": "Voucher",
            "mapAll": True,
            "voucherDate": "2026-11-02T00:00:00+01:00",
            "description": description,
            "supplierName": "Erika Mustermann",
            "status": 100,
            "creditDebit": "D",
            "voucherType": "VOU",
            "taxRule": {"id": "1", "objectName": "TaxRule"},
            "currency": "EUR",
            "deliveryDate": "2026-11-01T00:00:00+01:00",
        },
        "voucherPosSave": [
            {
                "objectName": "VoucherPos",
                "mapAll": True,
                "accountDatev": {"id": account_datev_id, "objectName": "AccountDatev"},
                "taxRate": Decimal("19"),
                "net": False,
                "sumGross": Decimal("119.00"),
                "comment": "Waren 19 %",
            }
        ],
        "voucherPosDelete": None,
        "filename": filename,
    }


def revenue_account_for_19_percent(sevdesk: SevdeskClient) -> int:
    accounts = sevdesk.revenue_guidance(tax_rule=1)
    return next(a.account_datev_id for a in accounts if a.allows(1, Decimal("19")))


def test_the_client_books_an_invoice_with_its_pdf_and_payment(sevdesk, account):
    assert sevdesk.bookkeeping_system_version() == "2.0"
    account_datev_id = revenue_account_for_19_percent(sevdesk)
    filename = sevdesk.upload_temp_file(filename="RN-2026-0083.pdf", content=pdf_bytes())

    saved = sevdesk.save_voucher(
        revenue_voucher(
            description="RN-2026-0083", filename=filename, account_datev_id=account_datev_id
        )
    )
    sevdesk.save_voucher(
        revenue_voucher(
            description="RN-2026-00830", filename=filename, account_datev_id=account_datev_id
        )
    )
    [found] = sevdesk.find_vouchers_by_description("RN-2026-0083")
    [offline] = [a for a in sevdesk.list_check_accounts() if a.is_offline]
    sevdesk.book_amount(
        voucher_id=found.id,
        amount=Decimal("119.00"),
        date=datetime.date(2026, 11, 2),
        check_account_id=offline.id,
    )

    assert found.id == saved.id
    assert saved.sum_gross == Decimal("119.00")
    assert sevdesk.get_voucher(saved.id).is_paid
    stored = Voucher.objects.get(pk=saved.id)
    assert stored.file.content.read() == pdf_bytes()
    assert str(stored.voucher_date) == "2026-11-02"
    payment = VoucherPayment.objects.get()
    assert (payment.check_account.name, payment.amount) == (
        "Verrechnungskonto PayPal",
        Decimal("119.00"),
    )


def test_the_client_creates_a_customer_once_and_finds_the_person_again(sevdesk):
    countries = {country.code: country.id for country in sevdesk.list_static_countries()}
    keys = {key.name: key.id for key in sevdesk.list_communication_way_keys()}

    assert sevdesk.find_contacts_by_customer_number("K-1001") == []
    contact = sevdesk.create_contact(
        organisation=None,
        first_name="Erika",
        last_name="Mustermann",
        customer_number="K-1001",
        vat_number=None,
    )
    sevdesk.create_contact_address(
        contact_id=contact.id,
        street="Hauptstr. 1",
        zip_code="10115",
        city="Berlin",
        country_id=countries["DE"],
    )
    sevdesk.create_contact_email(
        contact_id=contact.id, email="erika@example.com", key_id=keys["Privat"]
    )

    [again] = sevdesk.find_contacts_by_customer_number("K-1001")
    assert again.id == contact.id
    stored = Contact.objects.get()
    assert stored.addresses.get().country.code == "de"
    assert stored.communication_ways.get().value == "erika@example.com"


def test_a_lost_answer_reaches_the_client_as_temporary_but_the_voucher_exists(sevdesk, account):
    account_datev_id = revenue_account_for_19_percent(sevdesk)
    filename = sevdesk.upload_temp_file(filename="RN-7.pdf", content=pdf_bytes())
    fault_inject(account=account, kind="lose_response", path_contains="saveVoucher")

    with pytest.raises(SevdeskTemporaryError):
        sevdesk.save_voucher(
            revenue_voucher(
                description="RN-7", filename=filename, account_datev_id=account_datev_id
            )
        )

    [found] = sevdesk.find_vouchers_by_description("RN-7")
    assert found.sum_gross == Decimal("119.00")


def test_fault_switches_reach_the_client_as_its_own_exceptions(sevdesk, account):
    fault_inject(account=account, kind="http_429", retry_after=7)
    fault_inject(account=account, kind="http_401")
    fault_inject(account=account, kind="http_500")

    with pytest.raises(SevdeskRateLimited) as rate_limited:
        sevdesk.list_check_accounts()
    with pytest.raises(SevdeskRateLimited):  # the token waits out Retry-After, sends nothing
        sevdesk.list_check_accounts()
    ratelimit.limiter_reset()  # … the 7 seconds have passed
    with pytest.raises(SevdeskAuthenticationFailed, match="Authentication required"):
        sevdesk.list_check_accounts()
    with pytest.raises(SevdeskTemporaryError, match="Internal Server Error"):
        sevdesk.list_check_accounts()

    assert rate_limited.value.retry_after == 7
    assert len(sevdesk.list_check_accounts()) == 2
