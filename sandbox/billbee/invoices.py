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


def _vat_rate(document: dict, tax_index: int) -> Decimal:
    if document["VatMode"] != 0 or tax_index not in (1, 2):
        return Decimal(0)
    return Decimal(document[f"TaxRate{tax_index}"])


def _position(document: dict, number: int, item: dict) -> dict:
    gross = Decimal(item["TotalPrice"])
    tax = Decimal(item["TaxAmount"])
    quantity = Decimal(item["Quantity"]) or Decimal(1)
    return {
        "Position": number,
        "Amount": quantity,
        "NetValue": (gross - tax) / quantity,
        "TotalNetValue": gross - tax,
        "GrossValue": gross / quantity,
        "TotalGrossValue": gross,
        "VatRate": _vat_rate(document, item.get("TaxIndex") or 0),
        "ArticleBillbeeId": None,
        "Sku": item["Product"].get("SKU"),
        "Title": item["Product"].get("Title"),
        "BillbeeId": item.get("BillbeeId"),
        "TotalVatAmount": tax,
        "RebatePercent": Decimal(item.get("Discount") or 0),
    }


def _shipping_fee(document: dict) -> dict:
    gross = Decimal(document["ShippingCost"])
    rate = _vat_rate(document, 1)
    # The invoice prints the fee's VAT in cents, as it does each position's.
    vat = (gross * rate / (100 + rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {
        "Type": "ShipCost",
        "Gross": gross,
        "Net": gross - vat,
        "VatAmount": vat,
        "VatRate": rate,
    }


def invoice_list_entry(order: SandboxOrder, *, include_positions: bool) -> dict:
    """One entry of GET /orders/invoices (InvoiceApiModel) for an invoiced order."""
    document = order.data
    address = document.get("InvoiceAddress") or {}
    gross, net = invoice_totals(document)
    items = document["OrderItems"]
    positions = [_position(document, n, item) for n, item in enumerate(items, start=1)]
    return {
        "InvoiceNumber": invoice_number(document),
        "Type": "invoice",  # the sandbox issues no credit notes
        "Title": None,
        "Salutation": None,
        "LastName": address.get("LastName"),
        "FirstName": address.get("FirstName"),
        "Company": address.get("Company"),
        "CustomerNumber": (document.get("Customer") or {}).get("Number"),
        "DebtorNumber": None,
        "InvoiceDate": document["InvoiceDate"],
        "TotalNet": net,
        "Currency": document["Currency"],
        "TotalGross": gross,
        "PaymentTypeId": document.get("PaymentMethod"),
        "OrderNumber": document.get("OrderNumber"),
        "TransactionId": None,
        "Email": address.get("Email"),
        "ShopName": document["Seller"]["BillbeeShopName"],
        "Positions": positions if include_positions else None,
        "PayDate": document.get("PayedAt"),
        "VatMode": document["VatMode"],
        "BillbeeId": document["BillBeeOrderId"],
        "ShippingCountry": address.get("CountryISO2"),
        "AdditionalFees": [_shipping_fee(document)],
        "MerchantVatId": document.get("MerchantVatId"),
        "CustomerVatId": document.get("CustomerVatId"),
        "VatFlags": None,
    }


def credit_note_entry(order: SandboxOrder, *, include_positions: bool) -> dict:
    """The order's credit note as GET /orders/invoices lists it: ``Type`` "creditnote", its
    own number and date, every amount negative; for all of the invoice, or for the items and
    shipping it credits (`sandbox.billbee.services.order_credit_note_issue`)."""
    entry = invoice_list_entry(order, include_positions=True)
    note = order.data["CreditNote"]
    credited = note.get("Items")
    position_keys = ("NetValue", "TotalNetValue", "GrossValue", "TotalGrossValue", "TotalVatAmount")

    def negative(row: dict, keys: tuple[str, ...]) -> dict:
        return {key: (-value if key in keys else value) for key, value in row.items()}

    positions = [
        negative(p, position_keys)
        for index, p in enumerate(entry["Positions"])
        if credited is None or index in credited
    ]
    fees = [
        negative(f, ("Gross", "Net", "VatAmount"))
        for f in entry["AdditionalFees"]
        if note.get("Shipping", True) and f["Gross"]
    ]
    gross = sum((p["TotalGrossValue"] for p in positions), Decimal(0)) + sum(
        (f["Gross"] for f in fees), Decimal(0)
    )
    net = sum((p["TotalNetValue"] for p in positions), Decimal(0)) + sum(
        (f["Net"] for f in fees), Decimal(0)
    )
    if credited is None:  # the whole invoice, adjustments included
        gross, net = -entry["TotalGross"], -entry["TotalNet"]
    entry.update(
        InvoiceNumber=note["Number"],
        Type="creditnote",
        InvoiceDate=note["Date"],
        PayDate=note.get("PayDate", note["Date"]),
        TotalNet=net,
        TotalGross=gross,
        Positions=positions if include_positions else None,
        AdditionalFees=fees,
    )
    return entry


def credit_note_date(order: SandboxOrder):
    return parse_billbee_timestamp(order.data["CreditNote"]["Date"])
