"""The sandbox sevDesk books payments as sevDesk does: parts (750), full payments, signs.

Every answer is checked against sevDesk's spec by `SandboxApi` (see the support module); the
bookAmount answer is also checked explicitly against the operation's response schema.
"""

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from sandbox.sevdesk.models import CheckAccount, Voucher, VoucherPayment
from sandbox.sevdesk.services import sandbox_account_create
from tests import sandbox_sevdesk_support as support
from tests.contracts.sevdesk import validate_sevdesk_response
from tests.sandbox_sevdesk_support import API, offline_account, position, save_voucher

D = Decimal
sandbox_account = support.sandbox_account
api = support.api


def book(api, voucher_id, amount, *, check_account, type="N", **changes):
    body = {
        "amount": amount,
        "date": "2026-11-02T00:00:00+01:00",
        "type": type,
        "checkAccount": {"id": check_account.pk, "objectName": "CheckAccount"},
        "createFeed": True,
    } | changes
    return api.put(f"/Voucher/{voucher_id}/bookAmount", body)


def shown(api, voucher_id) -> dict:
    """The voucher as GET /Voucher/{id} answers it."""
    [voucher] = api.get(f"/Voucher/{voucher_id}").objects
    return voucher


def an_expense_voucher(account, gross: str = "59.50") -> Voucher:
    """An open C voucher. The sandbox has revenue accounts only, so saveVoucher refuses C
    vouchers; the booking under test goes through the API all the same."""
    return Voucher.objects.create(
        account=account,
        status=Voucher.Status.OPEN,
        credit_debit=Voucher.CreditDebit.CREDIT,
        description="ER-2026-0007",
        supplier_name="Verpackung Nord GmbH",
        sum_net=D("50.00"),
        sum_tax=D("9.50"),
        sum_gross=D(gross),
    )


@pytest.fixture
def paypal(sandbox_account) -> CheckAccount:
    return offline_account(sandbox_account)


# --- Part payments -------------------------------------------------------------------------


def test_a_part_payment_leaves_the_voucher_partially_paid_with_its_paid_amount(api, paypal):
    voucher = save_voucher(api)  # 119.00

    answer = book(api, voucher["id"], 50.00, check_account=paypal)

    assert answer.status == 200
    assert (answer.objects["fromStatus"], answer.objects["toStatus"]) == ("100", "750")
    assert answer.objects["ammountPayed"] == "50.00"
    got = shown(api, voucher["id"])
    assert (got["status"], got["paidAmount"], got["sumGross"]) == ("750", 50.0, "119.00")
    assert got["payDate"] is None
    [listed] = api.get("/Voucher", {"status": 750}).objects
    assert (listed["id"], listed["status"], listed["paidAmount"]) == (voucher["id"], "750", 50.0)
    assert api.get("/Voucher", {"status": 1000}).objects == []


def test_the_rest_as_a_second_part_pays_the_voucher(api, paypal):
    voucher = save_voucher(api)
    book(api, voucher["id"], 50.00, check_account=paypal)

    answer = book(api, voucher["id"], 69.00, check_account=paypal, date="2026-11-05T00:00:00+01:00")

    assert (answer.objects["fromStatus"], answer.objects["toStatus"]) == ("750", "1000")
    got = shown(api, voucher["id"])
    assert (got["status"], got["paidAmount"]) == ("1000", 119.0)
    assert got["payDate"] == "2026-11-05T00:00:00+01:00"
    stored = Voucher.objects.get(pk=voucher["id"])
    assert (stored.paid_amount, stored.open_amount, stored.settled_difference) == (
        D("119.00"),
        D("0.00"),
        None,
    )
    assert list(VoucherPayment.objects.values_list("amount", "from_status", "to_status")) == [
        (D("50.00"), 100, 750),
        (D("69.00"), 750, 1000),
    ]


def test_a_part_payment_one_cent_short_stays_partially_paid(api, paypal):
    voucher = save_voucher(api)
    book(api, voucher["id"], 100.00, check_account=paypal)

    book(api, voucher["id"], 18.99, check_account=paypal)

    got = shown(api, voucher["id"])
    assert (got["status"], got["paidAmount"]) == ("750", 118.99)


def test_a_part_payment_beyond_the_open_amount_pays_the_voucher_and_shows_the_surplus(api, paypal):
    # the sandbox's assumption: an overpayment by N is taken
    voucher = save_voucher(api)
    book(api, voucher["id"], 100.00, check_account=paypal)

    answer = book(api, voucher["id"], 20.00, check_account=paypal)

    assert answer.status == 200
    got = shown(api, voucher["id"])
    assert (got["status"], got["paidAmount"], got["sumGross"]) == ("1000", 120.0, "119.00")
    assert Voucher.objects.get(pk=voucher["id"]).settled_difference == D("-1.00")


