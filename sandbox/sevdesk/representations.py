"""Our rows in sevDesk's JSON shapes: ids, sums and flags as strings, nested references as
``{"id": ..., "objectName": ...}``, dates as date-times with the German offset."""

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from .models import (
    CheckAccount,
    CommunicationWay,
    CommunicationWayKey,
    Contact,
    ContactAddress,
    RevenueAccount,
    SandboxAccount,
    StaticCountry,
    TempFile,
    Voucher,
    VoucherPayment,
    VoucherPos,
)
from .parsing import SEVDESK_TIME_ZONE
from .reference_data import RATE_NAMES, TAX_RULE_NAMES

Json = dict[str, Any]


def ref(pk: Any, object_name: str) -> Json:
    return {"id": str(pk), "objectName": object_name}


def moment(value: datetime) -> str:
    return value.astimezone(SEVDESK_TIME_ZONE).replace(microsecond=0).isoformat()


def day(value: date | None) -> str | None:
    """A calendar day as sevDesk answers it: midnight in Berlin."""
    if value is None:
        return None
    return datetime.combine(value, time(), tzinfo=SEVDESK_TIME_ZONE).isoformat()


def amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _base(instance, object_name: str, account: SandboxAccount) -> Json:
    return {
        "id": str(instance.pk),
        "objectName": object_name,
        "create": moment(instance.created),
        "update": moment(instance.updated),
        "sevClient": ref(account.pk, "SevClient"),
    }


def check_account(instance: CheckAccount) -> Json:
    return _base(instance, "CheckAccount", instance.account) | {
        "name": instance.name,
        "iban": None,
        "type": instance.type,
        "importType": None,
        "currency": instance.currency,
        "defaultAccount": "1" if instance.default else "0",
        "baseAccount": "0",
        "priority": "1",
        "status": str(instance.status),
        "balance": "0.00",
        "bankServer": None,
        "autoMapTransactions": "1",
        "autoSyncTransactions": "0",
        "accountingNumber": instance.accounting_number,
    }


def contact(instance: Contact) -> Json:
    data = _base(instance, "Contact", instance.account) | {
        "status": str(instance.status),
        "customerNumber": instance.customer_number,
        "category": ref(instance.category_id, "Category"),
        "defaultCashbackTime": "0",
        "defaultCashbackPercent": "0.00",
        "defaultTimeToPay": "0",
        "exemptVat": "0",
        "defaultDiscountAmount": "0.00",
        "defaultDiscountPercentage": "0",
    }
    # sevDesk leaves out what a contact does not have instead of answering null.
    optional = {
        "name": instance.name,
        "surename": instance.surename,
        "familyname": instance.familyname,
        "vatNumber": instance.vat_number,
    }
    return data | {key: value for key, value in optional.items() if value}


def contact_address(instance: ContactAddress) -> Json:
    data = _base(instance, "ContactAddress", instance.account) | {
        "contact": ref(instance.contact_id, "Contact"),
        "street": instance.street,
        "zip": instance.zip,
        "city": instance.city,
        "country": ref(instance.country_id, "StaticCountry"),
        "name": instance.name or None,
    }
    if instance.category_id is not None:
        data["category"] = ref(instance.category_id, "Category")
    return data


def communication_way(instance: CommunicationWay) -> Json:
    return _base(instance, "CommunicationWay", instance.account) | {
        "contact": ref(instance.contact_id, "Contact"),
        "type": instance.type,
        "value": instance.value,
        "key": ref(instance.key_id, "CommunicationWayKey"),
        "main": "1" if instance.main else "0",
    }


def static_country(instance: StaticCountry) -> Json:
    return {
        "id": str(instance.pk),
        "objectName": "StaticCountry",
        "code": instance.code,
        "name": instance.name,
        "nameEn": instance.name_en,
        "translationCode": f"COUNTRY_{instance.code.upper()}",
        "locale": instance.locale,
        "priority": str(instance.priority),
    }


def communication_way_key(instance: CommunicationWayKey) -> Json:
    return {
        "id": str(instance.pk),
        "objectName": "CommunicationWayKey",
        "name": instance.name,
        "translationCode": instance.translation_code,
    }


def temp_file(instance: TempFile) -> Json:
    return {
        "pages": instance.pages,
        "mimeType": instance.mime_type,
        "originMimeType": instance.mime_type,
        "filename": instance.filename,
        "contentHash": instance.content_hash,
        "content": [],
    }


