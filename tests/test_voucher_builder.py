"""build_voucher: the exact saveVoucher payload, with hand-computed amounts.

Every payload is also checked against sevDesk's spec, serialised the way the client sends it.
"""

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from connections.sevdesk_client import encode_json
from exports.voucher_builder import (
    VoucherLine,
    VoucherNotBuildable,
    VoucherOrder,
    VoucherSettings,
    build_voucher,
)
from tests.contracts.sevdesk import validate_sevdesk_request

D = Decimal
SAVE_VOUCHER_URL = "https://my.sevdesk.de/api/v1/Voucher/Factory/saveVoucher"

# sevDesk's AccountDatev (2.0) / AccountingType (1.0) ids; named after the SKR03 accounts.
REVENUE_19, REVENUE_7, REVENUE_0 = 8400, 8300, 8100
INTRA_EU, EXPORT, SMALL_BUSINESS = 8125, 8120, 8195

SETTINGS_2_0 = VoucherSettings(
    bookkeeping_version="2.0",
    voucher_date_basis="invoice",
    revenue_accounts={
        (1, D("19")): REVENUE_19,
        (1, D("7")): REVENUE_7,
        (1, D("0")): REVENUE_0,
        (3, D("0")): INTRA_EU,
        (2, D("0")): EXPORT,
        (11, D("0")): SMALL_BUSINESS,
    },
)


def item(gross: str, rate: str) -> VoucherLine:
    return VoucherLine(gross=D(gross), tax_rate=D(rate), kind="item")


def make_order(**changes) -> VoucherOrder:
    order = VoucherOrder(
        invoice_number="RN-2026-0083",
        order_date=date(2026, 10, 30),
        invoice_date=date(2026, 11, 2),
        payment_date=date(2026, 11, 3),
        delivery_date=date(2026, 10, 31),
        currency="EUR",
        vat_mode=0,
        total_gross=D("0"),
        shipping_gross=D("0"),
        adjustment_gross=D("0"),
        lines=(),
        customer_name="Erika Mustermann",
        customer_vat_id=None,
    )
    return dataclasses.replace(order, **changes)


def build(order, settings=SETTINGS_2_0, *, filename="f019b.pdf", contact_id=None) -> dict:
    payload = build_voucher(order, settings, uploaded_filename=filename, contact_id=contact_id)
    # every payload must be one sevDesk's spec accepts, as the client serialises it
    validate_sevdesk_request("POST", SAVE_VOUCHER_URL, body=encode_json(payload))
    return payload


def sums(payload) -> list[Decimal]:
    return [position["sumGross"] for position in payload["voucherPosSave"]]


def position(account: int, rate: str, gross: str, *, kind="accountDatev") -> dict:
    object_name = "AccountDatev" if kind == "accountDatev" else "AccountingType"
    return {
        "objectName": "VoucherPos",
        "mapAll": True,
        kind: {"id": account, "objectName": object_name},
        "taxRate": D(rate),
        "net": False,
        "sumGross": D(gross),
        "comment": f"Umsatz {rate} %",
    }


def voucher_head(**changes) -> dict:
    head = {
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
        "deliveryDate": "2026-10-31T00:00:00+01:00",
    }
    head.update(changes)
    return head


# --- Whole payloads ------------------------------------------------------------------------


def test_an_order_at_19_percent_becomes_one_position():
    # given 59.50 + 29.75 at 19 % and 4.90 shipping: 59.50 + 29.75 + 4.90 = 94.15
    order = make_order(
        lines=(item("59.50", "19"), item("29.75", "19")),
        shipping_gross=D("4.90"),
        total_gross=D("94.15"),
    )
    # when
    payload = build(order)
    # then
    assert payload == {
        "voucher": voucher_head(),
        "voucherPosSave": [position(REVENUE_19, "19", "94.15")],
        "voucherPosDelete": None,
        "filename": "f019b.pdf",
    }
    assert sum(sums(payload)) == D("94.15")


