"""Billbee's enums as labels for people: order states and payment types.

Billbee's live lists (`GET /enums/orderstates`, `GET /enums/paymenttypes`) are the truth; these
are the fallbacks the screens use, and unknown ids still get a label. The labels are English
msgids, translated when shown (German in the catalogue: Billbee's own German names); brand
names stay as they are.
"""

from collections.abc import Mapping

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

ORDER_CANCELLED = 8  # "Storniert"

ORDER_STATES: dict[int, str | Promise] = {
    1: _("Ordered"),
    2: _("Confirmed"),
    3: _("Payment received"),
    4: _("Shipped"),
    5: _("Complaint"),
    6: _("Deleted"),
    7: _("Completed"),
    8: _("Cancelled"),
    9: _("Archived"),
    11: _("Dunning notice"),
    12: _("Second dunning notice"),
    13: _("Packed"),
    14: _("Offered"),
    15: _("Payment reminder"),
    16: _("In fulfilment"),
}

PAYMENT_TYPES: dict[int, str | Promise] = {
    1: _("Bank transfer"),
    2: _("Cash on delivery"),
    3: "PayPal",
    4: _("Cash payment"),
    6: _("Gift voucher"),
    19: _("Sofort bank transfer"),
    22: _("Other payment method"),
    23: _("Direct debit"),
    25: _("Klarna invoice"),
    26: _("Invoice"),
    31: _("Credit card"),
    44: "Amazon Payments",
    59: _("Prepayment"),
    61: "Amazon Marketplace",
    63: "Stripe",
    79: "PayPal Express",
    98: "Klarna",
    104: "eBay",
    105: "Mollie",
    113: "Apple Pay",
    119: "Otto Payments",
    129: "Google Pay",
    136: "Kaufland",
}


def order_state_name(state_id: int | None) -> str:
    return _enum_name(ORDER_STATES, state_id)


def payment_type_name(payment_type_id: int | None) -> str:
    return _enum_name(PAYMENT_TYPES, payment_type_id)


def _enum_name(names: Mapping[int, str | Promise], value: int | None) -> str:
    # Billbee adds ids over time; an unknown one must still show, not crash a page.
    if value is None:
        return "-"
    if value not in names:
        return gettext("Unknown (%(id)s)") % {"id": value}
    return str(names[value])  # in the language active now
