"""From our order mirror to the voucher builder's plain value objects."""

import datetime
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from exports.voucher_builder import VoucherLine, VoucherNotBuildable, VoucherOrder
from orders.models import Order

BERLIN = ZoneInfo("Europe/Berlin")


def berlin_date(moment: datetime.datetime | None) -> datetime.date | None:
    return moment.astimezone(BERLIN).date() if moment else None


def _rate(order: Order, tax_index: int) -> Decimal:
    """Billbee's TaxIndex: 1 = the order's regular rate, 2 = its reduced rate, 0 = no tax."""
    if tax_index == 0 or order.vat_mode != 0:
        return Decimal(0)
    rate = {1: order.tax_rate_regular, 2: order.tax_rate_reduced}.get(tax_index)
    if rate is None:
        raise VoucherNotBuildable(
            _("An item has VAT rate index %(index)s, but the order has no such VAT rate.")
            % {"index": tax_index}
        )
    return rate


def customer_name(order: Order) -> str:
    address = order.invoice_address or {}
    person = " ".join(filter(None, [address.get("first_name"), address.get("last_name")]))
    return address.get("company") or person or order.customer_name or _("Unknown customer")


def _stated_vat(gross: Decimal, rate: Decimal, vat: Decimal | None) -> Decimal | None:
    """An order line's VAT as Billbee states it, where it is that line's VAT rounded (per line
    or not): within half a cent of gross · rate / (100 + rate). Anything else (0 where a shop
    sends no VAT, a figure from another rate) is no statement to match."""
    if vat is None:
        return None
    exact = gross * rate / (100 + rate)
    return vat if abs(vat - exact) <= HALF_CENT else None


HALF_CENT = Decimal("0.005")
# Billbee tags distance sales so once the merchant switched OSS on (billbee-api.md).
DISTANCE_SALE_TAG = "Fernverkauf"


def _order_line(order: Order, item) -> VoucherLine:
    rate = _rate(order, item.tax_index)
    kind = "coupon" if item.is_coupon else "item"
    vat = None if kind == "coupon" else _stated_vat(item.total_price, rate, item.tax_amount)
    return VoucherLine(gross=item.total_price, tax_rate=rate, kind=kind, vat=vat)


def voucher_order_from(order: Order, document=None) -> VoucherOrder:
    """The order as the builder sees it; with Billbee's invoice document (GET /orders/invoices)
    its positions and fees are the reference: their rates, gross and VAT as the PDF shows them.
    """
    if document is not None:
        return _from_invoice_document(order, document)
    lines = tuple(_order_line(order, item) for item in order.items.all())
    return _voucher_order(
        order,
        lines=lines,
        total_gross=order.total_gross,
        shipping_gross=order.shipping_cost,
        adjustment_gross=order.adjustment_cost,
    )


def _voucher_order(order: Order, **values) -> VoucherOrder:
    return VoucherOrder(
        invoice_number=order.invoice_number,
        order_date=berlin_date(order.order_date),
        invoice_date=berlin_date(order.invoice_date),
        payment_date=berlin_date(order.paid_at),
        delivery_date=berlin_date(order.shipped_at),
        currency=order.currency or "EUR",
        vat_mode=order.vat_mode,
        customer_name=customer_name(order),
        customer_vat_id=order.customer_vat_id or None,
        distance_sale=DISTANCE_SALE_TAG in (order.tags or []),
        **values,
    )


SHIPPING_FEE = "ShipCost"  # AdditionalFees[].Type of the shipping costs


def _from_invoice_document(order: Order, document) -> VoucherOrder:
    """Lines from the invoice as Billbee lists it: each position and fee at its stated rate,
    with its stated VAT. Coupons are known by their position's BillbeeId (the order item)."""
    if _cents(document.total_gross) != _cents(order.total_gross) or (
        document.vat_mode != order.vat_mode
    ):
        raise VoucherNotBuildable(
            _(
                "Billbee's invoice %(number)s (%(invoice)s, VAT mode %(invoice_mode)s) does not "
                "match its order (%(order)s, VAT mode %(order_mode)s). Please check the invoice "
                "in Billbee."
            )
            % {
                "number": document.number,
                "invoice": _cents(document.total_gross),
                "order": _cents(order.total_gross),
                "invoice_mode": document.vat_mode,
                "order_mode": order.vat_mode,
            }
        )
    return _voucher_order(
        order,
        lines=_document_lines(order, document),
        total_gross=document.total_gross,
        shipping_gross=Decimal(0),
        adjustment_gross=Decimal(0),
    )


def _document_lines(order: Order, document) -> tuple[VoucherLine, ...]:
    """The lines of a Billbee document: each position and fee at its stated rate and VAT."""
    coupons = {item.billbee_id for item in order.items.all() if item.is_coupon and item.billbee_id}
    lines = []
    for position in document.positions or []:
        coupon = position.get("billbee_id") is not None and int(position["billbee_id"]) in coupons
        lines.append(
            VoucherLine(
                gross=Decimal(str(position["total_gross"])),
                tax_rate=Decimal(str(position["vat_rate"] or 0)),
                kind="coupon" if coupon else "item",
                vat=None if coupon else _decimal_or_none(position.get("total_vat")),
            )
        )
    for fee in document.fees or []:
        lines.append(
            VoucherLine(
                gross=Decimal(str(fee["gross"])),
                tax_rate=Decimal(str(fee["vat_rate"] or 0)),
                kind="shipping" if fee.get("type") == SHIPPING_FEE else "adjustment",
                vat=_decimal_or_none(fee.get("vat")),
            )
        )
    return tuple(line for line in lines if line.gross)


def voucher_order_from_credit_note(order: Order, document, *, original_number: str) -> VoucherOrder:
    """A credit note as the builder sees it: its own number, date and negative lines; the
    order gives the customer and VAT mode where the credit note does not state it."""
    day = berlin_date(document.invoice_date)
    # Billbee offers no credit note PDF (no route in its API): the voucher says so.
    note = f"Gutschrift zu {original_number}" if original_number else "Gutschrift"
    note += ", ohne PDF (Billbee bietet keins)"
    return replace(
        _voucher_order(
            order,
            lines=_document_lines(order, document),
            total_gross=document.total_gross,
            shipping_gross=Decimal(0),
            adjustment_gross=Decimal(0),
        ),
        invoice_number=document.number,
        invoice_date=day,
        order_date=day,
        payment_date=berlin_date(document.pay_date) or day,
        delivery_date=None,
        currency=document.currency or order.currency or "EUR",
        vat_mode=order.vat_mode if document.vat_mode is None else document.vat_mode,
        position_note=note,
    )


def _decimal_or_none(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _cents(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