def test_mixed_rates_share_the_shipping_in_proportion_to_the_goods():
    # given 119.00 at 19 %, 53.50 at 7 %, 5.90 shipping; total 178.40
    # goods 119.00 + 53.50 = 172.50
    # shipping 19 %: 5.90 * 119.00 / 172.50 = 4.0701449… → 119.00 + 4.0701449 = 123.0701 → 123.07
    # shipping  7 %: 5.90 *  53.50 / 172.50 = 1.8298551… →  53.50 + 1.8298551 =  55.3299 →  55.33
    # 123.07 + 55.33 = 178.40
    order = make_order(
        lines=(item("119.00", "19"), item("53.50", "7")),
        shipping_gross=D("5.90"),
        total_gross=D("178.40"),
    )

    payload = build(order)

    assert payload["voucherPosSave"] == [
        position(REVENUE_19, "19", "123.07"),
        position(REVENUE_7, "7", "55.33"),
    ]
    assert sum(sums(payload)) == D("178.40")


def test_discounted_lines_and_a_coupon_are_booked_net_of_the_discount():
    # given 10 % off already in the lines: 100.00 → 90.00 at 19 %, 20.00 → 18.00 at 7 %,
    # a coupon of -5.00 (Billbee: TaxIndex 19 %), shipping 3.90; total 106.90
    # The coupon is a tax-free multi-purpose voucher (it used to reduce the 19 % position:
    # that was the defect). Goods 90.00 + 18.00 = 108.00
    # 19 %: 90.00 + 3.90 * 90 / 108 = 90.00 + 3.25 = 93.25
    #  7 %: 18.00 + 3.90 * 18 / 108 = 18.00 + 0.65 = 18.65
    # coupon: -5.00 at 0 % on the 0 % account of rule 1 (no dedicated coupon account here)
    # 93.25 + 18.65 - 5.00 = 106.90
    order = make_order(
        lines=(
            item("90.00", "19"),
            item("18.00", "7"),
            VoucherLine(gross=D("-5.00"), tax_rate=D("19"), kind="coupon"),
        ),
        shipping_gross=D("3.90"),
        total_gross=D("106.90"),
    )

    payload = build(order)

    assert payload["voucherPosSave"] == [
        position(REVENUE_19, "19", "93.25"),
        position(REVENUE_7, "7", "18.65"),
        {**position(REVENUE_0, "0", "-5.00"), "comment": "Mehrzweckgutschein"},
    ]
    assert sum(sums(payload)) == D("106.90")


def test_a_small_business_order_is_booked_without_vat_under_its_rule():
    # given §19 UStG: 45.00 + 4.90 shipping = 49.90, all at 0 %
    order = make_order(
        vat_mode=1,
        lines=(item("45.00", "0"),),
        shipping_gross=D("4.90"),
        total_gross=D("49.90"),
    )

    payload = build(order)

    assert payload["voucher"] == voucher_head(taxRule={"id": "11", "objectName": "TaxRule"})
    assert payload["voucherPosSave"] == [position(SMALL_BUSINESS, "0", "49.90")]
    assert sum(sums(payload)) == D("49.90")


def test_an_intra_eu_supply_to_a_business_is_tax_free_under_rule_3():
    # given a B2B customer with VAT id: 840.34 + 10.00 shipping = 850.34 at 0 %
    order = make_order(
        vat_mode=2,
        customer_name="Muster GmbH",
        customer_vat_id="ATU12345678",
        lines=(item("840.34", "0"),),
        shipping_gross=D("10.00"),
        total_gross=D("850.34"),
    )

    payload = build(order, contact_id=4711)

    assert payload == {
        "voucher": {
            **{k: v for k, v in voucher_head().items() if k != "supplierName"},
            "supplier": {"id": 4711, "objectName": "Contact"},
            "taxRule": {"id": "3", "objectName": "TaxRule"},
        },
        "voucherPosSave": [position(INTRA_EU, "0", "850.34")],
        "voucherPosDelete": None,
        "filename": "f019b.pdf",
    }
    assert "supplierName" not in payload["voucher"]
    assert sum(sums(payload)) == D("850.34")