# --- FULL_PAYMENT --------------------------------------------------------------------------


def test_a_part_sent_as_full_payment_pays_the_voucher_with_less_paid(api, paypal):
    voucher = save_voucher(api)

    answer = book(api, voucher["id"], 100.00, check_account=paypal, type="FULL_PAYMENT")

    assert (answer.objects["toStatus"], answer.objects["ammountPayed"]) == ("1000", "100.00")
    got = shown(api, voucher["id"])
    assert (got["status"], got["paidAmount"], got["sumGross"]) == ("1000", 100.0, "119.00")
    assert D(str(got["paidAmount"])) < D(got["sumGross"])
    assert Voucher.objects.get(pk=voucher["id"]).settled_difference == D("19.00")


def test_full_payment_after_a_part_pays_the_rest(api, paypal):
    voucher = save_voucher(api)
    book(api, voucher["id"], 19.00, check_account=paypal)

    answer = book(api, voucher["id"], 100.00, check_account=paypal, type="FULL_PAYMENT")

    assert (answer.objects["fromStatus"], answer.objects["toStatus"]) == ("750", "1000")
    assert shown(api, voucher["id"])["paidAmount"] == 119.0


def test_a_skonto_closes_the_voucher_with_its_difference(api, paypal):
    voucher = save_voucher(api)

    book(api, voucher["id"], 116.62, check_account=paypal, type="CB")

    assert shown(api, voucher["id"])["status"] == "1000"
    assert Voucher.objects.get(pk=voucher["id"]).settled_difference == D("2.38")


def test_currency_fluctuation_is_refused_on_bookkeeping_2(api, paypal):
    voucher = save_voucher(api)

    answer = book(api, voucher["id"], 119.00, check_account=paypal, type="CF")

    assert answer.status == 400
    assert shown(api, voucher["id"])["status"] == "100"


# --- Signs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("type", ["N", "FULL_PAYMENT"])
def test_a_revenue_voucher_paid_with_a_negative_amount_stays_at_750(api, paypal, type):
    voucher = save_voucher(api)

    answer = book(api, voucher["id"], -119.00, check_account=paypal, type=type)

    assert answer.status == 200
    assert (answer.objects["toStatus"], answer.objects["ammountPayed"]) == ("750", "-119.00")
    got = shown(api, voucher["id"])
    assert (got["status"], got["paidAmount"]) == ("750", -119.0)


def test_an_expense_voucher_paid_with_a_negative_amount_is_paid(api, sandbox_account, paypal):
    voucher = an_expense_voucher(sandbox_account)

    answer = book(api, voucher.pk, -59.50, check_account=paypal, type="FULL_PAYMENT")

    assert (answer.objects["fromStatus"], answer.objects["toStatus"]) == ("100", "1000")
    got = shown(api, voucher.pk)
    assert (got["creditDebit"], got["status"], got["paidAmount"]) == ("C", "1000", -59.5)
    assert got["sumGross"] == "59.50"  # positive, like sevDesk's
    voucher.refresh_from_db()
    assert (voucher.open_amount, voucher.settled_difference) == (D("0.00"), None)


def test_an_expense_voucher_paid_in_negative_parts_reaches_1000_at_its_sum(
    api, sandbox_account, paypal
):
    voucher = an_expense_voucher(sandbox_account)

    first = book(api, voucher.pk, -20.00, check_account=paypal)
    second = book(api, voucher.pk, -39.50, check_account=paypal)

    assert (first.objects["toStatus"], second.objects["toStatus"]) == ("750", "1000")
    assert shown(api, voucher.pk)["paidAmount"] == -59.5


def test_an_expense_voucher_paid_with_a_positive_amount_stays_at_750(api, sandbox_account, paypal):
    voucher = an_expense_voucher(sandbox_account)

    answer = book(api, voucher.pk, 59.50, check_account=paypal, type="FULL_PAYMENT")

    assert answer.objects["toStatus"] == "750"
    voucher.refresh_from_db()
    assert (voucher.status, voucher.open_amount) == (750, D("119.00"))


# --- Refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("type", ["N", "FULL_PAYMENT"])
def test_a_paid_voucher_takes_no_more_bookings(api, paypal, type):
    # the sandbox's assumption: a voucher at 1000 refuses further bookings with 400
    voucher = save_voucher(api)
    book(api, voucher["id"], 119.00, check_account=paypal, type="FULL_PAYMENT")

    answer = book(api, voucher["id"], 1.00, check_account=paypal, type=type)

    assert answer.status == 400
    assert "already paid" in answer.error_message
    assert VoucherPayment.objects.count() == 1
    assert shown(api, voucher["id"])["paidAmount"] == 119.0


