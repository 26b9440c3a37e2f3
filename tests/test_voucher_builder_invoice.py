"""build_voucher against the invoice: VAT per rate as Billbee's invoice states it, to the cent.

sevDesk computes a position's VAT from its gross (`sumTax` is read-only), and rounds per
position. Billbee's invoice rounds VAT per line. Where the two differ for one position per
rate, the builder sends the rate's lines as positions of their own, so that sevDesk's VAT per
rate equals the invoice's. All expectations are computed by hand in the comments.
"""

import dataclasses
from decimal import Decimal

import pytest
from django.utils import translation

from exports.voucher_builder import (
    VoucherLine,
    VoucherNotBuildable,
    sevdesk_vat,
)
from tests.test_voucher_builder import (
    REVENUE_7,
    REVENUE_19,
    SETTINGS_2_0,
    build,
    make_order,
)

D = Decimal
SHIPPING_19 = 8401  # a merchant's own account for shipping at 19 %


def line(gross: str, rate: str, vat: str | None, kind: str = "item") -> VoucherLine:
    return VoucherLine(
        gross=D(gross), tax_rate=D(rate), kind=kind, vat=None if vat is None else D(vat)
    )


def vat_per_rate(payload) -> dict[Decimal, Decimal]:
    """The VAT sevDesk books per rate for these positions (it computes it from the gross)."""
    totals: dict[Decimal, Decimal] = {}
    for position in payload["voucherPosSave"]:
        rate = D(position["taxRate"])
        totals[rate] = totals.get(rate, D(0)) + sevdesk_vat(position["sumGross"], rate)
    return totals


def test_sevdesk_computes_vat_from_the_gross_and_rounds_per_position():
    # 2.97 * 19 / 119 = 0.47420… → 0.47; 0.99 * 19 / 119 = 0.15807… → 0.16
    assert sevdesk_vat(D("2.97"), D("19")) == D("0.47")
    assert sevdesk_vat(D("0.99"), D("19")) == D("0.16")
    assert sevdesk_vat(D("10.70"), D("7")) == D("0.70")
    assert sevdesk_vat(D("5.00"), D("0")) == D("0.00")


def test_per_line_rounding_three_times_99_cents_books_the_invoices_48_cents_of_vat():
    # given the invoice: 3 lines of 0.99 at 19 %, each VAT 0.16 (rounded per line): 0.48 VAT.
    # One position of 2.97 would make sevDesk compute 0.47; three positions of 0.99 give 0.48.
    order = make_order(
        lines=tuple(line("0.99", "19", "0.16") for _ in range(3)), total_gross=D("2.97")
    )

    payload = build(order)

    positions = payload["voucherPosSave"]
    assert [p["sumGross"] for p in positions] == [D("0.99")] * 3
    assert {p["accountDatev"]["id"] for p in positions} == {REVENUE_19}
    assert vat_per_rate(payload) == {D("19"): D("0.48")}
    assert sum(p["sumGross"] for p in positions) == D("2.97")


def test_one_position_per_rate_when_its_vat_already_equals_the_invoice():
    # 19.99 + 9.99 at 19 %: VAT per line 3.19 + 1.60 = 4.79; 29.98 * 19/119 = 4.7867 → 4.79
    order = make_order(
        lines=(line("19.99", "19", "3.19"), line("9.99", "19", "1.60")), total_gross=D("29.98")
    )

    payload = build(order)

    assert [p["sumGross"] for p in payload["voucherPosSave"]] == [D("29.98")]
    assert vat_per_rate(payload) == {D("19"): D("4.79")}


