"""A thin client for Billbee's REST API v1 (no Django inside).

One method per remote operation, answers parsed into small frozen dataclasses, every failure
mapped onto the ``BillbeeError`` family. Facts it relies on are in ``shared/billbee-api.md``:
two credentials on every call, 2 requests/s per endpoint, 429 with ``Retry-After`` (often
without it), money with up to 28 significant digits, timestamps without offset.

The per-endpoint limit and the pauses after a 429 live in a ``core.ratelimit.RateLimiter``,
shared by every client of the same key and user (in every process when it lives in Redis).
Short waits (at most ``max_inline_wait`` seconds) are sat out here; longer ones raise
``BillbeeRateLimited`` so the caller can come back later instead of holding a worker.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from core.ratelimit import RateLimiter, memory_limiter, secret_digest
from orders.enums import ORDER_STATES, PAYMENT_TYPES

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 250
# Waits up to this long happen inside the client; longer ones are the caller's to schedule.
MAX_INLINE_WAIT_SECONDS = 2.0
# The first back-off step after a 429 without Retry-After: Billbee's windows are one second.
BACKOFF_BASE_SECONDS = 1.0
# GET /orders/invoices: once a minute for the same page and minInvoiceDate (its spec).
INVOICE_LIST_INTERVAL_SECONDS = 60

# --- Errors ----------------------------------------------------------------------------------


class BillbeeError(Exception):
    """Anything that went wrong talking to Billbee; ``message`` is fit to show a merchant."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BillbeeAuthenticationFailed(BillbeeError):
    """401/403: API key, user name or API password wrong, or the API module is disabled."""


class BillbeeTemporaryError(BillbeeError):
    """5xx, timeout, connection failure: worth trying again later."""


class BillbeeRateLimited(BillbeeError):
    """429 (or paused after one) for longer than the client waits; retry after the seconds."""

    def __init__(self, retry_after: float, message: str | None = None):
        super().__init__(
            message or f"Billbee's rate limit was hit; try again in {retry_after:g} seconds."
        )
        self.retry_after = retry_after


