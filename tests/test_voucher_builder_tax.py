"""build_voucher and tax: OSS distance sales and §19 small business, hand-computed."""

import dataclasses
from decimal import Decimal

import pytest
from django.utils import translation

from exports.voucher_builder import (
    COUPON_ACCOUNT_KEY,
    OssDistanceSale,
    VoucherLine,
    VoucherNotBuildable,
    build_voucher,
)
from tests.test_voucher_builder import (
    REVENUE_7,
    REVENUE_19,
    SETTINGS_2_0,
    SMALL_BUSINESS,
    build,
    item,
    make_order,
)
from tests.test_voucher_builder import position as gross_position

D = Decimal
OSS_MESSAGE = (
    "OSS distance sale – sevDesk does not allow OSS tax rules on vouchers. Book this invoice "
    "in sevDesk by hand (as an invoice with the OSS rule) or ask your tax adviser."
)


@pytest.mark.parametrize(
    ("rate", "gross"),
    [("20", "120.00"), ("5.5", "105.50"), ("9", "109.00")],  # AT, FR, NL
)
def test_a_distance_sale_at_a_foreign_rate_is_refused_as_oss(rate, gross):
    # given an EU consumer taxed in their country: 100.00 net + VAT at the foreign rate
    order = make_order(lines=(item(gross, rate),), total_gross=D(gross))

    with translation.override("en"), pytest.raises(OssDistanceSale) as caught:
        build_voucher(order, SETTINGS_2_0, uploaded_filename=None, contact_id=None)

    assert isinstance(caught.value, VoucherNotBuildable)
    assert caught.value.message == OSS_MESSAGE


def test_a_foreign_rate_next_to_german_goods_is_still_refused():
    # given 119.00 at 19 % and 120.00 at 20 % (AT) on one order
    order = make_order(lines=(item("119.00", "19"), item("120.00", "20")), total_gross=D("239"))

    with pytest.raises(OssDistanceSale):
        build_voucher(order, SETTINGS_2_0, uploaded_filename=None, contact_id=None)


def test_a_small_business_order_ignores_the_rates_billbee_sent():
    # given §19 UStG, but the shop still tagged the lines 19 % and 7 %:
    # 59.50 + 10.70 + 4.90 shipping = 75.10, one position at 0 % under rule 11
    order = make_order(
        vat_mode=1,
        lines=(item("59.50", "19"), item("10.70", "7")),
        shipping_gross=D("4.90"),
        total_gross=D("75.10"),
    )

    payload = build(order)

    assert payload["voucher"]["taxRule"] == {"id": "11", "objectName": "TaxRule"}
    assert payload["voucherPosSave"] == [gross_position(SMALL_BUSINESS, "0", "75.10")]


def test_a_small_business_order_at_a_foreign_rate_is_not_an_oss_sale():
    # given §19 with a line tagged 20 %: no VAT is charged, so nothing is refused
    order = make_order(vat_mode=1, lines=(item("20.00", "20"),), total_gross=D("20.00"))

    assert build(order)["voucherPosSave"] == [gross_position(SMALL_BUSINESS, "0", "20.00")]


# --- Coupons: tax-free multi-purpose vouchers --------------------------------------------

COUPON_ACCOUNT = 1718  # e.g. SKR03 "erhaltene Anzahlungen"/voucher liability, as configured
WITH_COUPON_ACCOUNT = dataclasses.replace(
    SETTINGS_2_0,
    revenue_accounts={**SETTINGS_2_0.revenue_accounts, COUPON_ACCOUNT_KEY: COUPON_ACCOUNT},
)


def coupon(gross: str, rate: str = "19") -> VoucherLine:
    return VoucherLine(gross=D(gross), tax_rate=D(rate), kind="coupon")


def coupon_position(account: int, gross: str) -> dict:
    return {**gross_position(account, "0", gross), "comment": "Mehrzweckgutschein"}


def test_a_coupon_larger_than_one_rates_goods_is_never_a_negative_vat_position():
    # given goods 53.50 at 7 % only and a coupon of -31.69 (TaxIndex 19 %: no 19 % goods)
    # shipping 4.90 → all to 7 %: 53.50 + 4.90 = 58.40; coupon -31.69 at 0 %
    # total 53.50 + 4.90 - 31.69 = 26.71
    order = make_order(
        lines=(item("53.50", "7"), coupon("-31.69")),
        shipping_gross=D("4.90"),
        total_gross=D("26.71"),
    )

    payload = build(order, WITH_COUPON_ACCOUNT)

    assert payload["voucherPosSave"] == [
        gross_position(REVENUE_7, "7", "58.40"),
        coupon_position(COUPON_ACCOUNT, "-31.69"),
    ]
    assert all(p["taxRate"] != D("19") for p in payload["voucherPosSave"])
    assert sum(p["sumGross"] for p in payload["voucherPosSave"]) == D("26.71")


def test_two_coupons_and_shipping_over_19_and_7_percent():
    # given 119.00 at 19 %, 53.50 at 7 %, coupons -20.00 and -5.00, shipping 5.90
    # goods (no coupons) 172.50
    # 19 %: 119.00 + 5.90 * 119.00 / 172.50 = 123.0701449 → 123.07
    #  7 %:  53.50 + 5.90 *  53.50 / 172.50 =  55.3298551 →  55.33
    # coupons: -20.00 and -5.00, each its own position at 0 %
    # total 119.00 + 53.50 + 5.90 - 25.00 = 153.40 = 123.07 + 55.33 - 20.00 - 5.00
    order = make_order(
        lines=(item("119.00", "19"), coupon("-20.00"), item("53.50", "7"), coupon("-5.00", "7")),
        shipping_gross=D("5.90"),
        total_gross=D("153.40"),
    )

    payload = build(order, WITH_COUPON_ACCOUNT)

    assert payload["voucherPosSave"] == [
        gross_position(REVENUE_19, "19", "123.07"),
        gross_position(REVENUE_7, "7", "55.33"),
        coupon_position(COUPON_ACCOUNT, "-20.00"),
        coupon_position(COUPON_ACCOUNT, "-5.00"),
    ]
    assert sum(p["sumGross"] for p in payload["voucherPosSave"]) == D("153.40")


def test_a_coupon_without_a_coupon_or_0_percent_account_is_not_buildable():
    settings = dataclasses.replace(
        SETTINGS_2_0,
        revenue_accounts={k: v for k, v in SETTINGS_2_0.revenue_accounts.items() if k != (1, 0)},
    )
    order = make_order(lines=(item("20.00", "19"), coupon("-5.00")), total_gross=D("15.00"))

    with translation.override("en"), pytest.raises(VoucherNotBuildable) as caught:
        build_voucher(order, settings, uploaded_filename=None, contact_id=None)

    assert caught.value.message == (
        "The order has a coupon, but no account is assigned to redeemed coupons "
        "(multi-purpose vouchers) and tax rule 1 has no 0 % account. Please choose one under "
        "“Revenue accounts” on the connection's account assignment tab."
    )