def voucher(instance: Voucher) -> Json:
    data = _base(instance, "Voucher", instance.account) | {
        "mapAll": True,
        "createUser": ref(instance.account_id, "SevUser"),
        "voucherDate": day(instance.voucher_date),
        "supplier": ref(instance.supplier_id, "Contact") if instance.supplier_id else None,
        "supplierName": instance.supplier_name or None,
        "description": instance.description or None,
        "document": ref(instance.file_id, "Document") if instance.file_id else None,
        "payDate": day(instance.pay_date),
        "status": str(instance.status),
        "creditDebit": instance.credit_debit,
        "voucherType": instance.voucher_type,
        "currency": instance.currency,
        "propertyExchangeRate": _optional_number(instance.property_exchange_rate),
        "paymentDeadline": day(instance.payment_deadline),
        "deliveryDateUntil": day(instance.delivery_date_until),
        # A JSON number, as the spec types it (the tests compare it as one); from two-decimal
        # cents a float keeps every digit, and this is the last step before the wire.
        "paidAmount": float(instance.paid_amount),
        "taxSet": None,
    }
    return data | _voucher_sums(instance) | _voucher_tax(instance) | _delivery(instance)


def _voucher_sums(instance: Voucher) -> Json:
    sums = {"sumNet": instance.sum_net, "sumTax": instance.sum_tax, "sumGross": instance.sum_gross}
    accounting = {f"{key}Accounting": value for key, value in sums.items()}
    discounts = {"sumDiscounts": Decimal(0), "sumDiscountsForeignCurrency": Decimal(0)}
    return {key: amount(value) for key, value in (sums | accounting | discounts).items()}


def _voucher_tax(instance: Voucher) -> Json:
    """2.0 vouchers carry a taxRule, 1.0 vouchers a taxType; never both (neither is nullable)."""
    if instance.tax_rule is not None:
        return {"taxRule": ref(instance.tax_rule, "TaxRule"), "taxType": None}
    return {"taxType": instance.tax_type}


def _delivery(instance: Voucher) -> Json:
    # deliveryDate is typed non-nullable: leave it out when the voucher has none.
    return {"deliveryDate": day(instance.delivery_date)} if instance.delivery_date else {}


def _optional_number(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def voucher_pos(instance: VoucherPos) -> Json:
    revenue = instance.revenue_account
    return _base(instance, "VoucherPos", instance.account) | {
        "voucher": ref(instance.voucher_id, "Voucher"),
        "accountDatev": ref(revenue.account_datev_id, "AccountDatev"),
        "accountingType": ref(revenue.accounting_type_id, "AccountingType"),
        "taxRate": f"{instance.tax_rate.normalize():f}",
        "net": instance.net,
        "isAsset": False,
        "sumNet": amount(instance.sum_net),
        "sumTax": amount(instance.sum_tax),
        "sumGross": amount(instance.sum_gross),
        "sumNetAccounting": amount(instance.sum_net),
        "sumTaxAccounting": amount(instance.sum_tax),
        "sumGrossAccounting": amount(instance.sum_gross),
        "comment": instance.comment or None,
    }


def voucher_with_positions(instance: Voucher) -> Json:
    positions = instance.positions.select_related("revenue_account", "account")
    data = {
        "voucher": voucher(instance),
        "voucherPos": [voucher_pos(position) for position in positions],
    }
    if instance.file_id:  # typed non-nullable: left out when there is no file
        data["filename"] = instance.file.filename
    return data


def voucher_log(payment: VoucherPayment) -> Json:
    """bookAmount's answer: the status change it caused (sevDesk's "VoucherLog")."""
    return {
        "id": str(payment.pk),
        "objectName": "VoucherLog",
        "create": moment(payment.created),
        "creditNote": ref(payment.voucher_id, "Voucher"),
        "fromStatus": str(payment.from_status),
        "toStatus": str(payment.to_status),
        "ammountPayed": amount(payment.amount),
        "bookingDate": day(payment.date),
        "sevClient": ref(payment.account_id, "SevClient"),
    }


def receipt_guidance(instance: RevenueAccount) -> Json:
    return {
        "accountDatevId": instance.account_datev_id,
        "accountNumber": instance.number,
        "accountName": instance.name,
        "description": instance.description,
        "allowedTaxRules": [
            {
                "id": rule["id"],
                "name": TAX_RULE_NAMES[rule["id"]],
                "description": TAX_RULE_NAMES[rule["id"]],
                "taxRates": [RATE_NAMES[rate] for rate in rule["rates"]],
            }
            for rule in instance.allowed_tax_rules
        ],
        "allowedReceiptTypes": ["REVENUE"],
    }
