"""Revenue accounts ("Erlöskonten"): per connection and tax case, pre-filled from sevDesk's
guidance, refreshed on a successful test and a token change, editable on the Kontozuweisung tab.
"""

import datetime
import json
from decimal import Decimal

import pytest
import responses
from django.urls import reverse

from accounts_mapping.models import RevenueAccountAssignment
from accounts_mapping.selectors import revenue_accounts_for
from accounts_mapping.services import (
    RevenueAccountNotAllowed,
    RevenueChoice,
    revenue_accounts_refresh,
    revenue_accounts_save,
)
from connections.models import Connection
from connections.services import connection_test
from connections.sevdesk_client import RevenueAccount
from exports.models import OrderExport
from exports.services import exports_after_revenue_accounts_change
from exports.voucher_builder import (
    COUPON_ACCOUNT_KEY,
    VoucherLine,
    VoucherOrder,
    VoucherSettings,
    build_voucher,
)
from tests.connections_factories import GOOD_TOKEN, ConnectionFactory

API = "http://sevdesk.test/api/v1"
OTHER_TOKEN = "fedcba9876543210fedcba9876543210"
R19, R7, R0 = Decimal(19), Decimal(7), Decimal(0)


def account(datev_id, number, name, *rules):
    """A guidance entry; `rules` are (rule, (rates…)) pairs."""
    rates_by_rule = tuple((rule, tuple(Decimal(r) for r in rates)) for rule, rates in rules)
    return RevenueAccount(
        account_datev_id=datev_id,
        account_number=number,
        name=name,
        tax_rules=tuple(rule for rule, _ in rates_by_rule),
        tax_rates=tuple({r for _, rates in rates_by_rule for r in rates}),
        rates_by_rule=rates_by_rule,
    )


# An SKR04 sevDesk account: 4400 is sevDesk's usual 19 % account, 4401 another it allows.
SKR04 = [
    account(901, "4401", "Erlöse 19 % Marktplatz", (1, ("19",))),
    account(900, "4400", "Erlöse 19 % USt", (1, ("19",))),
    account(910, "4300", "Erlöse 7 % USt", (1, ("7",))),
    account(920, "4200", "Erlöse", (1, ("0",))),
    account(921, "4210", "Erlöse Mehrzweckgutscheine", (1, ("0",))),
]
# Another sevDesk account, SKR03: other ids, other numbers.
SKR03 = [
    account(500, "8400", "Erlöse 19 % USt", (1, ("19",))),
    account(510, "8300", "Erlöse 7 % USt", (1, ("7",))),
    account(520, "8200", "Erlöse", (1, ("0",))),
]


def rows(connection):
    return {
        (row.kind, row.tax_rule, row.tax_rate): (row.account_number, row.chosen_by)
        for row in RevenueAccountAssignment.objects.filter(connection=connection)
    }


@pytest.fixture
def connection(db, merchant):
    return ConnectionFactory(merchant=merchant)


def test_refresh_prefills_every_tax_case_with_sevdesks_usual_account(connection):
    revenue_accounts_refresh(connection=connection, guidance=SKR04)

    assert rows(connection) == {
        ("goods", 1, R19): ("4400", "sevdesk"),  # not 4401, which the guidance lists first
        ("goods", 1, R7): ("4300", "sevdesk"),
        ("goods", 1, R0): ("4200", "sevdesk"),
    }
    assert revenue_accounts_for(connection=connection) == {
        (1, R19): 900,
        (1, R7): 910,
        (1, R0): 920,
    }


def test_a_merchants_choice_stays_while_sevdesk_still_offers_it(connection):
    revenue_accounts_refresh(connection=connection, guidance=SKR04)
    revenue_accounts_save(
        connection=connection,
        choices=[RevenueChoice(kind="goods", case=(1, R19), account_id=901)],
    )

    changes = revenue_accounts_refresh(connection=connection, guidance=SKR04)

    assert changes == []
    assert rows(connection)[("goods", 1, R19)] == ("4401", "merchant")