class BillbeeRejected(BillbeeError):
    """A permanent refusal (4xx, or a 2xx body reporting an error): retrying will not help."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class BillbeeNotFound(BillbeeRejected):
    """404: the order (or other object) does not exist in this Billbee account."""

    def __init__(self, message: str):
        super().__init__(404, message)


class BillbeeMalformedData(BillbeeError):
    """Billbee answered, but not with data we can read (HTML instead of JSON, a bad field)."""


# --- Result objects --------------------------------------------------------------------------


@dataclass(frozen=True)
class BillbeeAddress:
    company: str | None
    first_name: str | None
    last_name: str | None
    street: str | None
    house_number: str | None
    zip_code: str | None
    city: str | None
    country_iso2: str | None
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class BillbeeCustomer:
    id: int | None
    name: str | None
    email: str | None
    number: str | None
    vat_id: str | None


@dataclass(frozen=True)
class BillbeeOrderItem:
    billbee_id: int | None
    title: str
    sku: str | None
    quantity: Decimal
    total_price: Decimal  # gross after discount (net when the order carries no VAT)
    tax_amount: Decimal  # VAT contained in total_price
    tax_index: int  # 1 = TaxRate1, 2 = TaxRate2, 0 = no tax
    discount_percent: Decimal
    is_coupon: bool
    is_digital: bool


@dataclass(frozen=True)
class BillbeePayment:
    billbee_id: int | None
    transaction_id: str | None
    pay_date: datetime | None
    payment_type: int | None
    amount: Decimal
    purpose: str | None
    name: str | None


@dataclass(frozen=True)
class BillbeeOrder:
    billbee_id: int
    order_number: str | None
    marketplace_id: str | None
    state: int
    vat_mode: int
    currency: str
    created_at: datetime | None
    paid_at: datetime | None
    shipped_at: datetime | None
    invoice_date: datetime | None
    invoice_number: str | None
    last_modified_at: datetime | None
    total_cost: Decimal  # gross, shipping included (as real data has it)
    shipping_cost: Decimal
    adjustment_cost: Decimal
    paid_amount: Decimal
    tax_rate1: Decimal | None
    tax_rate2: Decimal | None
    payment_method: int | None
    shop_id: int | None
    shop_name: str | None
    platform: str | None
    customer: BillbeeCustomer | None
    invoice_address: BillbeeAddress | None
    customer_vat_id: str | None
    tags: tuple[str, ...]
    items: tuple[BillbeeOrderItem, ...]
    payments: tuple[BillbeePayment, ...]
    raw: dict

    @property
    def has_invoice(self) -> bool:
        return self.invoice_number is not None and self.invoice_date is not None


@dataclass(frozen=True)
class RejectedOrder:
    """An order in a page that could not be parsed; kept so it is shown, not silently lost."""

    billbee_id: int | None
    message: str
    raw: dict


@dataclass(frozen=True)
class OrdersPage:
    orders: list[BillbeeOrder]
    rejected: list[RejectedOrder]
    page: int
    total_pages: int
    total_rows: int
    page_size: int


@dataclass(frozen=True)
class BillbeeInvoiceEntry:
    """One entry of Billbee's invoice list (GET /orders/invoices): an invoice or a credit
    note, with the per-position and per-fee figures its PDF shows.

    `positions` and `fees` are dicts of Decimals: positions ``billbee_id`` (the order item's
    BillbeeId), ``title``, ``sku``, ``quantity``, ``total_net``, ``total_gross``,
    ``total_vat``, ``vat_rate``; fees ``type`` ("ShipCost", …), ``net``, ``gross``, ``vat``,
    ``vat_rate``.
    """

    number: str
    type: str  # "invoice" or "creditnote"
    billbee_order_id: int | None
    order_number: str | None
    invoice_date: datetime | None
    pay_date: datetime | None
    currency: str | None
    total_net: Decimal
    total_gross: Decimal
    vat_mode: int | None
    payment_type_id: int | None
    shop_name: str | None
    customer_vat_id: str | None
    positions: tuple[dict, ...]
    fees: tuple[dict, ...]
    vat_flags: dict
    raw: dict


@dataclass(frozen=True)
class RejectedInvoiceEntry:
    """An invoice list entry that could not be read: shown, never silently lost."""

    number: str | None
    message: str
    raw: dict


@dataclass(frozen=True)
class InvoicesPage:
    entries: list[BillbeeInvoiceEntry]
    rejected: list[RejectedInvoiceEntry]
    page: int
    total_pages: int


@dataclass(frozen=True)
class BillbeeShop:
    id: int
    name: str
    account_type: str | None


@dataclass(frozen=True)
class EnumEntry:
    id: int
    name: str


@dataclass(frozen=True)
class InvoicePdf:
    invoice_number: str
    invoice_date: datetime | None
    total_gross: Decimal | None
    pdf: bytes


def _fallback(names: Mapping[int, str]) -> list[EnumEntry]:
    return [EnumEntry(id=key, name=str(value)) for key, value in names.items()]


# --- Parsing ---------------------------------------------------------------------------------


class _Fields:
    """Typed reads from one JSON object; failures name the field and where it sits."""

    def __init__(self, raw: Any, where: str, naive_timezone: tzinfo):
        if not isinstance(raw, dict):
            raise BillbeeMalformedData(f"{where}: expected an object, got {type(raw).__name__}")
        self.raw = raw
        self.where = where
        self.tz = naive_timezone

    def _fail(self, key: str, problem: str) -> BillbeeMalformedData:
        return BillbeeMalformedData(f"{self.where}, field {key}: {problem}")

    def text(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is None or isinstance(value, str):
            return value or None
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return str(value)  # e.g. Customer.Number is an int32 in the spec
        raise self._fail(key, f"expected text, got {type(value).__name__}")

    def integer(self, key: str) -> int | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, f"expected a whole number, got {value!r:.40}")
        return value

    def required_integer(self, key: str) -> int:
        value = self.integer(key)
        if value is None:
            raise self._fail(key, "missing")
        return value

    def decimal(self, key: str) -> Decimal | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self._fail(key, "expected a number, got a boolean")
        try:
            number = Decimal(value) if isinstance(value, int | str) else value
        except InvalidOperation:
            raise self._fail(key, f"expected a number, got {value!r:.40}") from None
        if not isinstance(number, Decimal) or not number.is_finite():
            raise self._fail(key, f"expected a number, got {value!r:.40}")
        return number

    def money(self, key: str) -> Decimal:
        value = self.decimal(key)
        return Decimal(0) if value is None else value

    def boolean(self, key: str) -> bool:
        value = self.raw.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._fail(key, f"expected true/false, got {value!r:.40}")
        return value

    def timestamp(self, key: str) -> datetime | None:
        value = self.raw.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self._fail(key, f"expected a date, got {value!r:.40}")
        try:
            return parse_timestamp(value, self.tz)
        except ValueError:
            raise self._fail(key, f"not a date: {value!r:.40}") from None

    def child(self, key: str) -> _Fields | None:
        value = self.raw.get(key)
        return None if value is None else _Fields(value, f"{self.where}, {key}", self.tz)

    def children(self, key: str) -> list[_Fields]:
        value = self.raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(key, "expected a list")
        return [
            _Fields(entry, f"{self.where}, {key}[{i}]", self.tz) for i, entry in enumerate(value)
        ]


def parse_timestamp(value: str, naive_timezone: tzinfo = UTC) -> datetime | None:
    """Billbee's ISO timestamps: without offset they are in ``naive_timezone``."""
    moment = datetime.fromisoformat(value)
    if moment.year <= 1:
        return None  # .NET's DateTime.MinValue stands for "not set"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_timezone)
    return moment