# --- The answer's shape --------------------------------------------------------------------


def test_the_book_amount_answer_is_the_specs_voucher_log(api, sandbox_account, paypal):
    voucher = save_voucher(api)

    answer = book(api, voucher["id"], 50.00, check_account=paypal)

    validate_sevdesk_response(
        "put",
        f"http://testserver{API}/Voucher/{voucher['id']}/bookAmount",
        status=200,
        body=answer.response.content,
    )
    log = answer.objects
    assert {key: log[key] for key in ("objectName", "fromStatus", "toStatus", "ammountPayed")} == {
        "objectName": "VoucherLog",
        "fromStatus": "100",
        "toStatus": "750",
        "ammountPayed": "50.00",
    }
    assert log["bookingDate"] == "2026-11-02T00:00:00+01:00"
    assert log["creditNote"] == {"id": voucher["id"], "objectName": "Voucher"}
    assert log["sevClient"]["id"] == str(sandbox_account.pk)
    assert all(isinstance(log[k], str) for k in ("fromStatus", "toStatus", "ammountPayed"))


def test_a_voucher_log_with_a_number_for_a_status_would_not_pass_the_spec(api, paypal):
    # the check above can fail: the spec types the statuses as strings
    voucher = save_voucher(api)
    log = book(api, voucher["id"], 50.00, check_account=paypal).objects

    with pytest.raises(AssertionError, match="toStatus"):
        validate_sevdesk_response(
            "put",
            f"http://testserver{API}/Voucher/{voucher['id']}/bookAmount",
            status=200,
            body=json.dumps({"objects": log | {"toStatus": 750}}),
        )


# --- Currencies ----------------------------------------------------------------------------


def test_check_accounts_answer_their_currency(api, sandbox_account):
    chf = CheckAccount.objects.create(
        account=sandbox_account,
        name="Verrechnungskonto CHF",
        type=CheckAccount.Type.OFFLINE,
        accounting_number="1461",
        currency="CHF",
    )

    currencies = {item["id"]: item["currency"] for item in api.get("/CheckAccount").objects}

    assert currencies[str(chf.pk)] == "CHF"
    assert set(currencies.values()) == {"EUR", "CHF"}  # the two every new account has: EUR


def test_a_foreign_currency_voucher_is_paid_in_its_own_currency(api, paypal):
    voucher = save_voucher(
        api,
        currency="USD",
        propertyExchangeRate=0.92,
        positions=[position(gross="119.00")],
    )

    book(api, voucher["id"], 100.00, check_account=paypal)  # dollars, on a euro account
    answer = book(api, voucher["id"], 19.00, check_account=paypal)

    assert answer.objects["toStatus"] == "1000"
    got = shown(api, voucher["id"])
    assert (got["currency"], got["sumGross"], got["paidAmount"]) == ("USD", "119.00", 119.0)


# --- The sandbox page ----------------------------------------------------------------------


@pytest.fixture
def owned_account(merchant):
    """The member's own sandbox account; the language a page request activates (it stays
    active in the thread) is put back afterwards, so later tests speak the default again."""
    language = translation.get_language()
    yield _owned_account(merchant)
    translation.activate(language)


def _owned_account(merchant):
    account = sandbox_account_create(name="Muster Shop GmbH")
    account.owner = merchant
    account.save(update_fields=["owner"])
    return account


def page_row(member_client, voucher_id, language) -> str:
    page = member_client.get(
        reverse("sandbox:sevdesk:voucher_list"), headers={"Accept-Language": language}
    ).content.decode()
    return re.search(rf'data-voucher-id="{voucher_id}".*?</tr>', page, re.S).group(0)


def test_the_page_shows_a_partly_paid_voucher_in_german(member_client, owned_account):
    owned_api = support.SandboxApi(member_client, owned_account.token)
    voucher = save_voucher(owned_api)
    book(owned_api, voucher["id"], 50.00, check_account=offline_account(owned_account))

    row = page_row(member_client, voucher["id"], "de")

    assert "750 · teilweise bezahlt" in row
    assert "bezahlt 50,00 EUR" in row


def test_the_page_shows_a_part_booked_as_full_payment_with_its_difference(
    member_client, owned_account
):
    owned_api = support.SandboxApi(member_client, owned_account.token)
    voucher = save_voucher(owned_api)
    paypal = offline_account(owned_account)
    book(owned_api, voucher["id"], 100.00, check_account=paypal, type="FULL_PAYMENT")

    row = page_row(member_client, voucher["id"], "en")

    assert "1000 · paid" in row
    assert "paid 100.00 EUR" in row
    assert "booked as fully paid, difference 19.00 EUR" in row
