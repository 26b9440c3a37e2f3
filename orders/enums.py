"""Billbee's enums as labels for people: order states and payment types.

Billbee's live lists (`GET /enums/orderstates`, `GET /enums/paymenttypes`) are the truth; these
are the fallbacks the screens use, and unknown ids still get a label.
"""

from collections.abc import Mapping

ORDER_CANCELLED = 8  # "Storniert"

ORDER_STATES: dict[int, str] = {
    1: "Bestellt",
    2: "Bestätigt",
    3: "Zahlung erhalten",
    4: "Versendet",
    5: "Reklamation",
    6: "Gelöscht",
    7: "Abgeschlossen",
    8: "Storniert",
    9: "Archiviert",
    11: "Mahnung",
    12: "Mahnung 2",
    13: "Gepackt",
    14: "Angeboten",
    15: "Zahlungserinnerung",
    16: "Im Fulfillment",
}

PAYMENT_TYPES: dict[int, str] = {
    1: "Banküberweisung",
    2: "Nachnahme",
    3: "PayPal",
    4: "Barzahlung",
    6: "Gutschein",
    19: "Sofortüberweisung",
    22: "Andere",
    23: "Lastschrift",
    25: "Klarna Rechnung",
    26: "Rechnung",
    31: "Kreditkarte",
    44: "Amazon Payments",
    59: "Vorkasse",
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


def _enum_name(names: Mapping[int, str], value: int | None) -> str:
    # Billbee adds ids over time; an unknown one must still show, not crash a page.
    if value is None:
        return "-"
    return names.get(value, f"Unbekannt ({value})")