def test_an_export_to_a_third_country_is_tax_free_under_rule_2():
    # given lines still carrying 19 % from the shop: export ignores it; 100.00 + 20.00 = 120.00
    order = make_order(
        vat_mode=3,
        lines=(item("100.00", "19"),),
        shipping_gross=D("20.00"),
        total_gross=D("120.00"),
    )

    payload = build(order)

    assert payload["voucher"]["taxRule"] == {"id": "2", "objectName": "TaxRule"}
    assert payload["voucherPosSave"] == [position(EXPORT, "0", "120.00")]
    assert sum(sums(payload)) == D("120.00")


def test_a_usd_order_names_the_day_for_the_exchange_rate():
    # given an export to the US in USD: 199.99 + 15.01 shipping = 215.00, invoice date 2 Nov
    order = make_order(
        vat_mode=3,
        currency="usd",
        lines=(item("199.99", "0"),),
        shipping_gross=D("15.01"),
        total_gross=D("215.00"),
    )

    payload = build(order)

    assert payload["voucher"] == voucher_head(
        taxRule={"id": "2", "objectName": "TaxRule"},
        currency="USD",
        propertyForeignCurrencyDeadline="2026-11-02T00:00:00+01:00",
    )
    assert payload["voucherPosSave"] == [position(EXPORT, "0", "215.00")]
    assert sum(sums(payload)) == D("215.00")


def test_billbees_28_decimal_amounts_are_rounded_once_at_the_end():
    # given Billbee's unrounded amounts
    # goods: 846.1929411764705882352941177 + 120.4766355140186915887850467
    #      = 966.6695766904892798240791644
    # total: + 4.99 shipping = 971.6595766904892798240791644 → 971.66
    # 19 %: 846.19294117647… + 4.99 * 846.19294117647… / 966.66957669049… = 846.19294 + 4.36809
    #     = 850.5610343… → 850.56
    #  7 %: 120.47663551401… + 4.99 * 120.47663551401… / 966.66957669049… = 120.47664 + 0.62191
    #     = 121.0985423… → 121.10
    # 850.56 + 121.10 = 971.66
    order = make_order(
        lines=(
            item("846.1929411764705882352941177", "19"),
            item("120.4766355140186915887850467", "7"),
        ),
        shipping_gross=D("4.9900000000000000000000000000"),
        total_gross=D("971.6595766904892798240791644"),
    )

    payload = build(order)

    assert sums(payload) == [D("850.56"), D("121.10")]
    assert sum(sums(payload)) == D("971.66")


def test_a_missing_cent_goes_to_the_position_that_lost_most_by_rounding():
    # given 10.00 at 19 %, 3.00 at 7 %, 5.00 at 0 %, shipping 0.08; total 18.08; goods 18.00
    # 19 %: 10.00 + 0.08 * 10 / 18 = 10.044444 → 10.04 (remainder +0.004444)
    #  7 %:  3.00 + 0.08 *  3 / 18 =  3.013333 →  3.01 (remainder +0.003333)
    #  0 %:  5.00 + 0.08 *  5 / 18 =  5.022222 →  5.02 (remainder +0.002222)
    # 10.04 + 3.01 + 5.02 = 18.07, one cent short of 18.08 → to 19 %, the largest remainder
    order = make_order(
        lines=(item("10.00", "19"), item("3.00", "7"), item("5.00", "0")),
        shipping_gross=D("0.08"),
        total_gross=D("18.08"),
    )

    assert sums(build(order)) == [D("10.05"), D("3.01"), D("5.02")]