def test_shipping_and_an_adjustment_at_mixed_rates_match_the_invoices_additional_fees():
    # given the invoice: items 119.00 at 19 % (VAT 19.00) and 10.70 at 7 % (VAT 0.70);
    # AdditionalFees: shipping 4.90 at 19 % (VAT 0.78), a 2.14 fee at 7 % (VAT 0.14).
    # Per rate: 19 %: 123.90 gross, VAT 19.78 (123.90*19/119 = 19.782 → 19.78: one position)
    #           7 %:  12.84 gross, VAT 0.84 (12.84*7/107 = 0.84: one position). Total 136.74.
    order = make_order(
        lines=(
            line("119.00", "19", "19.00"),
            line("10.70", "7", "0.70"),
            line("4.90", "19", "0.78", kind="shipping"),
            line("2.14", "7", "0.14", kind="adjustment"),
        ),
        total_gross=D("136.74"),
    )

    payload = build(order)

    assert [
        (p["taxRate"], p["sumGross"], p["accountDatev"]["id"]) for p in payload["voucherPosSave"]
    ] == [(D("19"), D("123.90"), REVENUE_19), (D("7"), D("12.84"), REVENUE_7)]
    assert vat_per_rate(payload) == {D("19"): D("19.78"), D("7"): D("0.84")}


def test_shipping_goes_to_its_own_account_when_the_merchant_chose_one():
    # same invoice as above; the merchant books shipping at 19 % on 8401
    settings = dataclasses.replace(
        SETTINGS_2_0,
        revenue_accounts={**SETTINGS_2_0.revenue_accounts, ("shipping", 1, D("19")): SHIPPING_19},
    )
    order = make_order(
        lines=(line("119.00", "19", "19.00"), line("4.90", "19", "0.78", kind="shipping")),
        total_gross=D("123.90"),
    )

    payload = build(order, settings)

    assert [
        (p["sumGross"], p["accountDatev"]["id"], p["comment"]) for p in payload["voucherPosSave"]
    ] == [(D("119.00"), REVENUE_19, "Umsatz 19 %"), (D("4.90"), SHIPPING_19, "Versand 19 %")]
    # 19.00 + 0.78 = 19.78, the invoice's VAT at 19 %
    assert vat_per_rate(payload) == {D("19"): D("19.78")}


def test_vat_that_no_split_of_the_lines_can_reach_is_not_buildable():
    # given an invoice that claims 0.50 VAT on 2.97 at 19 % (per line 0.16 + 0.16 + 0.16 = 0.48
    # at most): a wrong invoice, never booked with other figures
    order = make_order(
        lines=(line("0.99", "19", "0.18"), line("0.99", "19", "0.16"), line("0.99", "19", "0.16")),
        total_gross=D("2.97"),
    )

    with translation.override("en"), pytest.raises(VoucherNotBuildable) as caught:
        build(order)

    assert caught.value.message == (
        "The invoice states 0.50 EUR VAT at 19 %, but sevDesk computes 0.48 EUR from the gross "
        "amounts of its lines. Please check the invoice in Billbee."
    )


def test_a_usd_order_is_a_usd_voucher_with_sevdesks_exchange_rate_of_the_voucher_day():
    # 59.50 USD at 19 % (VAT 9.50) + 5.95 USD shipping at 19 % (VAT 0.95) = 65.45 USD
    order = make_order(
        currency="usd",
        lines=(line("59.50", "19", "9.50"), line("5.95", "19", "0.95", kind="shipping")),
        total_gross=D("65.45"),
    )

    payload = build(order)

    voucher = payload["voucher"]
    assert voucher["currency"] == "USD"
    assert voucher["propertyForeignCurrencyDeadline"] == "2026-11-02T00:00:00+01:00"
    assert "propertyExchangeRate" not in voucher
    assert [p["sumGross"] for p in payload["voucherPosSave"]] == [D("65.45")]
    assert vat_per_rate(payload) == {D("19"): D("10.45")}


def test_lines_without_billbee_vat_are_booked_one_position_per_rate():
    # the order's lines carry no VAT figure: nothing to compare, one position per rate
    order = make_order(lines=(line("0.99", "19", None),) * 3, total_gross=D("2.97"))

    payload = build(order)

    assert [p["sumGross"] for p in payload["voucherPosSave"]] == [D("2.97")]
