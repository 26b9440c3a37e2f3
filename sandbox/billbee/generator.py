"""Realistic German shop orders in Billbee's JSON shape, deterministic for a seed.

Kept apart from the services because it is pure: it turns a random generator and a few
inputs into order documents, without touching the database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .representations import billbee_timestamp, money

CENT = Decimal("0.01")
TAX_RATES = {1: Decimal(19), 2: Decimal(7)}


@dataclass(frozen=True)
class ShopTemplate:
    name: str
    platform: str
    account_type: int  # ShopAccountType id; the mapping to names is Billbee's, unverified
    weight: int


SHOP_TEMPLATES = (
    ShopTemplate("Mein Shopify-Shop", "Shopify", 24, 5),
    ShopTemplate("Amazon DE", "Amazon", 2, 3),
    ShopTemplate("eBay", "Ebay", 1, 2),
)


@dataclass(frozen=True)
class Product:
    title: str
    sku: str
    gross: Decimal
    tax_index: int
    digital: bool = False


CATALOG = (
    Product("Bio-Espresso ganze Bohne 1 kg", "KAF-ESP-1000", Decimal("24.90"), 2),
    Product("Earl Grey lose 250 g", "TEE-EG-250", Decimal("8.50"), 2),
    Product("Olivenöl nativ extra 0,5 l", "OEL-OLI-500", Decimal("12.90"), 2),
    Product("Kochbuch „Regional & saisonal“", "BUC-REG-01", Decimal("29.00"), 2),
    Product("E-Book: Fermentieren für Einsteiger", "EBK-FER-01", Decimal("9.99"), 2, True),
    Product("Teebecher Steingut", "TAS-STE-01", Decimal("14.95"), 1),
    Product("Leinen-Geschirrtuch 3er-Set", "TEX-LEI-03", Decimal("19.90"), 1),
    Product("Gewürzmühle Buche", "MUE-BUC-01", Decimal("34.50"), 1),
    Product("French Press 1 l", "KAN-FRP-10", Decimal("39.00"), 1),
    Product("Espressokocher Edelstahl", "KAN-ESP-06", Decimal("49.95"), 1),
    Product("Keramik-Schale handgemacht", "KER-SCH-01", Decimal("22.00"), 1),
    Product("Wachstuch-Tischdecke 140 x 240 cm", "TEX-WAC-01", Decimal("59.00"), 1),
)

FIRST_NAMES = (
    "Anna",
    "Lena",
    "Paul",
    "Jonas",
    "Marie",
    "Lukas",
    "Sophie",
    "Felix",
    "Emma",
    "Leon",
    "Mia",
    "Ben",
    "Hannah",
    "Elias",
    "Lea",
    "Noah",
    "Jürgen",
    "Sabine",
    "Günter",
    "Ursula",
    "Björn",
    "Käthe",
)
LAST_NAMES = (
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Krüger",
    "Hartmann",
    "Weiß",
    "Lange",
)
STREETS = (
    "Hauptstraße",
    "Bahnhofstraße",
    "Gartenweg",
    "Lindenallee",
    "Schillerstraße",
    "Goethestraße",
    "Am Marktplatz",
    "Rosenweg",
    "Kirchgasse",
    "Mühlenweg",
    "Friedrichstraße",
    "Ringstraße",
)
DE_CITIES = (
    ("10115", "Berlin"),
    ("20095", "Hamburg"),
    ("80331", "München"),
    ("50667", "Köln"),
    ("60311", "Frankfurt am Main"),
    ("70173", "Stuttgart"),
    ("04109", "Leipzig"),
    ("01067", "Dresden"),
    ("28195", "Bremen"),
    ("90402", "Nürnberg"),
)
# country -> (zip, city, VAT id prefix, currency of a local buyer)
FOREIGN = {
    "AT": ("1010", "Wien", "ATU", "EUR"),
    "FR": ("75001", "Paris", "FR", "EUR"),
    "NL": ("1012", "Amsterdam", "NL", "EUR"),
    "CH": ("8001", "Zürich", "CHE-", "CHF"),
    "US": ("10001", "New York", "", "USD"),
}
COMPANIES = ("Feinkost Alpen GmbH", "Maison du Thé SARL", "Koffiehuis B.V.", "Café Central KG")

STATES = (3, 4, 7, 1, 2, 8)
STATE_WEIGHTS = (22, 25, 33, 8, 5, 7)
PAYMENT_BY_PLATFORM = {
    "Shopify": ((3, 31, 98, 59, 1), (40, 25, 15, 10, 10)),
    "Amazon": ((61,), (1,)),
    "Ebay": ((3, 31, 1), (60, 30, 10)),
}
UNKNOWN_PAYMENT_TYPE = 157  # not in any published list: consumers must cope


@dataclass
class GeneratedOrder:
    """One order document plus the values the sandbox indexes beside it."""

    document: dict
    shop_index: int
    created_at: datetime
    paid_at: datetime | None
    invoice_date: datetime | None
    last_modified_at: datetime


class OrderFactory:
    """Draws orders from one ``random.Random``, so a seed gives the same orders every time."""

    def __init__(self, rng: random.Random, *, small_business: bool, shops: list[dict]):
        self.rng = rng
        self.small_business = small_business
        self.shops = shops  # [{"Id", "Name", "Platform"}] in SHOP_TEMPLATES order

    # -- parties --

    def _vat_mode_and_country(self) -> tuple[int, str]:
        if self.small_business:
            return 1, "DE"
        vat_mode = self.rng.choices((0, 2, 3), weights=(86, 8, 6))[0]
        if vat_mode == 2:
            return 2, self.rng.choice(("AT", "FR", "NL"))
        if vat_mode == 3:
            return 3, self.rng.choice(("CH", "US"))
        return 0, "DE" if self.rng.random() < 0.96 else "AT"

    def _address(self, country: str, business: bool) -> dict:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        zip_code, city = self.rng.choice(DE_CITIES) if country == "DE" else FOREIGN[country][:2]
        handle = f"{first}.{last}".lower().translate(str.maketrans("äöüß", "aous"))
        return {
            "BillbeeId": self.rng.randint(10**8, 10**9),
            "Company": self.rng.choice(COMPANIES) if business else None,
            "FirstName": first,
            "LastName": last,
            "Street": self.rng.choice(STREETS),
            "HouseNumber": str(self.rng.randint(1, 120)),
            "Zip": zip_code,
            "City": city,
            "CountryISO2": country,
            "Country": country,
            "Email": f"{handle}{self.rng.randint(1, 99)}@example.com",
            "Phone": f"+49 {self.rng.randint(30, 999)} {self.rng.randint(100000, 9999999)}",
        }

    def _vat_id(self, country: str) -> str:
        prefix = FOREIGN[country][2]
        return f"{prefix}{self.rng.randint(10**7, 10**8 - 1)}"

    # -- lines --

    def _amount(self, value: Decimal, precise: bool) -> Decimal:
        # Billbee passes on unrounded results of its net/gross arithmetic (28 digits).
        return value if precise else value.quantize(CENT, rounding=ROUND_HALF_UP)

    def _item(self, product: Product, vat_mode: int, discount: Decimal, precise: bool) -> dict:
        quantity = self.rng.choice((1, 1, 1, 2, 3))
        gross = (product.gross * quantity * (100 - discount) / 100).quantize(CENT, ROUND_HALF_UP)
        rate = TAX_RATES[product.tax_index]
        if vat_mode == 0:
            total, tax = gross, self._amount(gross * rate / (100 + rate), precise)
        elif vat_mode == 1:
            total, tax = gross, Decimal(0)  # small business: final prices, no VAT
        else:
            total, tax = self._amount(gross / (1 + rate / 100), precise), Decimal(0)
        return self._item_document(product.title, product.sku, quantity, total, tax, discount) | {
            "TaxIndex": product.tax_index,
            "Product": {"Title": product.title, "SKU": product.sku, "IsDigital": product.digital},
        }

    def _item_document(self, title, sku, quantity, total, tax, discount) -> dict:
        return {
            "BillbeeId": self.rng.randint(10**9, 10**10),
            "TransactionId": None,
            "Product": {"Title": title, "SKU": sku, "IsDigital": False},
            "Quantity": money(Decimal(quantity)),
            "TotalPrice": money(total),
            "TaxAmount": money(tax),
            "TaxIndex": 0,
            "Discount": money(discount),
            "IsCoupon": False,
            "UnrebatedTotalPrice": money(total),
        }

    def _coupon(self) -> dict:
        value = Decimal(self.rng.choice((5, 10)))
        line = self._item_document(f"Gutschein SOMMER{value}", None, 1, -value, Decimal(0), 0)
        return line | {"IsCoupon": True}

    def _lines(self, vat_mode: int, precise: bool) -> list[dict]:
        count = self.rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
        discount = Decimal(self.rng.choice((5, 10, 15))) if self.rng.random() < 0.1 else Decimal(0)
        products = self.rng.sample(CATALOG, count)
        lines = [self._item(product, vat_mode, discount, precise) for product in products]
        if self.rng.random() < 0.05:
            lines.append(self._coupon())
        return lines

    def _shipping(self, lines: list[dict], country: str) -> Decimal:
        physical = [line for line in lines if not line["Product"]["IsDigital"]]
        physical = [line for line in physical if not line["IsCoupon"]]
        if not physical:
            return Decimal(0)
        subtotal = sum(Decimal(line["TotalPrice"]) for line in physical)
        if country == "DE":
            return Decimal(0) if subtotal >= 50 else Decimal("4.90")
        return Decimal("9.90") if country in ("AT", "FR", "NL") else Decimal("19.90")

    # -- the order --

    def order(self, *, billbee_id: int, created_at: datetime, now: datetime) -> GeneratedOrder:
        rng = self.rng
        shop_index = rng.choices(
            range(len(self.shops)), weights=[t.weight for t in SHOP_TEMPLATES]
        )[0]
        shop = self.shops[shop_index]
        vat_mode, country = self._vat_mode_and_country()
        business = vat_mode == 2 or rng.random() < 0.05
        address = self._address(country, business)
        currency = FOREIGN[country][3] if country in ("CH", "US") and rng.random() < 0.6 else "EUR"
        precise = vat_mode in (2, 3) or rng.random() < 0.25
        lines = self._lines(vat_mode, precise)
        shipping = self._shipping(lines, country)
        adjustment = Decimal("-2.00") if rng.random() < 0.03 else Decimal(0)
        total = sum((Decimal(line["TotalPrice"]) for line in lines), Decimal(0))
        total += shipping + adjustment
        state = rng.choices(STATES, weights=STATE_WEIGHTS)[0]
        payment_method = self._payment_method(shop["Platform"])
        paid = state in (3, 4, 7) and not (state == 4 and rng.random() < 0.06)
        paid = paid or (state == 8 and rng.random() < 0.3)
        paid_at = min(created_at + timedelta(minutes=rng.randint(1, 4320)), now) if paid else None
        has_invoice = rng.random() < {1: 0.1, 2: 0.1, 8: 0.5}.get(state, 0.9)
        invoice_date = (
            min((paid_at or created_at) + timedelta(minutes=rng.randint(1, 600)), now)
            if has_invoice
            else None
        )
        shipped_at = (
            min((paid_at or created_at) + timedelta(hours=rng.randint(4, 72)), now)
            if state in (4, 7)
            else None
        )
        last_modified = max(d for d in (created_at, paid_at, invoice_date, shipped_at) if d)
        marketplace_id, order_number = self._marketplace_ids(shop["Platform"])
        customer_vat_id = self._vat_id(country) if vat_mode == 2 else None
        tags = ["Priorität"] if rng.random() < 0.1 else []
        if business:
            tags.append("B2B")
        document = {
            "BillBeeOrderId": billbee_id,
            "Id": marketplace_id,
            "OrderNumber": order_number,
            "State": state,
            "VatMode": vat_mode,
            "CreatedAt": billbee_timestamp(created_at),
            "ConfirmedAt": billbee_timestamp(created_at),
            "PayedAt": billbee_timestamp(paid_at),
            "ShippedAt": billbee_timestamp(shipped_at),
            "InvoiceNumberPrefix": None,
            "InvoiceNumber": None,
            "InvoiceNumberPostfix": None,
            "InvoiceDate": billbee_timestamp(invoice_date),
            "InvoiceAddress": address,
            "ShippingAddress": dict(address),
            "PaymentMethod": payment_method,
            "ShippingCost": money(shipping),
            "TotalCost": money(total),
            "AdjustmentCost": money(adjustment),
            "AdjustmentReason": "Kulanz" if adjustment else None,
            "OrderItems": lines,
            "Currency": currency,
            "Seller": {
                "Platform": shop["Platform"],
                "BillbeeShopName": shop["Name"],
                "BillbeeShopId": shop["Id"],
                "Id": None,
                "Nick": None,
                "FirstName": None,
                "LastName": None,
                "FullName": None,
                "Email": None,
            },
            "Buyer": {
                "Platform": shop["Platform"],
                "BillbeeShopName": shop["Name"],
                "BillbeeShopId": shop["Id"],
                "Id": str(address["BillbeeId"]),
                "Nick": None,
                "FirstName": address["FirstName"],
                "LastName": address["LastName"],
                "FullName": f"{address['FirstName']} {address['LastName']}",
                "Email": address["Email"],
            },
            "UpdatedAt": billbee_timestamp(last_modified),
            "LastModifiedAt": billbee_timestamp(last_modified),
            "TaxRate1": money(TAX_RATES[1]),
            "TaxRate2": money(TAX_RATES[2]),
            "VatId": customer_vat_id,
            "CustomerVatId": customer_vat_id,
            "MerchantVatId": None if self.small_business else "DE123456789",
            "Tags": tags,
            "PaidAmount": money(total if paid else Decimal(0)),
            "CustomerNumber": str(address["BillbeeId"] % 100000),
            "Customer": {
                "Id": address["BillbeeId"],
                "Name": address["Company"] or f"{address['FirstName']} {address['LastName']}",
                "Email": address["Email"],
                "Number": address["BillbeeId"] % 100000,
                "VatId": customer_vat_id,
            },
            "Payments": self._payments(created_at, paid_at, payment_method, total, marketplace_id),
            "ShippingIds": [],
            "Comments": [],
            "History": [],
            "IsCancelationFor": None,
            "DeliverySourceCountryCode": "DE",
            "LanguageCode": "de" if country in ("DE", "AT") else "en",
        }
        return GeneratedOrder(
            document, shop_index, created_at, paid_at, invoice_date, last_modified
        )

    def _payment_method(self, platform: str) -> int:
        if self.rng.random() < 0.01:
            return UNKNOWN_PAYMENT_TYPE
        methods, weights = PAYMENT_BY_PLATFORM[platform]
        return self.rng.choices(methods, weights=weights)[0]

    def _marketplace_ids(self, platform: str) -> tuple[str, str]:
        """(Id, OrderNumber) as the marketplace names the order."""
        rng = self.rng
        if platform == "Amazon":
            number = f"302-{rng.randint(10**6, 10**7 - 1)}-{rng.randint(10**6, 10**7 - 1)}"
            return number, number
        if platform == "Ebay":
            number = (
                f"{rng.randint(10, 99)}-{rng.randint(10**4, 99999)}-{rng.randint(10**4, 99999)}"
            )
            return number, number
        return str(rng.randint(5 * 10**12, 6 * 10**12)), f"#{rng.randint(1001, 99999)}"

    def _payments(self, created_at, paid_at, payment_method, total, marketplace_id) -> list[dict]:
        if paid_at is None:
            return []
        return order_payments(
            self.rng,
            paid_at=paid_at,
            payment_method=payment_method,
            total=total,
            purpose=marketplace_id,
            not_before=created_at,
        )


GIFT_CARD = 6  # Billbee's payment type "Gutschein"
GIFT_CARD_SHARE = 0.1  # of the paid orders, paid partly with a gift card
GIFT_CARD_PERCENT = (10, 30)  # the gift card's part of the total


def order_payments(
    rng: random.Random,
    *,
    paid_at: datetime,
    payment_method: int,
    total: Decimal,
    purpose: str | None,
    not_before: datetime | None = None,
) -> list[dict]:
    """The payments of an order paid in full at ``paid_at``: usually one of the total; about
    one in ten is paid partly with a gift card (Billbee's payment type 6) a little earlier (not
    before ``not_before``, the order's date) and the rest by the order's payment method, which
    completes it at ``paid_at``.

    The split is drawn from an RNG of its own (seeded by the order's marketplace id), and the
    payment of the rest takes the same draws from ``rng`` as a single payment would: the
    other values generated for a seed stay what they were before orders were split.
    """
    split = random.Random(f"{purpose}|payments")
    if total >= 10 and payment_method != GIFT_CARD and split.random() < GIFT_CARD_SHARE:
        share = Decimal(split.randint(*GIFT_CARD_PERCENT)) / 100
        part = (total * share).quantize(CENT, ROUND_HALF_UP)
        earlier = paid_at - timedelta(minutes=split.randint(1, 30))
        earlier = max(earlier, not_before) if not_before else earlier
        rest = payment_document(rng, paid_at, payment_method, total - part, purpose)
        return [payment_document(split, earlier, GIFT_CARD, part, purpose), rest]
    return [payment_document(rng, paid_at, payment_method, total, purpose)]


def payment_document(rng, paid_at, payment_method, total, purpose) -> dict:
    return {
        "BillbeeId": rng.randint(10**8, 10**9),
        "TransactionId": f"TX-{rng.randint(10**9, 10**10)}",
        "PayDate": billbee_timestamp(paid_at),
        "PaymentType": payment_method,
        "SourceTechnology": None,
        "SourceText": None,
        "PayValue": money(total),
        "Purpose": purpose,
        "Name": None,
    }