def test_a_choice_sevdesk_no_longer_offers_is_replaced_and_shown(connection):
    revenue_accounts_refresh(connection=connection, guidance=SKR04)
    revenue_accounts_save(
        connection=connection,
        choices=[
            RevenueChoice(kind="goods", case=(1, R19), account_id=901),
            RevenueChoice(kind="shipping", case=(1, R19), account_id=901),
        ],
    )
    without_4401 = [a for a in SKR04 if a.account_number != "4401"]

    changes = revenue_accounts_refresh(connection=connection, guidance=without_4401)

    row = RevenueAccountAssignment.objects.get(connection=connection, kind="goods", tax_rate=R19)
    assert (row.account_number, row.chosen_by) == ("4400", "sevdesk")
    assert row.replaced_choice == "4401 Erlöse 19 % Marktplatz"
    assert not RevenueAccountAssignment.objects.filter(kind="shipping").exists()
    assert len(changes) == 2
    assert "4401 Erlöse 19 % Marktplatz" in changes[0] and "4400 Erlöse 19 % USt" in changes[0]


def test_saving_refuses_an_account_the_guidance_does_not_allow_for_the_case(connection):
    revenue_accounts_refresh(connection=connection, guidance=SKR04)

    with pytest.raises(RevenueAccountNotAllowed):
        revenue_accounts_save(
            connection=connection,
            choices=[
                RevenueChoice(kind="goods", case=(1, R7), account_id=910),
                RevenueChoice(kind="goods", case=(1, R19), account_id=910),  # a 7 % account
            ],
        )

    assert rows(connection)[("goods", 1, R7)] == ("4300", "sevdesk")  # nothing saved
    with pytest.raises(RevenueAccountNotAllowed):
        revenue_accounts_save(
            connection=connection,
            choices=[RevenueChoice(kind="goods", case=(1, R19), account_id=None)],
        )


def test_shipping_and_coupon_accounts_reach_the_voucher(connection):
    revenue_accounts_refresh(connection=connection, guidance=SKR04)
    revenue_accounts_save(
        connection=connection,
        choices=[
            RevenueChoice(kind="shipping", case=(1, R19), account_id=901),
            RevenueChoice(kind="coupon", case=(1, R0), account_id=921),
        ],
    )
    accounts = revenue_accounts_for(connection=connection)
    assert accounts[COUPON_ACCOUNT_KEY] == 921
    order = VoucherOrder(
        invoice_number="RE-1001",
        order_date=None,
        invoice_date=datetime.date(2026, 11, 30),
        payment_date=None,
        delivery_date=None,
        currency="EUR",
        vat_mode=0,
        total_gross=Decimal("114.90"),
        shipping_gross=R0,
        adjustment_gross=R0,
        lines=(
            VoucherLine(kind="item", gross=Decimal("119.00"), tax_rate=R19),
            VoucherLine(kind="shipping", gross=Decimal("5.90"), tax_rate=R19),
            VoucherLine(kind="coupon", gross=Decimal("-10.00"), tax_rate=R19),
        ),
        customer_name="Erika Mustermann",
        customer_vat_id=None,
    )
    settings = VoucherSettings(
        bookkeeping_version="2.0", voucher_date_basis="invoice", revenue_accounts=accounts
    )

    payload = build_voucher(order, settings, uploaded_filename=None, contact_id=None)
    positions = payload["voucherPosSave"]

    booked = {(p["accountDatev"]["id"], p["taxRate"], p["sumGross"]) for p in positions}
    assert booked == {
        (900, R19, Decimal("119.00")),
        (901, R19, Decimal("5.90")),
        (921, R0, Decimal("-10.00")),
    }


# --- Refreshed on a successful test, and after a token change ------------------------------


def guidance_json(accounts):
    names = {R0: "ZERO", R7: "SEVEN", R19: "NINETEEN"}
    return {
        "objects": [
            {
                "accountDatevId": str(a.account_datev_id),
                "accountNumber": a.account_number,
                "accountName": a.name,
                "allowedTaxRules": [
                    {"id": str(rule), "name": "R", "taxRates": [names[r] for r in rates]}
                    for rule, rates in a.rates_by_rule
                ],
                "allowedReceiptTypes": ["REVENUE"],
            }
            for a in accounts
        ]
    }