def test_a_surplus_cent_is_taken_from_the_position_that_gained_most_by_rounding():
    # given the same goods with shipping 0.10; total 18.10
    # 19 %: 10.055556 → 10.06 (remainder -0.004444)
    #  7 %:  3.016667 →  3.02 (remainder -0.003333)
    #  0 %:  5.027778 →  5.03 (remainder -0.002222)
    # 10.06 + 3.02 + 5.03 = 18.11, one cent too much → taken from 19 %
    order = make_order(
        lines=(item("10.00", "19"), item("3.00", "7"), item("5.00", "0")),
        shipping_gross=D("0.10"),
        total_gross=D("18.10"),
    )

    assert sums(build(order)) == [D("10.05"), D("3.02"), D("5.03")]


def test_an_adjustment_is_split_like_shipping_and_rated_lines_stay_at_their_rate():
    # given goods 100.00 at 19 % and 100.00 at 7 %, shipping with a known rate of 19 % (5.00),
    # an adjustment of -10.00 without a rate; total 195.00
    # adjustment: -5.00 to each rate (goods 100 : 100)
    # 19 %: 100.00 + 5.00 - 5.00 = 100.00;  7 %: 100.00 - 5.00 = 95.00
    order = make_order(
        lines=(
            item("100.00", "19"),
            item("100.00", "7"),
            VoucherLine(gross=D("5.00"), tax_rate=D("19"), kind="shipping"),
        ),
        adjustment_gross=D("-10.00"),
        total_gross=D("195.00"),
    )

    assert sums(build(order)) == [D("100.00"), D("95.00")]


# --- Variants of the head ------------------------------------------------------------------


def test_bookkeeping_2_0_uses_tax_rules_and_datev_accounts():
    order = make_order(lines=(item("119.00", "19"), item("10.70", "7")), total_gross=D("129.70"))

    payload = build(order, SETTINGS_2_0)

    assert payload["voucher"]["taxRule"] == {"id": "1", "objectName": "TaxRule"}
    assert "taxType" not in payload["voucher"]
    assert [p["accountDatev"]["id"] for p in payload["voucherPosSave"]] == [8400, 8300]


def test_bookkeeping_1_0_is_refused():
    settings = VoucherSettings(
        bookkeeping_version="1.0", voucher_date_basis="invoice", revenue_accounts={}
    )
    with pytest.raises(ValueError, match="unsupported bookkeeping system"):
        build(make_order(), settings)


@pytest.mark.parametrize(
    ("basis", "expected"),
    [
        ("invoice", "2026-11-02T00:00:00+01:00"),
        ("payment", "2026-11-03T00:00:00+01:00"),
        ("order", "2026-10-30T00:00:00+01:00"),  # still before the switch to winter time
    ],
)
def test_the_voucher_date_follows_the_chosen_basis(basis, expected):
    # given invoice 2 Nov, payment 3 Nov, order 30 Oct 2026 (summer time ended 25 Oct)
    order = make_order(lines=(item("10.00", "19"),), total_gross=D("10.00"))
    settings = dataclasses.replace(SETTINGS_2_0, voucher_date_basis=basis)

    payload = build(order, settings)

    assert payload["voucher"]["voucherDate"] == expected


def test_a_summer_date_carries_the_summer_offset():
    order = make_order(
        invoice_date=date(2026, 7, 15),
        delivery_date=None,
        lines=(item("10.00", "19"),),
        total_gross=D("10.00"),
    )

    payload = build(order)

    assert payload["voucher"]["voucherDate"] == "2026-07-15T00:00:00+02:00"
    assert "deliveryDate" not in payload["voucher"]


def test_without_an_uploaded_file_there_is_no_filename():
    order = make_order(lines=(item("10.00", "19"),), total_gross=D("10.00"))

    payload = build(order, filename=None)

    assert "filename" not in payload
    assert payload["voucherPosDelete"] is None


def test_a_difference_of_exactly_one_cent_is_absorbed():
    # given lines of 10.00 but a total of 10.01 (Billbee rounded differently)
    order = make_order(lines=(item("10.00", "19"),), total_gross=D("10.01"))

    assert sums(build(order)) == [D("10.01")]


