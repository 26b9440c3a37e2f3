"""The invoice documents the simulated Billbee hands out (it never creates invoices)."""

from decimal import ROUND_HALF_UP, Decimal

from .models import SandboxOrder
from .pdf import pdf_document
from .representations import parse_billbee_timestamp

CENT = Decimal("0.01")


def invoice_number(document: dict) -> str | None:
    if not document.get("InvoiceNumber"):
        return None
    prefix = document.get("InvoiceNumberPrefix") or ""
    postfix = document.get("InvoiceNumberPostfix") or ""
    return f"{prefix}{document['InvoiceNumber']}{postfix}"


def _euro(value: Decimal, currency: str) -> str:
    amount = f"{value.quantize(CENT, ROUND_HALF_UP):,.2f}"
    return amount.replace(",", "X").replace(".", ",").replace("X", ".") + f" {currency}"


def invoice_totals(document: dict) -> tuple[Decimal, Decimal]:
    """(gross, net): the VAT in the lines plus the VAT in the shipping at the regular rate."""
    gross = Decimal(document["TotalCost"])
    tax = sum((Decimal(item["TaxAmount"]) for item in document["OrderItems"]), Decimal(0))
    if document["VatMode"] == 0:
        shipping = Decimal(document["ShippingCost"])
        rate = Decimal(document["TaxRate1"])
        tax += shipping * rate / (100 + rate)
    return gross, (gross - tax).quantize(CENT, ROUND_HALF_UP)


def _recipient(address: dict) -> str:
    parts = (address.get("Company"), address.get("FirstName"), address.get("LastName"))
    return " ".join(part for part in parts if part)


def invoice_pdf(order: SandboxOrder) -> bytes:
    document = order.data
    currency = document["Currency"]
    address = document.get("InvoiceAddress") or {}
    date = parse_billbee_timestamp(document["InvoiceDate"]).strftime("%d.%m.%Y")
    gross, net = invoice_totals(document)
    lines = [
        (document["Seller"]["BillbeeShopName"], 18),
        (f"Rechnung {invoice_number(document)}", 14),
        (f"Rechnungsdatum: {date}   Bestellung: {document.get('OrderNumber') or '-'}", 10),
        ("", 10),
        (_recipient(address), 10),
        (f"{address.get('Street')} {address.get('HouseNumber')}", 10),
        (f"{address.get('Zip')} {address.get('City')} ({address.get('CountryISO2')})", 10),
        ("", 10),
    ]
    for item in document["OrderItems"]:
        quantity = Decimal(item["Quantity"]).normalize()
        title = item["Product"]["Title"]
        lines.append((f"{quantity} x {title}   {_euro(Decimal(item['TotalPrice']), currency)}", 10))
    lines += [
        (f"Versand   {_euro(Decimal(document['ShippingCost']), currency)}", 10),
        ("", 10),
        (f"Summe netto   {_euro(net, currency)}", 10),
        (f"Summe brutto   {_euro(gross, currency)}", 12),
    ]
    return pdf_document(lines, title=f"Rechnung {invoice_number(document)}")