def format_timestamp(moment: datetime, naive_timezone: tzinfo = UTC) -> str:
    """The query-side counterpart of ``parse_timestamp``: naive, in ``naive_timezone``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(naive_timezone)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds")


def _invoice_number(fields: _Fields) -> str | None:
    number = fields.integer("InvoiceNumber")
    if not number:
        return None  # Billbee sends null (or 0) until the invoice exists
    prefix = fields.text("InvoiceNumberPrefix") or ""
    postfix = fields.text("InvoiceNumberPostfix") or ""
    return f"{prefix}{number}{postfix}"


def _parse_address(fields: _Fields | None) -> BillbeeAddress | None:
    if fields is None:
        return None
    return BillbeeAddress(
        company=fields.text("Company"),
        first_name=fields.text("FirstName"),
        last_name=fields.text("LastName"),
        street=fields.text("Street"),
        house_number=fields.text("HouseNumber"),
        zip_code=fields.text("Zip"),
        city=fields.text("City"),
        country_iso2=fields.text("CountryISO2"),
        email=fields.text("Email"),
        phone=fields.text("Phone"),
    )


def _parse_customer(fields: _Fields | None) -> BillbeeCustomer | None:
    if fields is None:
        return None
    return BillbeeCustomer(
        id=fields.integer("Id"),
        name=fields.text("Name"),
        email=fields.text("Email"),
        number=fields.text("Number"),
        vat_id=fields.text("VatId"),
    )


def _parse_item(fields: _Fields) -> BillbeeOrderItem:
    product = fields.child("Product")
    return BillbeeOrderItem(
        billbee_id=fields.integer("BillbeeId"),
        title=(product.text("Title") if product else None) or "",
        sku=product.text("SKU") if product else None,
        quantity=fields.money("Quantity"),
        total_price=fields.money("TotalPrice"),
        tax_amount=fields.money("TaxAmount"),
        tax_index=fields.integer("TaxIndex") or 0,
        discount_percent=fields.money("Discount"),
        is_coupon=fields.boolean("IsCoupon"),
        is_digital=product.boolean("IsDigital") if product else False,
    )


def _parse_payment(fields: _Fields) -> BillbeePayment:
    return BillbeePayment(
        billbee_id=fields.integer("BillbeeId"),
        transaction_id=fields.text("TransactionId"),
        pay_date=fields.timestamp("PayDate"),
        payment_type=fields.integer("PaymentType"),
        amount=fields.money("PayValue"),
        purpose=fields.text("Purpose"),
        name=fields.text("Name"),
    )


def _parse_tags(fields: _Fields) -> tuple[str, ...]:
    tags = fields.raw.get("Tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise fields._fail("Tags", "expected a list of texts")
    return tuple(tags)


def parse_order(raw: dict, *, naive_timezone: tzinfo = UTC) -> BillbeeOrder:
    """One order from Billbee's JSON; raises BillbeeMalformedData naming the bad field."""
    where = f"order {raw.get('BillBeeOrderId')}" if isinstance(raw, dict) else "order"
    fields = _Fields(raw, where, naive_timezone)
    seller = fields.child("Seller")
    currency = fields.text("Currency")
    if not currency:
        raise fields._fail("Currency", "missing")  # guessing EUR could book wrong amounts
    return BillbeeOrder(
        billbee_id=fields.required_integer("BillBeeOrderId"),
        order_number=fields.text("OrderNumber"),
        marketplace_id=fields.text("Id"),
        state=fields.required_integer("State"),
        vat_mode=fields.integer("VatMode") or 0,
        currency=currency,
        created_at=fields.timestamp("CreatedAt"),
        paid_at=fields.timestamp("PayedAt"),
        shipped_at=fields.timestamp("ShippedAt"),
        invoice_date=fields.timestamp("InvoiceDate"),
        invoice_number=_invoice_number(fields),
        last_modified_at=fields.timestamp("LastModifiedAt"),
        total_cost=fields.money("TotalCost"),
        shipping_cost=fields.money("ShippingCost"),
        adjustment_cost=fields.money("AdjustmentCost"),
        paid_amount=fields.money("PaidAmount"),
        tax_rate1=fields.decimal("TaxRate1"),
        tax_rate2=fields.decimal("TaxRate2"),
        payment_method=fields.integer("PaymentMethod"),
        shop_id=seller.integer("BillbeeShopId") if seller else None,
        shop_name=seller.text("BillbeeShopName") if seller else None,
        platform=seller.text("Platform") if seller else None,
        customer=_parse_customer(fields.child("Customer")),
        invoice_address=_parse_address(fields.child("InvoiceAddress")),
        customer_vat_id=fields.text("CustomerVatId") or fields.text("VatId"),
        tags=_parse_tags(fields),
        items=tuple(_parse_item(item) for item in fields.children("OrderItems")),
        payments=tuple(_parse_payment(payment) for payment in fields.children("Payments")),
        raw=raw,
    )


