"""Credit notes through the builder, with hand-computed expectations: a revenue voucher of its
own (creditDebit D, as the invoice) whose negative positions reduce the same revenue accounts,
rate by rate; every payload checked against sevDesk's spec for saveVoucher."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from connections.sevdesk_client import encode_json
from exports.mapping import voucher_order_from_credit_note
from exports.voucher_builder import COUPON_ACCOUNT_KEY, build_voucher, sevdesk_vat
from orders.models import OrderItem
from tests.contracts.sevdesk import validate_sevdesk_request
from tests.exports_fixtures import invoiced_order
from tests.test_voucher_builder import (
    REVENUE_7,
    REVENUE_19,
    SAVE_VOUCHER_URL,
    SETTINGS_2_0,
    SMALL_BUSINESS,
)

D = Decimal
CREDITED_AT = datetime(2026, 4, 7, 8, 0, tzinfo=UTC)
COUPONS = 8199


def credit_note(positions, fees=(), **changes):
    """A credit note as the document mirror keeps it (amounts as strings, negative)."""
    total = sum(D(p[0]) for p in positions) + sum(D(f[0]) for f in fees)
    values = {
        "number": "RE-2026-0001-GS",
        "invoice_date": CREDITED_AT,
        "pay_date": CREDITED_AT,
        "currency": "EUR",
        "total_gross": total,
        "vat_mode": 0,
        "positions": [
            {"billbee_id": billbee_id, "total_gross": gross, "total_vat": vat, "vat_rate": rate}
            for gross, vat, rate, billbee_id in positions
        ],
        "fees": [
            {"type": "ShipCost", "gross": gross, "vat": vat, "vat_rate": rate}
            for gross, vat, rate in fees
        ],
    }
    return SimpleNamespace(**(values | changes))


@pytest.fixture
def order(merchant, shop, sevdesk_account):
    """Invoice RE-2026-0001: 119.00 at 19 %, 53.50 at 7 %, a 10.00 coupon, 5.90 shipping."""
    order = invoiced_order(merchant, shop, 1, total_gross=D("168.40"))
    order.items.all().delete()
    for number, (gross, index, coupon) in enumerate(
        [("119.00", 1, False), ("53.50", 2, False), ("-10.00", 1, True)], start=1
    ):
        OrderItem.objects.create(
            merchant=merchant, order=order, position=number, billbee_id=number, quantity=1,
            total_price=D(gross), tax_amount=D(0), tax_index=index, is_coupon=coupon,
        )  # fmt: skip
    return order


def positions_of(order, document, settings=SETTINGS_2_0):
    voucher_order = voucher_order_from_credit_note(order, document, original_number="RE-2026-0001")
    payload = build_voucher(voucher_order, settings, uploaded_filename=None, contact_id=None)
    validate_sevdesk_request("POST", SAVE_VOUCHER_URL, body=encode_json(payload))
    return payload, [
        (p["accountDatev"]["id"], p["taxRate"], p["sumGross"], p["comment"])
        for p in payload["voucherPosSave"]
    ]


def test_a_full_credit_note_of_19_and_7_percent_with_shipping(order):
    document = credit_note(
        [("-119.00", "-19.00", "19", 1), ("-53.50", "-3.50", "7", 2)],
        fees=[("-5.90", "-0.94", "19")],
    )

    payload, positions = positions_of(order, document)

    # 19 %: -119.00 - 5.90 = -124.90, VAT -(19.00 + 0.94) = -19.94; sevDesk: -124.90 + 104.96
    assert positions == [
        (
            REVENUE_19,
            D(19),
            D("-124.90"),
            "Gutschrift zu RE-2026-0001, ohne PDF (Billbee bietet keins): Umsatz 19 %",
        ),
        (
            REVENUE_7,
            D(7),
            D("-53.50"),
            "Gutschrift zu RE-2026-0001, ohne PDF (Billbee bietet keins): Umsatz 7 %",
        ),
    ]
    assert sevdesk_vat(D("-124.90"), D(19)) == D("-19.94")
    assert sevdesk_vat(D("-53.50"), D(7)) == D("-3.50")
    head = payload["voucher"]
    assert (head["description"], head["creditDebit"], head["voucherType"]) == (
        "RE-2026-0001-GS",
        "D",
        "VOU",
    )
    assert head["voucherDate"].startswith("2026-04-07")
    assert "filename" not in payload


def test_a_partial_credit_note_of_one_7_percent_item_without_shipping(order):
    _payload, positions = positions_of(order, credit_note([("-53.50", "-3.50", "7", 2)]))

    assert positions == [
        (
            REVENUE_7,
            D(7),
            D("-53.50"),
            "Gutschrift zu RE-2026-0001, ohne PDF (Billbee bietet keins): Umsatz 7 %",
        ),
    ]


def test_a_credit_note_with_the_coupon_given_back_books_it_tax_free(order):
    # everything back, the coupon too: the multi-purpose voucher is returned as it was
    # redeemed, a tax-free +10.00 on the coupon account, never a VAT position
    document = credit_note(
        [("-119.00", "-19.00", "19", 1), ("-53.50", "-3.50", "7", 2), ("10.00", "1.60", "19", 3)],
        fees=[("-5.90", "-0.94", "19")],
    )
    settings = replace(
        SETTINGS_2_0,
        revenue_accounts={**SETTINGS_2_0.revenue_accounts, COUPON_ACCOUNT_KEY: COUPONS},
    )

    _payload, positions = positions_of(order, document, settings)

    assert [(account, rate, gross) for account, rate, gross, _c in positions] == [
        (REVENUE_19, D(19), D("-124.90")),
        (REVENUE_7, D(7), D("-53.50")),
        (COUPONS, D(0), D("10.00")),
    ]
    assert sum(p[2] for p in positions) == D("-168.40")


def test_a_usd_credit_note_is_a_usd_voucher_with_the_exchange_rate_of_its_day(order):
    document = credit_note([("-65.45", "-10.45", "19", 1)], currency="USD")

    payload, positions = positions_of(order, document)

    assert payload["voucher"]["currency"] == "USD"
    assert payload["voucher"]["propertyForeignCurrencyDeadline"].startswith("2026-04-07")
    assert [p[2] for p in positions] == [D("-65.45")]


def test_a_small_business_credit_note_books_no_vat_whatever_billbee_sent(order):
    order.vat_mode = 1
    order.save()
    document = credit_note(
        [("-45.00", "-7.18", "19", 1)], fees=[("-4.90", "-0.78", "19")], vat_mode=1
    )

    payload, positions = positions_of(order, document)

    assert positions == [
        (
            SMALL_BUSINESS,
            D(0),
            D("-49.90"),
            "Gutschrift zu RE-2026-0001, ohne PDF (Billbee bietet keins): Umsatz 0 %",
        ),
    ]
    assert payload["voucher"]["taxRule"]["id"] == "11"