def two_sevdesk_accounts(mock):
    """GOOD_TOKEN opens sevDesk client 4711 (SKR04), OTHER_TOKEN client 4712 (SKR03)."""
    clients = {GOOD_TOKEN: ("4711", SKR04), OTHER_TOKEN: ("4712", SKR03)}

    def answer(what):
        def callback(request):
            client_id, guidance = clients[request.headers["Authorization"]]
            if what == "version":
                body = {"objects": {"version": "2.0"}}
            elif what == "accounts":
                body = {"objects": [check_account(client_id)]}
            else:
                body = guidance_json(guidance)
            return 200, {}, json.dumps(body)

        return callback

    mock.add_callback(
        responses.GET, f"{API}/Tools/bookkeepingSystemVersion", callback=answer("version")
    )
    mock.add_callback(responses.GET, f"{API}/CheckAccount", callback=answer("accounts"))
    mock.add_callback(
        responses.GET, f"{API}/ReceiptGuidance/forRevenue", callback=answer("guidance")
    )


def check_account(client_id):
    return {
        "id": "12",
        "objectName": "CheckAccount",
        "sevClient": {"id": client_id, "objectName": "SevClient"},
        "name": "PayPal Verrechnung",
        "type": "offline",
        "status": "100",
        "accountingNumber": "1361",
        "defaultAccount": "0",
    }


@pytest.fixture
def sevdesk_at_test_url(settings):
    settings.SEVDESK_API_BASE_URL = API
    settings.SEVDESK_REQUESTS_PER_SECOND = None


def test_a_token_of_another_sevdesk_account_brings_that_accounts_revenue_accounts(
    connection, sevdesk_http, sevdesk_at_test_url, django_capture_on_commit_callbacks
):
    two_sevdesk_accounts(sevdesk_http)
    with django_capture_on_commit_callbacks(execute=True):
        connection_test(connection=connection)
    assert revenue_accounts_for(connection=connection)[(1, R19)] == 900  # SKR04's 4400

    connection.set_token(OTHER_TOKEN)
    connection.save()
    with django_capture_on_commit_callbacks(execute=True):
        connection_test(connection=connection)

    connection.refresh_from_db()
    assert connection.sevdesk_client_id == 4712
    assert rows(connection) == {
        ("goods", 1, R19): ("8400", "sevdesk"),
        ("goods", 1, R7): ("8300", "sevdesk"),
        ("goods", 1, R0): ("8200", "sevdesk"),
    }
    assert revenue_accounts_for(connection=connection)[(1, R19)] == 500


def test_a_failed_guidance_read_keeps_the_test_successful(
    connection, sevdesk_http, sevdesk_at_test_url, django_capture_on_commit_callbacks
):
    two_sevdesk_accounts(sevdesk_http)
    sevdesk_http.replace(responses.GET, f"{API}/ReceiptGuidance/forRevenue", status=503)

    with django_capture_on_commit_callbacks(execute=True):
        result = connection_test(connection=connection)

    assert result.ok
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.OK
    assert rows(connection) == {}


# --- The screen ----------------------------------------------------------------------------


def test_the_tab_shows_each_tax_case_with_the_accounts_sevdesk_allows(
    member_client, connection, sevdesk_http, sevdesk_at_test_url
):
    two_sevdesk_accounts(sevdesk_http)
    revenue_accounts_refresh(connection=connection, guidance=SKR04)

    page = member_client.get(connection.get_absolute_url() + "?tab=accounts").content.decode()

    assert 'id="erloeskonten"' in page
    assert 'name="revenue:goods:1:19.00"' in page
    assert '<option value="900" selected>4400 Erlöse 19 % USt</option>' in page
    assert '<option value="901">4401 Erlöse 19 % Marktplatz</option>' in page
    assert 'name="revenue:shipping:1:7.00"' in page
    assert 'name="revenue:coupon"' in page
    assert "Umsatzsteuerpflichtige Umsätze, 19 %" in page