INVOICE_TYPES = frozenset({"invoice", "creditnote"})


def _parse_invoice_position(fields: _Fields) -> dict:
    return {
        "billbee_id": fields.integer("BillbeeId"),
        "title": fields.text("Title") or "",
        "sku": fields.text("Sku") or "",
        "quantity": fields.decimal("Amount"),
        "total_net": fields.money("TotalNetValue"),
        "total_gross": fields.money("TotalGrossValue"),
        "total_vat": fields.decimal("TotalVatAmount"),
        "vat_rate": fields.money("VatRate"),
    }


def _parse_fee(fields: _Fields) -> dict:
    return {
        "type": fields.text("Type") or "",
        "net": fields.money("Net"),
        "gross": fields.money("Gross"),
        "vat": fields.decimal("VatAmount"),
        "vat_rate": fields.money("VatRate"),
    }


def parse_invoice_entry(raw: dict, *, naive_timezone: tzinfo = UTC) -> BillbeeInvoiceEntry:
    """One InvoiceApiModel; raises BillbeeMalformedData naming the field that is wrong."""
    fields = _Fields(raw, "invoice list entry", naive_timezone)
    number = fields.text("InvoiceNumber")
    if not number:
        raise BillbeeMalformedData("invoice list entry without InvoiceNumber")
    fields.where = f"invoice list entry {number}"
    kind = (fields.text("Type") or "").lower()
    if kind not in INVOICE_TYPES:
        raise BillbeeMalformedData(f"{fields.where}: unknown Type {raw.get('Type')!r:.40}")
    flags = raw.get("VatFlags")
    return BillbeeInvoiceEntry(
        number=number,
        type=kind,
        billbee_order_id=fields.integer("BillbeeId"),
        order_number=fields.text("OrderNumber"),
        invoice_date=fields.timestamp("InvoiceDate"),
        pay_date=fields.timestamp("PayDate"),
        currency=fields.text("Currency"),
        total_net=fields.money("TotalNet"),
        total_gross=fields.money("TotalGross"),
        vat_mode=fields.integer("VatMode"),
        payment_type_id=fields.integer("PaymentTypeId"),
        shop_name=fields.text("ShopName"),
        customer_vat_id=fields.text("CustomerVatId"),
        positions=tuple(_parse_invoice_position(p) for p in fields.children("Positions")),
        fees=tuple(_parse_fee(f) for f in fields.children("AdditionalFees")),
        vat_flags=flags if isinstance(flags, dict) else {},
        raw=raw,
    )


def _reject(raw: Any, message: str) -> RejectedOrder:
    if not isinstance(raw, dict):
        return RejectedOrder(billbee_id=None, message=message, raw={"value": raw})
    billbee_id = raw.get("BillBeeOrderId")
    valid_id = isinstance(billbee_id, int) and not isinstance(billbee_id, bool)
    return RejectedOrder(billbee_id=billbee_id if valid_id else None, message=message, raw=raw)


# --- Client ----------------------------------------------------------------------------------


