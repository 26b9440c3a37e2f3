"""The invoice as the reference: positions built from Billbee's invoice list entry.

`GET /orders/invoices` states each position's and fee's rate, gross and VAT as the PDF prints
them; the mapping turns them into the builder's lines (shipping at its own rate, coupons known
by their order item), and refuses an invoice that does not match its order.
"""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import translation

from exports.mapping import voucher_order_from
from exports.voucher_builder import VoucherNotBuildable, build_voucher, sevdesk_vat
from orders.models import OrderItem
from tests.exports_fixtures import invoiced_order
from tests.test_voucher_builder import SETTINGS_2_0

D = Decimal


def document(**changes):
    """An invoice list entry as the document mirror keeps it (amounts as strings)."""
    values = {
        "number": "RE-2026-0001",
        "total_gross": D("125.89"),
        "vat_mode": 0,
        "positions": [
            {"billbee_id": 1, "total_gross": "0.99", "total_vat": "0.16", "vat_rate": "19"},
            {"billbee_id": 2, "total_gross": "0.99", "total_vat": "0.16", "vat_rate": "19"},
            {"billbee_id": 3, "total_gross": "0.99", "total_vat": "0.16", "vat_rate": "19"},
            {"billbee_id": 4, "total_gross": "128.40", "total_vat": "8.40", "vat_rate": "7"},
            {"billbee_id": 5, "total_gross": "-10.00", "total_vat": "-1.60", "vat_rate": "19"},
        ],
        "fees": [
            {"type": "ShipCost", "gross": "4.52", "net": "3.80", "vat": "0.72", "vat_rate": "19"},
        ],
    }
    return SimpleNamespace(**(values | changes))


@pytest.fixture
def order(merchant, shop, sevdesk_account):
    order = invoiced_order(merchant, shop, 1, total_gross=D("125.89"), paid_amount=D("125.89"))
    order.items.all().delete()
    for number, (gross, coupon) in enumerate(
        [("0.99", False)] * 3 + [("128.40", False), ("-10.00", True)], start=1
    ):
        OrderItem.objects.create(
            merchant=merchant,
            order=order,
            position=number,
            billbee_id=number,
            quantity=1,
            total_price=D(gross),
            tax_amount=D(0),
            tax_index=1,
            is_coupon=coupon,
        )
    return order


def test_positions_and_fees_of_the_invoice_become_the_vouchers_positions(order):
    # 19 %: 3 x 0.99 (VAT 0.16 each) + shipping 4.52 (VAT 0.72) = 7.49, VAT 1.20;
    #       one position of 7.49 would make sevDesk compute 7.49 - 6.29 = 1.20: one position.
    # 7 %: 128.40 (VAT 8.40). The coupon -10.00 is a tax-free position of its own.
    # 7.49 + 128.40 - 10.00 = 125.89
    payload = build_voucher(
        voucher_order_from(order, document()),
        SETTINGS_2_0,
        uploaded_filename=None,
        contact_id=None,
    )

    positions = [(p["taxRate"], p["sumGross"], p["comment"]) for p in payload["voucherPosSave"]]
    assert positions == [
        (D("19"), D("7.49"), "Umsatz 19 %"),
        (D("7"), D("128.40"), "Umsatz 7 %"),
        (D("0"), D("-10.00"), "Mehrzweckgutschein"),
    ]
    assert sevdesk_vat(D("7.49"), D("19")) == D("1.20")


def test_without_the_shipping_line_the_per_line_rounding_is_kept(order):
    # 3 x 0.99 at 19 % stated 0.48 VAT: three positions, as the invoice rounds per line
    entry = document(
        total_gross=D("121.37"),
        fees=[],
    )
    order.total_gross = D("121.37")

    payload = build_voucher(
        voucher_order_from(order, entry), SETTINGS_2_0, uploaded_filename=None, contact_id=None
    )

    nineteen = [p["sumGross"] for p in payload["voucherPosSave"] if p["taxRate"] == D("19")]
    assert nineteen == [D("0.99")] * 3


def test_an_invoice_that_does_not_match_its_order_is_not_booked(order):
    with translation.override("en"), pytest.raises(VoucherNotBuildable) as caught:
        voucher_order_from(order, document(total_gross=D("130.00")))

    assert caught.value.message.startswith("Billbee's invoice RE-2026-0001 (130.00, VAT mode 0)")