# --- What a person must fix ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("basis", "missing_field", "message"),
    [
        ("invoice", "invoice_date", "This order has no invoice date. Could not upload to sevDesk."),
        ("payment", "payment_date", "This order has no payment date. Could not upload to sevDesk."),
        ("order", "order_date", "This order has no order date. Could not upload to sevDesk."),
    ],
)
def test_no_voucher_date_for_the_chosen_basis_is_not_buildable(basis, missing_field, message):
    order = make_order(
        lines=(item("10.00", "19"),), total_gross=D("10.00"), **{missing_field: None}
    )
    settings = dataclasses.replace(SETTINGS_2_0, voucher_date_basis=basis)

    with translation.override("en"), pytest.raises(VoucherNotBuildable) as caught:
        build_voucher(order, settings, uploaded_filename=None, contact_id=None)

    assert caught.value.message == message


def test_a_rate_without_a_revenue_account_is_not_buildable():
    # 10.7 % used to serve here; a non-German rate is now refused as an OSS distance sale
    # (tests/test_voucher_builder_tax.py), so the missing account is the 7 % one.
    settings = dataclasses.replace(
        SETTINGS_2_0,
        revenue_accounts={k: v for k, v in SETTINGS_2_0.revenue_accounts.items() if k[1] != 7},
    )
    order = make_order(lines=(item("10.00", "19"), item("10.70", "7")), total_gross=D("20.70"))

    with translation.override("en"), pytest.raises(VoucherNotBuildable) as caught:
        build_voucher(order, settings, uploaded_filename=None, contact_id=None)

    assert caught.value.message == (
        "No revenue account is assigned to tax rule 1 with 7 % VAT. Please choose one under "
        "“Revenue accounts” on the connection's account assignment tab."
    )


def test_positions_that_miss_the_total_by_more_than_a_cent_are_not_buildable():
    # given 10.00 + 4.90 shipping = 14.90 against a total of 14.92
    order = make_order(
        lines=(item("10.00", "19"),), shipping_gross=D("4.90"), total_gross=D("14.92")
    )

    with translation.override("en"), pytest.raises(VoucherNotBuildable) as caught:
        build_voucher(order, SETTINGS_2_0, uploaded_filename=None, contact_id=None)

    assert caught.value.message == (
        "The order's positions add up to 14.90 EUR, but its total is 14.92 EUR. "
        "Please check the order in Billbee."
    )


def test_the_margin_scheme_is_not_buildable():
    order = make_order(vat_mode=4, lines=(item("10.00", "19"),), total_gross=D("10.00"))

    with translation.override("en"), pytest.raises(VoucherNotBuildable, match="margin scheme"):
        build_voucher(order, SETTINGS_2_0, uploaded_filename=None, contact_id=None)


def test_an_intra_eu_supply_without_vat_id_is_not_buildable():
    order = make_order(vat_mode=2, lines=(item("10.00", "0"),), total_gross=D("10.00"))

    with translation.override("en"), pytest.raises(VoucherNotBuildable, match="no VAT ID"):
        build_voucher(order, SETTINGS_2_0, uploaded_filename=None, contact_id=None)


def test_shipping_without_goods_to_share_it_is_not_buildable():
    order = make_order(shipping_gross=D("4.90"), total_gross=D("4.90"))

    with translation.override("en"), pytest.raises(VoucherNotBuildable, match="shipping costs"):
        build_voucher(order, SETTINGS_2_0, uploaded_filename=None, contact_id=None)


def test_a_zero_total_is_not_buildable():
    order = make_order(
        lines=(item("10.00", "19"), VoucherLine(D("-10.00"), D("19"), "coupon")),
        total_gross=D("0.00"),
    )

    with translation.override("en"), pytest.raises(VoucherNotBuildable, match="total is zero"):
        build_voucher(order, SETTINGS_2_0, uploaded_filename=None, contact_id=None)