class BillbeeClient:
    """One Billbee account (API key + user); one method per API operation we use.

    ``min_interval_per_endpoint`` (0.5 s: Billbee's 2 requests/s per endpoint; 0 = none) is
    kept through ``limiter`` (default: this process's in-process limiter). ``sleep`` is what
    sits out the short waits, for tests.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        username: str,
        api_password: str,
        timeout: float = 30,
        session: requests.Session | None = None,
        naive_timezone: tzinfo = UTC,
        min_interval_per_endpoint: float = 0.5,
        max_rate_limit_retries: int = 5,
        max_inline_wait: float = MAX_INLINE_WAIT_SECONDS,
        sleep: Callable[[float], Any] = time.sleep,
        limiter: RateLimiter | None = None,
        on_request: Callable[[str], Any] | None = None,
    ):
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._username = username
        self._timeout = timeout
        self._session = session or requests.Session()
        # Credentials go with each request rather than onto the session, which callers may
        # share between accounts.
        # As UTF-8 bytes: requests would encode str as latin-1 and fail on other characters.
        self._auth = (username.encode(), api_password.encode())
        self._headers = {"X-Billbee-Api-Key": api_key, "Accept": "application/json"}
        self._naive_timezone = naive_timezone
        self._per_second = 1 / min_interval_per_endpoint if min_interval_per_endpoint > 0 else None
        self._max_retries = max_rate_limit_retries
        self._max_inline_wait = max_inline_wait
        self._sleep = sleep
        self._limiter = limiter or memory_limiter()
        # Told of every request sent (the endpoint), for the API budget.
        self._on_request = on_request
        # Billbee limits per key + user; the limiter's keys hold only a digest of them.
        self._limit_key = f"billbee:{secret_digest(api_key, username)}"

    def __repr__(self) -> str:  # never show the credentials
        return f"<BillbeeClient {self._base_url} user={self._username!r}>"

    # -- operations --

    def get_orders_page(
        self,
        *,
        page: int,
        page_size: int = MAX_PAGE_SIZE,
        modified_at_min: datetime | None = None,
        modified_at_max: datetime | None = None,
        min_order_date: datetime | None = None,
        shop_ids: Sequence[int] = (),
        order_state_ids: Sequence[int] = (),
    ) -> OrdersPage:
        """One page of the orders matching the filters; unparseable ones land in `rejected`."""
        # OrderApi_GetList: GET /orders
        params: dict[str, Any] = {
            "page": page,
            "pageSize": max(1, min(page_size, MAX_PAGE_SIZE)),
            "modifiedAtMin": self._timestamp(modified_at_min),
            "modifiedAtMax": self._timestamp(modified_at_max),
            "minOrderDate": self._timestamp(min_order_date),
            "shopId": list(shop_ids),
            "orderStateId": list(order_state_ids),
        }
        body = self._request("GET", "/orders", params=params)
        return self._orders_page(body)

    def get_invoices_page(
        self,
        *,
        page: int,
        min_invoice_date: datetime,
        page_size: int = MAX_PAGE_SIZE,
    ) -> InvoicesPage:
        """One page of the invoice list (invoices and credit notes), with positions and fees.

        Billbee answers this once a minute for the same page and ``minInvoiceDate``; a second
        call within the minute raises ``BillbeeRateLimited`` here without being sent.
        """
        # OrderApi_GetInvoiceList: GET /orders/invoices
        since = self._timestamp(min_invoice_date)
        throttle_key = f"{self._limit_key}:invoices:{page}:{since}"
        waiting = self._limiter.paused_for(throttle_key)
        if waiting > 0:
            raise BillbeeRateLimited(
                waiting, "Billbee answers the invoice list once a minute per page and date."
            )
        params: dict[str, Any] = {
            "page": page,
            "pageSize": max(1, min(page_size, MAX_PAGE_SIZE)),
            "minInvoiceDate": since,
            "includePositions": "true",
        }
        self._limiter.pause(throttle_key, INVOICE_LIST_INTERVAL_SECONDS)
        body = self._request("GET", "/orders/invoices", params=params)
        entries: list[BillbeeInvoiceEntry] = []
        rejected: list[RejectedInvoiceEntry] = []
        for raw in _data_list(body):
            try:
                entries.append(parse_invoice_entry(raw, naive_timezone=self._naive_timezone))
            except BillbeeMalformedData as exc:
                logger.warning("Billbee invoice list entry skipped: %s", exc.message)
                number = raw.get("InvoiceNumber") if isinstance(raw, dict) else None
                rejected.append(
                    RejectedInvoiceEntry(
                        number=str(number) if number is not None else None,
                        message=exc.message,
                        raw=raw if isinstance(raw, dict) else {"value": repr(raw)[:200]},
                    )
                )
        return InvoicesPage(
            entries=entries,
            rejected=rejected,
            page=_paging(body, "Page", default=page),
            total_pages=_paging(body, "TotalPages", default=1),
        )

    def get_webhook_filters(self) -> list[str]:
        """The filter names Billbee offers for webhooks (the spec types the answer only as an
        object: a list of names, of {"Name": …} entries, or a map of names is read)."""
        # WebHookManagement_GetFilters: GET /webhooks/filters
        body = self._request("GET", "/webhooks/filters", envelope=False)
        if isinstance(body, dict):
            body = body.get("Data", body)
        if isinstance(body, dict):
            return [str(name) for name in body]
        names = []
        for entry in body if isinstance(body, list) else []:
            name = entry.get("Name") if isinstance(entry, dict) else entry
            if isinstance(name, str) and name:
                names.append(name)
        return names

    def register_webhook(
        self, *, uri: str, secret: str, filters: Sequence[str], description: str
    ) -> str:
        """Register a webhook; returns Billbee's id of it."""
        # WebHookManagement_Post: POST /webhooks
        body = self._request(
            "POST",
            "/webhooks",
            json_body={
                "WebHookUri": uri,
                "Secret": secret,
                "Description": description,
                "IsPaused": False,
                "Filters": list(filters),
                "Headers": {},
                "Properties": {},
            },
            envelope=False,
        )
        webhook_id = body.get("Id") if isinstance(body, dict) else None
        if not webhook_id:
            raise BillbeeMalformedData("Billbee registered the webhook without an Id.")
        return str(webhook_id)

    def get_webhooks(self) -> list[dict]:
        # WebHookManagement_Get: GET /webhooks
        body = self._request("GET", "/webhooks", envelope=False)
        return (
            [entry for entry in body if isinstance(entry, dict)] if isinstance(body, list) else []
        )

    def delete_webhook(self, webhook_id: str) -> None:
        # WebHookManagement_Delete: DELETE /webhooks/{id}
        self._request("DELETE", "/webhooks/{id}", path={"id": webhook_id}, envelope=False)

    def get_order(self, billbee_id: int) -> BillbeeOrder:
        """One order by its Billbee id."""
        # OrderApi_Get: GET /orders/{id}
        body = self._request("GET", "/orders/{id}", path={"id": billbee_id})
        data = body.get("Data")
        if data is None:
            raise BillbeeNotFound(f"Billbee has no order {billbee_id}.")
        return parse_order(data, naive_timezone=self._naive_timezone)

    def get_shops(self) -> list[BillbeeShop]:
        """All shop connections, every page."""
        # ShopAccount_QueryShopAccounts: GET /shopaccounts
        shops: list[BillbeeShop] = []
        page = 1
        while True:
            params = {"page": page, "pageSize": MAX_PAGE_SIZE}
            body = self._request("GET", "/shopaccounts", params=params)
            shops.extend(self._shop(entry, index) for index, entry in enumerate(_data_list(body)))
            if page >= _paging(body, "TotalPages", default=1):
                return shops
            page += 1

    def get_order_states(self) -> list[EnumEntry]:
        """Order states, or the built-in list."""
        # EnumApi_GetOrderStates: GET /enums/orderstates
        return self._enum("/enums/orderstates", ORDER_STATES)

    def get_payment_types(self) -> list[EnumEntry]:
        """Payment types, or the built-in list."""
        # EnumApi_GetPaymentTypes: GET /enums/paymenttypes
        return self._enum("/enums/paymenttypes", PAYMENT_TYPES)

    def add_tags(self, billbee_id: int, tags: Sequence[str]) -> None:
        """Adds tags; Billbee ignores ones already there."""
        # OrderApi_TagsCreate: POST /orders/{id}/tags
        self._request(
            "POST", "/orders/{id}/tags", path={"id": billbee_id}, json_body={"Tags": list(tags)}
        )

    def get_invoice_pdf(self, billbee_id: int) -> InvoicePdf:
        """The existing invoice with its PDF.

        Only call it for orders that already have an invoice: whether Billbee would create one
        otherwise is undocumented, and we never want to create invoices.
        """
        # OrderApi_CreateInvoice: POST /orders/CreateInvoice/{id}?includeInvoicePdf=true
        body = self._request(
            "POST",
            "/orders/CreateInvoice/{id}",
            path={"id": billbee_id},
            params={"includeInvoicePdf": "true"},
        )
        where = f"invoice of order {billbee_id}"
        return self._invoice(_Fields(body.get("Data"), where, self._naive_timezone))

    # -- parsing helpers --

    def _timestamp(self, moment: datetime | None) -> str | None:
        return None if moment is None else format_timestamp(moment, self._naive_timezone)

    def _orders_page(self, body: dict) -> OrdersPage:
        orders: list[BillbeeOrder] = []
        rejected: list[RejectedOrder] = []
        for raw in _data_list(body):
            try:
                orders.append(parse_order(raw, naive_timezone=self._naive_timezone))
            except BillbeeMalformedData as exc:
                logger.warning("Billbee order skipped: %s", exc.message)
                rejected.append(_reject(raw, exc.message))
        return OrdersPage(
            orders=orders,
            rejected=rejected,
            page=_paging(body, "Page"),
            total_pages=_paging(body, "TotalPages"),
            total_rows=_paging(body, "TotalRows"),
            page_size=_paging(body, "PageSize"),
        )

    def _shop(self, raw: Any, index: int) -> BillbeeShop:
        fields = _Fields(raw, f"shop account [{index}]", self._naive_timezone)
        account_type = fields.raw.get("AccountType")
        return BillbeeShop(
            id=fields.required_integer("Id"),
            name=fields.text("Name") or "",
            account_type=None if account_type is None else str(account_type),
        )

    def _enum(self, template: str, fallback: Mapping[int, str]) -> list[EnumEntry]:
        try:
            body = self._request("GET", template, envelope=False)
            return _enum_entries(body)
        except BillbeeError as exc:
            # The names are only labels; the built-in list keeps screens working.
            logger.warning("Billbee %s unavailable, using built-in names: %s", template, exc)
            return _fallback(fallback)

    def _invoice(self, fields: _Fields) -> InvoicePdf:
        number = fields.text("InvoiceNumber")
        encoded = fields.text("PDFData")
        if not number or not encoded:
            raise BillbeeMalformedData(f"{fields.where}: no invoice number or PDF in the answer")
        try:
            pdf = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise BillbeeMalformedData(f"{fields.where}: PDFData is not base64") from None
        return InvoicePdf(
            invoice_number=number,
            invoice_date=fields.timestamp("InvoiceDate"),
            total_gross=fields.decimal("TotalGross"),
            pdf=pdf,
        )

    # -- transport --

    def _request(
        self,
        method: str,
        template: str,
        *,
        path: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        envelope: bool = True,
    ) -> Any:
        """Send one call, waiting for the endpoint's slot and sitting out short 429 pauses."""
        url = self._base_url + template.format(**(path or {}))
        query = {key: value for key, value in (params or {}).items() if value not in (None, [])}
        endpoint = f"{method} {template}"
        key = f"{self._limit_key}:{endpoint}"
        paused_for = self._limiter.paused_for(key)
        if paused_for > 0:
            self._sit_out(paused_for, final=False)
        for attempt in range(self._max_retries + 1):
            self._limiter.wait(key, self._per_second)
            response = self._send(method, url, endpoint, query, json_body)
            if response.status_code != 429:
                answer = self._answer(response, endpoint, envelope)
                self._limiter.reset_backoff(key)
                return answer
            wait = self._pause_after_429(key, response)
            logger.info("Billbee %s: 429, pausing the endpoint for %.1f s", endpoint, wait)
            self._sit_out(wait, final=attempt == self._max_retries)
        raise AssertionError("unreachable")  # pragma: no cover

    def _pause_after_429(self, key: str, response: requests.Response) -> float:
        """Pause the endpoint for every client: Retry-After's seconds, else the next back-off."""
        retry_after = _retry_after(response)
        if retry_after is None:
            return self._limiter.backoff(key, base=BACKOFF_BASE_SECONDS)
        self._limiter.pause(key, retry_after)
        return retry_after

    def _sit_out(self, wait: float, *, final: bool) -> None:
        """Sleep through a short wait; a long one (or after the last retry) goes to the caller."""
        if final or wait > self._max_inline_wait:
            raise BillbeeRateLimited(wait)
        if wait > 0:
            self._sleep(wait)

    def _send(
        self, method: str, url: str, endpoint: str, query: Mapping[str, Any], json_body: Any
    ) -> requests.Response:
        if self._on_request is not None:
            self._on_request(endpoint)
        try:
            return self._session.request(
                method,
                url,
                params=query,
                json=json_body,
                auth=self._auth,
                headers=self._headers,
                timeout=self._timeout,
            )
        except requests.Timeout:
            raise BillbeeTemporaryError(
                f"Billbee did not answer within {self._timeout:g} seconds ({endpoint})."
            ) from None
        except requests.RequestException as exc:
            # The exception text can hold the URL but never the credentials (they are headers).
            raise BillbeeTemporaryError(
                f"Billbee could not be reached ({endpoint}): {type(exc).__name__}"
            ) from None

    def _answer(self, response: requests.Response, endpoint: str, envelope: bool) -> Any:
        status = response.status_code
        logger.debug("Billbee %s → %s", endpoint, status)
        if 200 <= status < 300:
            body = _json_body(response, endpoint)
            if envelope:
                if not isinstance(body, dict):
                    raise BillbeeMalformedData(f"Billbee's answer is not an object ({endpoint}).")
                _raise_for_error_message(body, status, endpoint)
            return body
        detail = _error_detail(response, endpoint)
        if status in (401, 403):
            raise BillbeeAuthenticationFailed(
                "Billbee refused the credentials: check the API key, user name and API "
                f"password, and that the API is enabled in Billbee. {detail}"
            )
        if status == 404:
            raise BillbeeNotFound(detail)
        if status >= 500:
            raise BillbeeTemporaryError(detail)
        raise BillbeeRejected(status, detail)


