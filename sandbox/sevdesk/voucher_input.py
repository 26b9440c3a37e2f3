"""The body of `POST /Voucher/Factory/saveVoucher`, checked for shape and types (400s).

Whether the referenced tax rule, booking account, file or contact exist and fit together is
a business rule and lives in `services.voucher_save` (422s).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from . import parsing as p
from .errors import BadRequest
from .models import SandboxAccount, Voucher

V2 = SandboxAccount.BookkeepingVersion.V2
ALLOWED_STATUSES = {Voucher.Status.DRAFT, Voucher.Status.OPEN}


@dataclass(frozen=True)
class PositionInput:
    id: int | None
    booking_account_id: int  # accountDatev id (2.0) or accountingType id (1.0)
    tax_rate: Decimal
    net: bool
    amount: Decimal  # sumNet when `net`, else sumGross
    comment: str


@dataclass(frozen=True)
class VoucherInput:
    id: int | None
    status: int
    credit_debit: str
    voucher_type: str
    tax_rule: int | None
    tax_type: str
    voucher_date: date | None
    description: str
    supplier_id: int | None
    supplier_name: str
    currency: str
    exchange_rate: Decimal | None
    delivery_date: date | None
    delivery_date_until: date | None
    pay_date: date | None
    payment_deadline: date | None
    filename: str | None
    positions: list[PositionInput] = field(default_factory=list)
    delete_position_ids: list[int] = field(default_factory=list)


def voucher_input_parse(data: dict[str, Any], *, version: str) -> VoucherInput:
    voucher = p.required(data, "voucher")
    if not isinstance(voucher, dict):
        raise BadRequest("voucher must be an object")
    if voucher.get("objectName") != "Voucher":
        raise BadRequest("voucher.objectName must be Voucher")
    p.boolean(p.required(voucher, "mapAll", where="voucher."), field="voucher.mapAll")
    status = _status(voucher)
    positions = _positions(data.get("voucherPosSave"), version=version)
    if status == Voucher.Status.OPEN:
        _require_bookable(voucher, positions)
    return VoucherInput(
        id=_optional_id(voucher),
        status=status,
        credit_debit=_choice(voucher, "creditDebit", {"C", "D"}),
        voucher_type=_choice(voucher, "voucherType", {"VOU", "RV"}),
        tax_rule=_tax_rule(voucher) if version == V2 else None,
        tax_type="" if version == V2 else _tax_type(voucher),
        voucher_date=p.optional_date(voucher, "voucherDate"),
        description=_text(voucher, "description"),
        supplier_id=_supplier_id(voucher),
        supplier_name=_text(voucher, "supplierName"),
        currency=_text(voucher, "currency") or "EUR",
        exchange_rate=_exchange_rate(voucher),
        delivery_date=p.optional_date(voucher, "deliveryDate"),
        delivery_date_until=p.optional_date(voucher, "deliveryDateUntil"),
        pay_date=p.optional_date(voucher, "payDate"),
        payment_deadline=p.optional_date(voucher, "paymentDeadline"),
        filename=_filename(data),
        positions=positions,
        delete_position_ids=_deleted_ids(data.get("voucherPosDelete")),
    )


def _status(voucher: dict[str, Any]) -> int:
    status = p.integer(p.required(voucher, "status", where="voucher."), field="voucher.status")
    if status not in ALLOWED_STATUSES:
        raise BadRequest("voucher.status must be 50 (draft) or 100 (open)")
    return status


def _require_bookable(voucher: dict[str, Any], positions: list[PositionInput]) -> None:
    """An open voucher is bookkeeping: sevDesk wants a date, a party and at least one sum."""
    p.required(voucher, "voucherDate", where="voucher.")
    if not voucher.get("supplier") and not voucher.get("supplierName"):
        raise BadRequest("voucher.supplier or voucher.supplierName is required")
    if not positions:
        raise BadRequest("A voucher with status 100 needs at least one position (voucherPosSave)")


def _choice(voucher: dict[str, Any], key: str, allowed: set[str]) -> str:
    value = p.required(voucher, key, where="voucher.")
    if value not in allowed:
        raise BadRequest(f"voucher.{key} must be one of {', '.join(sorted(allowed))}")
    return value


def _tax_rule(voucher: dict[str, Any]) -> int:
    if voucher.get("taxType") is not None:
        raise BadRequest("taxType is not supported in sevdesk-Update 2.0, use taxRule")
    rule = p.required(voucher, "taxRule", where="voucher.")
    return p.reference_id(rule, "TaxRule", field="voucher.taxRule")


def _tax_type(voucher: dict[str, Any]) -> str:
    if voucher.get("taxRule") is not None:
        raise BadRequest("taxRule is only supported in sevdesk-Update 2.0, use taxType")
    value = p.required(voucher, "taxType", where="voucher.")
    if not isinstance(value, str):
        raise BadRequest("voucher.taxType must be a string")
    return value


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return value


def _optional_id(voucher: dict[str, Any]) -> int | None:
    value = voucher.get("id")
    return None if value in (None, "") else p.integer(value, field="voucher.id")


def _supplier_id(voucher: dict[str, Any]) -> int | None:
    supplier = voucher.get("supplier")
    return None if supplier is None else p.reference_id(supplier, "Contact", field="supplier")


def _exchange_rate(voucher: dict[str, Any]) -> Decimal | None:
    rate = voucher.get("propertyExchangeRate")
    currency = voucher.get("currency") or "EUR"
    if currency != "EUR" and rate is None and not voucher.get("propertyForeignCurrencyDeadline"):
        raise BadRequest(
            "Foreign currency needs propertyExchangeRate or propertyForeignCurrencyDeadline"
        )
    return None if rate is None else p.decimal(rate, field="propertyExchangeRate")


def _filename(data: dict[str, Any]) -> str | None:
    value = data.get("filename")
    if value is not None and not isinstance(value, str):
        raise BadRequest("filename must be a string")
    return value or None


def _positions(value: Any, *, version: str) -> list[PositionInput]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest("voucherPosSave must be a list")
    positions = [_position(item, index, version=version) for index, item in enumerate(value)]
    if len({position.net for position in positions}) > 1:
        raise BadRequest("All positions must be either net or gross, not a mixture")
    return positions


def _position(item: Any, index: int, *, version: str) -> PositionInput:
    where = f"voucherPosSave[{index}]."
    if not isinstance(item, dict) or item.get("objectName") != "VoucherPos":
        raise BadRequest(f"{where}objectName must be VoucherPos")
    p.boolean(p.required(item, "mapAll", where=where), field=f"{where}mapAll")
    net = p.boolean(p.required(item, "net", where=where), field=f"{where}net")
    amount_key = "sumNet" if net else "sumGross"
    account_key, account_name = (
        ("accountDatev", "AccountDatev") if version == V2 else ("accountingType", "AccountingType")
    )
    return PositionInput(
        id=None if item.get("id") is None else p.integer(item["id"], field=f"{where}id"),
        booking_account_id=p.reference_id(
            p.required(item, account_key, where=where), account_name, field=where + account_key
        ),
        tax_rate=p.decimal(p.required(item, "taxRate", where=where), field=f"{where}taxRate"),
        net=net,
        amount=p.money(p.required(item, amount_key, where=where), field=where + amount_key),
        comment=_text(item, "comment"),
    )


def _deleted_ids(value: Any) -> list[int]:
    """`voucherPosDelete` is null, one ``{id, objectName}`` or a list of them."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [p.reference_id(item, "VoucherPos", field="voucherPosDelete") for item in items]