def test_the_merchant_chooses_revenue_accounts_on_the_tab(
    member_client, connection, sevdesk_http, sevdesk_at_test_url
):
    revenue_accounts_refresh(connection=connection, guidance=SKR04)
    url = reverse("accounts_mapping:revenue_accounts", args=[connection.pk])

    response = member_client.post(
        url,
        {
            "revenue:goods:1:19.00": "901",
            "revenue:goods:1:7.00": "910",
            "revenue:goods:1:0.00": "920",
            "revenue:shipping:1:19.00": "900",
            "revenue:shipping:1:7.00": "",
            "revenue:coupon": "921",
        },
        follow=True,
    )

    assert rows(connection) == {
        ("goods", 1, R19): ("4401", "merchant"),
        ("goods", 1, R7): ("4300", "sevdesk"),  # unchanged: still sevDesk's suggestion
        ("goods", 1, R0): ("4200", "sevdesk"),
        ("shipping", 1, R19): ("4400", "merchant"),
        ("coupon", 0, R0): ("4210", "merchant"),
    }
    assert "Die Erlöskonten wurden gespeichert." in response.content.decode()


def test_an_account_not_allowed_for_the_case_is_refused_and_nothing_saved(
    member_client, connection, sevdesk_http, sevdesk_at_test_url
):
    revenue_accounts_refresh(connection=connection, guidance=SKR04)
    before = rows(connection)
    url = reverse("accounts_mapping:revenue_accounts", args=[connection.pk])

    member_client.post(url, {"revenue:goods:1:19.00": "910", "revenue:goods:1:7.00": "910"})
    crafted = member_client.post(url, {"revenue:goods:1:19.00": "9x"})

    assert rows(connection) == before
    assert crafted.status_code == 400


def test_read_again_from_sevdesk_on_the_tab(
    member_client, connection, sevdesk_http, sevdesk_at_test_url
):
    two_sevdesk_accounts(sevdesk_http)
    url = reverse("accounts_mapping:revenue_accounts", args=[connection.pk])

    member_client.post(url, {"refresh": "1"})

    assert rows(connection)[("goods", 1, R19)] == ("4400", "sevdesk")


def test_a_plain_member_cannot_change_revenue_accounts(
    plain_member_client, connection, sevdesk_at_test_url
):
    revenue_accounts_refresh(connection=connection, guidance=SKR04)
    url = reverse("accounts_mapping:revenue_accounts", args=[connection.pk])

    response = plain_member_client.post(url, {"revenue:goods:1:19.00": "901"})

    assert response.status_code == 403
    assert rows(connection)[("goods", 1, R19)] == ("4400", "sevdesk")


# --- Exports that waited for a revenue account ---------------------------------------------


def test_exports_waiting_for_a_revenue_account_go_on_once_one_is_chosen(connection):
    from tests.orders_factories import OrderFactory

    waiting = OrderExport.objects.create(
        merchant=connection.merchant,
        connection=connection,
        order=OrderFactory(merchant=connection.merchant),
        status=OrderExport.Status.NEEDS_ACTION,
        problem=OrderExport.Problem.NO_REVENUE_ACCOUNT,
        attempt_count=3,
    )
    other = OrderExport.objects.create(
        merchant=connection.merchant,
        connection=connection,
        order=OrderFactory(merchant=connection.merchant),
        status=OrderExport.Status.NEEDS_ACTION,
        problem=OrderExport.Problem.OSS,
    )

    resumed = exports_after_revenue_accounts_change(connection_id=connection.pk)

    assert resumed == [waiting.pk]
    waiting.refresh_from_db()
    other.refresh_from_db()
    assert (waiting.status, waiting.attempt_count) == (OrderExport.Status.PENDING, 0)
    assert other.status == OrderExport.Status.NEEDS_ACTION