# --- Module helpers --------------------------------------------------------------------------


def _looks_like_html(response: requests.Response) -> bool:
    content_type = response.headers.get("Content-Type", "")
    return "html" in content_type or response.content.lstrip()[:1] == b"<"


def _json_body(response: requests.Response, endpoint: str) -> Any:
    status = response.status_code
    if _looks_like_html(response):
        raise BillbeeMalformedData(
            f"Billbee answered {status} with an HTML page instead of JSON ({endpoint})."
        )
    if not response.content.strip():
        return {}
    try:
        # JSON is UTF-8; .NET may put a BOM in front. Decimal keeps all 28 digits of money.
        return json.loads(response.content.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BillbeeMalformedData(
            f"Billbee answered {status} with invalid JSON ({endpoint}): {exc}"
        ) from None


def _raise_for_error_message(body: Any, status: int, endpoint: str) -> None:
    """Billbee reports some failures inside a 2xx body's ErrorMessage."""
    if isinstance(body, dict) and body.get("ErrorMessage"):
        raise BillbeeRejected(
            status, f"Billbee reported an error ({endpoint}): {body['ErrorMessage']}"
        )


def _error_detail(response: requests.Response, endpoint: str) -> str:
    """One sentence on an error answer: ASP.NET's Message + ModelState, or what came instead."""
    status = response.status_code
    if _looks_like_html(response):
        return f"Billbee answered {status} with an HTML page instead of JSON ({endpoint})."
    message = _aspnet_message(response)
    return f"Billbee answered {status} for {endpoint}" + (f": {message}" if message else ".")


def _aspnet_message(response: requests.Response) -> str:
    try:
        body = json.loads(response.content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [str(body.get("Message") or body.get("ErrorMessage") or "")]
    model_state = body.get("ModelState")
    if isinstance(model_state, dict):
        for field, problems in model_state.items():
            problems = problems if isinstance(problems, list) else [problems]
            parts.append(f"{field}: {'; '.join(str(problem) for problem in problems)}")
    return " ".join(part for part in parts if part)


def _retry_after(response: requests.Response) -> float | None:
    """Retry-After's seconds; None when absent (often, for Billbee) or an HTTP date."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _data_list(body: Any) -> list:
    data = body.get("Data") if isinstance(body, dict) else None
    if data is None:
        return []
    if not isinstance(data, list):
        raise BillbeeMalformedData("Billbee's answer has no list of results (Data).")
    return data


def _paging(body: dict, key: str, default: int | None = None) -> int:
    paging = body.get("Paging")
    value = paging.get(key) if isinstance(paging, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if default is not None:
        return default
    raise BillbeeMalformedData(f"Billbee's answer lacks Paging.{key}.")


def _enum_entries(body: Any) -> list[EnumEntry]:
    """``[{"Id": 1, "Name": "Bestellt"}, ...]``; a plain ``{"1": "Bestellt"}`` map is read too."""
    if isinstance(body, dict):
        body = [{"Id": int(key), "Name": value} for key, value in body.items() if key.isdigit()]
    if not isinstance(body, list) or not body:
        raise BillbeeMalformedData("Billbee's enum list is empty or not a list.")
    entries = []
    for entry in body:
        if not isinstance(entry, dict) or not isinstance(entry.get("Id"), int):
            raise BillbeeMalformedData("Billbee's enum list has an entry without Id.")
        entries.append(EnumEntry(id=entry["Id"], name=str(entry.get("Name") or entry["Id"])))
    return entries
