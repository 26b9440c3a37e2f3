"""A thin client for the sevDesk REST API v1 (no Django inside).

One method per remote call, named after what it does, with sevDesk's operationId/path in a
comment. Answers are parsed into small frozen dataclasses: sevDesk sends ids and sums as
strings more often than not (`"id": "1234"`, `"sumGross": "57.49"`) and wraps most answers in
`{"objects": ...}` while its spec shows some without; both forms are accepted here.

Every HTTP failure becomes one of our exceptions (`SevdeskError` and subclasses), carrying
the HTTP status and the start of the answer so export attempts can record them. The client
never retries: when to try again is the caller's (Celery's) decision. It does keep a modest
rate limit per token, shared through `core.ratelimit` by all clients of that token (in every
process when the limiter lives in Redis), because sevDesk may block tokens that cause
error-heavy bursts. After a 429 the token is paused for everyone: Retry-After's seconds, or an
exponential back-off when sevDesk gives none; while paused, requests fail with
`SevdeskRateLimited` before anything is sent, so callers reschedule instead of sleeping.

Money is `Decimal`. Request bodies are serialised by `encode_json`, which writes a `Decimal`
exactly as its digits (``Decimal("119.00")`` → ``119.00``), so amounts never pass through a
binary float.
"""

from __future__ import annotations

import datetime
import email.utils
import http
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import requests

from core.ratelimit import RateLimiter, memory_limiter, secret_digest

BERLIN = ZoneInfo("Europe/Berlin")
CENT = Decimal("0.01")
CATEGORY_CUSTOMER = 3
MAX_ERROR_TEXT = 300
VOUCHER_PAGE_SIZE = 100
# How much of an answer is read for an error's excerpt (before whitespace is collapsed).
_EXCERPT_WINDOW = 4000

# How ReceiptGuidance names tax rates.
_RATE_NAMES = {"ZERO": Decimal("0"), "SEVEN": Decimal("7"), "NINETEEN": Decimal("19")}


# --- Exceptions ----------------------------------------------------------------------------


class SevdeskError(Exception):
    """Anything that went wrong talking to sevDesk; `message` is fit to show a merchant.

    `status` is the HTTP status (None when no answer came: timeouts, connection errors, a
    request refused before sending); `excerpt` the start of the answer, without the token.
    """

    def __init__(self, message: str, *, status: int | None = None, excerpt: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.excerpt = excerpt


class SevdeskAuthenticationFailed(SevdeskError):
    """401: the token is wrong, regenerated, or its user was deleted. Stop using it."""


class SevdeskTemporaryError(SevdeskError):
    """5xx, timeouts, connection problems, garbled answers: worth trying again later."""


class SevdeskRateLimited(SevdeskError):
    """429, or the token is still paused after one: try again in `retry_after` seconds."""

    def __init__(
        self,
        retry_after: float | None = None,
        message: str = "Too Many Requests",
        *,
        status: int | None = 429,
        excerpt: str = "",
    ):
        super().__init__(message, status=status, excerpt=excerpt)
        self.retry_after = retry_after


class SevdeskRejected(SevdeskError):
    """Another 4xx: sevDesk refused this request; sending it again will not help."""

    def __init__(self, status: int, message: str, *, excerpt: str = ""):
        super().__init__(message, status=status, excerpt=excerpt)


class SevdeskNotFound(SevdeskRejected):
    """404: the object does not exist (any more)."""

    def __init__(self, message: str = "Not Found", status: int = 404, *, excerpt: str = ""):
        super().__init__(status, message, excerpt=excerpt)


# --- Results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckAccount:
    id: int
    name: str
    type: str  # "online" (bank, PayPal, CSV import), "offline" (clearing), "register" (cash)
    status: int  # 100 active, 0 archived
    accounting_number: int | None
    is_default: bool
    sev_client_id: int | None = None  # the sevDesk account it belongs to

    @property
    def is_offline(self) -> bool:
        return self.type == "offline"

    @property
    def is_active(self) -> bool:
        return self.status == 100


@dataclass(frozen=True)
class Contact:
    id: int
    customer_number: str | None
    organisation: str | None
    first_name: str | None
    last_name: str | None


@dataclass(frozen=True)
class StaticCountry:
    id: int
    code: str  # ISO 3166-1 alpha-2, upper case
    name: str


@dataclass(frozen=True)
class CommunicationWayKey:
    id: int
    name: str


@dataclass(frozen=True)
class SavedVoucher:
    id: int
    status: int
    sum_gross: Decimal | None


@dataclass(frozen=True)
class VoucherSummary:
    id: int
    description: str
    status: int  # 50 draft, 100 open, 750 partially paid, 1000 paid
    sum_gross: Decimal | None
    pay_date: datetime.date | None  # days as sevDesk's German calendar names them
    paid_amount: Decimal | None = None
    voucher_date: datetime.date | None = None

    @property
    def is_paid(self) -> bool:
        """Fully paid: booking another payment on it would be a duplicate."""
        return self.status == 1000


@dataclass(frozen=True)
class RevenueAccount:
    account_datev_id: int
    account_number: str
    name: str
    tax_rules: tuple[int, ...]
    tax_rates: tuple[Decimal, ...]  # every rate allowed by any of the rules
    rates_by_rule: tuple[tuple[int, tuple[Decimal, ...]], ...] = ()

    def allows(self, tax_rule: int, tax_rate: Decimal) -> bool:
        return any(rule == tax_rule and tax_rate in rates for rule, rates in self.rates_by_rule)


# --- Serialising ---------------------------------------------------------------------------


def encode_json(value: Any) -> bytes:
    """JSON for sevDesk, with each `Decimal` written exactly as its digits (no float)."""
    return _json_text(value).encode()


def _json_text(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be sent to sevDesk")
        return format(value, "f")
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(k))}:{_json_text(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    return json.dumps(value)


def berlin_midnight(day: datetime.date) -> str:
    """The start of `day` in sevDesk's (German) calendar, e.g. 2026-11-02T00:00:00+01:00.

    A UTC midnight would land on the previous day in sevDesk.
    """
    return datetime.datetime.combine(day, datetime.time(), tzinfo=BERLIN).isoformat()


# --- The client ----------------------------------------------------------------------------


class SevdeskClient:
    """One sevDesk account, reached with one API token.

    `limiter` holds the rate limit and pauses of the token (default: this process's
    in-process limiter; `connections.services.sevdesk_client_for` passes the one from the
    settings, shared through Redis). `requests_per_second=None` (or 0) switches the limit off.
    """

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        timeout: float = 30,
        user_agent: str = "billbee-sevdesk/0.1",
        requests_per_second: float | None = 5,
        session: requests.Session | None = None,
        limiter: RateLimiter | None = None,
    ):
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.user_agent = user_agent
        self._requests_per_second = requests_per_second or None
        self._session = session or requests.Session()
        self._limiter = limiter or memory_limiter()
        # Named by a digest: the limiter's keys (maybe in Redis) never hold the token.
        self._limit_key = f"sevdesk:{secret_digest(token)}"

    def __repr__(self) -> str:  # never show the token, e.g. in tracebacks with locals
        return f"<SevdeskClient {self.base_url}>"

    # --- Basics and accounts ---

    def bookkeeping_system_version(self) -> str:
        """Which bookkeeping system the account runs, "1.0" or "2.0" (voucher fields differ)."""
        # operationId bookkeepingSystemVersion: GET /Tools/bookkeepingSystemVersion
        data = _objects(self._request("GET", "/Tools/bookkeepingSystemVersion"))
        return str(_field(data, "version"))

    def sev_client_id(self) -> int:
        """The id of the sevDesk account ("sevClient") this token belongs to.

        Two tokens with the same id reach the same books. Check accounts are the cheapest
        objects that always exist in an account we book payments into and that the spec
        gives a `sevClient`; one of them is enough.
        """
        # operationId getCheckAccounts: GET /CheckAccount?limit=1
        data = _objects(self._request("GET", "/CheckAccount", params={"limit": 1}))
        for item in _as_list(data):
            sev_client = item.get("sevClient")
            if isinstance(sev_client, Mapping) and sev_client.get("id") not in (None, ""):
                try:
                    return int(str(sev_client["id"]))
                except ValueError:
                    break
        raise SevdeskRejected(
            200,
            "sevDesk did not say which account this token belongs to (no check account "
            "with a sevClient); create a check account in sevDesk and try again",
        )

    def list_check_accounts(self) -> list[CheckAccount]:
        # operationId getCheckAccounts: GET /CheckAccount
        data = _objects(self._request("GET", "/CheckAccount", params={"limit": 1000}))
        return [_check_account(item) for item in _as_list(data)]

    def create_clearing_account(self, *, name: str, accounting_number: int) -> CheckAccount:
        # operationId createClearingAccount: POST /CheckAccount/Factory/clearingAccount
        body = {"name": name, "accountingNumber": accounting_number}
        data = self._request("POST", "/CheckAccount/Factory/clearingAccount", json_body=body)
        return _check_account(_single(_objects(data)))

    # --- Contacts ---

    def find_contacts_by_customer_number(self, customer_number: str) -> list[Contact]:
        # operationId getContacts: GET /Contact. Without depth=1 sevDesk returns only
        # organisations, so a person would never be found and would be created again.
        params = {"customerNumber": customer_number, "depth": "1"}
        data = _objects(self._request("GET", "/Contact", params=params))
        return [_contact(item) for item in _as_list(data)]

    def create_contact(
        self,
        *,
        organisation: str | None,
        first_name: str | None,
        last_name: str | None,
        customer_number: str | None,
        vat_number: str | None,
    ) -> Contact:
        """A customer; an organisation when `organisation` is given, else a person."""
        # operationId createContact: POST /Contact
        if not (organisation or last_name or first_name):
            raise ValueError("a contact needs an organisation or a person's name")
        fields = {
            "name": organisation,
            "surename": None if organisation else first_name,  # sevDesk's spelling
            "familyname": None if organisation else last_name,
            "customerNumber": customer_number,
            "vatNumber": vat_number,
        }
        body = {k: v for k, v in fields.items() if v is not None}
        body["category"] = {"id": CATEGORY_CUSTOMER, "objectName": "Category"}
        return _contact(_single(_objects(self._request("POST", "/Contact", json_body=body))))

    def create_contact_address(
        self,
        *,
        contact_id: int,
        street: str,
        zip_code: str,
        city: str,
        country_id: int,
        category_id: int | None = None,
    ) -> int:
        """The new address's id. `category_id` from GET /Category?objectType=ContactAddress."""
        # operationId createContactAddress: POST /ContactAddress
        body = {
            "contact": {"id": contact_id, "objectName": "Contact"},
            "street": street,
            "zip": zip_code,
            "city": city,
            "country": {"id": country_id, "objectName": "StaticCountry"},
            # Required by the spec but nullable; sevDesk then files it without a category.
            "category": None
            if category_id is None
            else {"id": category_id, "objectName": "Category"},
        }
        data = self._request("POST", "/ContactAddress", json_body=body)
        return _int(_field(_single(_objects(data)), "id"))

    def create_contact_email(self, *, contact_id: int, email: str, key_id: int) -> int:
        """The new communication way's id. `key_id` from `list_communication_way_keys`."""
        # operationId createCommunicationWay: POST /CommunicationWay
        body = {
            "contact": {"id": contact_id, "objectName": "Contact"},
            "type": "EMAIL",
            "value": email,
            "key": {"id": key_id, "objectName": "CommunicationWayKey"},
            "main": True,
        }
        data = self._request("POST", "/CommunicationWay", json_body=body)
        return _int(_field(_single(_objects(data)), "id"))

    def list_static_countries(self) -> list[StaticCountry]:
        # GET /StaticCountry (used by public clients, missing from sevDesk's spec)
        data = _objects(self._request("GET", "/StaticCountry", params={"limit": 1000}))
        return [
            StaticCountry(
                id=_int(_field(item, "id")),
                code=str(item.get("code") or "").upper(),
                name=str(item.get("name") or item.get("nameEn") or ""),
            )
            for item in _as_list(data)
        ]

    def list_communication_way_keys(self) -> list[CommunicationWayKey]:
        # operationId getCommunicationWayKeys: GET /CommunicationWayKey
        data = _objects(self._request("GET", "/CommunicationWayKey"))
        return [
            CommunicationWayKey(id=_int(_field(item, "id")), name=str(item.get("name") or ""))
            for item in _as_list(data)
        ]

    # --- Vouchers ---

    def upload_temp_file(
        self, *, filename: str, content: bytes, mime_type: str = "application/pdf"
    ) -> str:
        """Upload a document; returns sevDesk's name for it, to pass to `save_voucher`."""
        # operationId voucherUploadFile: POST /Voucher/Factory/uploadTempFile
        files = {"file": (filename, content, mime_type)}
        data = self._request("POST", "/Voucher/Factory/uploadTempFile", files=files)
        return str(_field(_single(_objects(data)), "filename"))

    def save_voucher(self, payload: Mapping[str, Any]) -> SavedVoucher:
        """Create a voucher from a `voucher_builder.build_voucher` payload."""
        # operationId voucherFactorySaveVoucher: POST /Voucher/Factory/saveVoucher
        data = self._request("POST", "/Voucher/Factory/saveVoucher", json_body=payload)
        voucher = _single(_objects(data))
        voucher = voucher.get("voucher", voucher)
        return SavedVoucher(
            id=_int(_field(voucher, "id")),
            status=_int(voucher.get("status", 0)),
            sum_gross=_decimal_or_none(voucher.get("sumGross")),
        )

    def find_vouchers(
        self,
        *,
        description: str,
        start_date: datetime.date | None = None,
        end_date: datetime.date | None = None,
        page_size: int = VOUCHER_PAGE_SIZE,
    ) -> list[VoucherSummary]:
        """Revenue vouchers whose description is exactly `description`, from every page.

        `start_date`/`end_date` (inclusive, days in Germany) narrow sevDesk's search by
        voucher date.
        """
        # operationId getVouchers: GET /Voucher. descriptionLike is a substring match
        # (RN-1 also finds RN-10), so compare exactly here; startDate/endDate are integers
        # (unix timestamps) in the spec.
        params: dict[str, Any] = {
            "descriptionLike": description,
            "creditDebit": "D",
            "limit": page_size,
        }
        if start_date is not None:
            params["startDate"] = _unix_time(start_date)
        if end_date is not None:
            params["endDate"] = _unix_time(end_date + datetime.timedelta(days=1)) - 1
        return [
            voucher
            for page in self._voucher_pages(params, page_size)
            for voucher in page
            if voucher.description == description
        ]

    def list_vouchers(
        self, *, start_date: datetime.date, end_date: datetime.date, page_size: int = 1000
    ) -> Iterator[list[VoucherSummary]]:
        """Every revenue voucher dated `start_date`..`end_date` (inclusive, days in Germany),
        one list per page: one call per page, never one per voucher. Read only."""
        # operationId getVouchers: GET /Voucher (startDate/endDate as in find_vouchers)
        params: dict[str, Any] = {
            "creditDebit": "D",
            "startDate": _unix_time(start_date),
            "endDate": _unix_time(end_date + datetime.timedelta(days=1)) - 1,
            "limit": page_size,
        }
        yield from self._voucher_pages(params, page_size)

    def _voucher_pages(
        self, params: dict[str, Any], page_size: int
    ) -> Iterator[list[VoucherSummary]]:
        """GET /Voucher with `params`, page by page (limit/offset) until a short page."""
        seen: set[int] = set()
        offset = 0
        while True:
            query = params | {"offset": offset} if offset else params
            data = _objects(self._request("GET", "/Voucher", params=query))
            page = [_voucher_summary(item) for item in _as_list(data)]
            if seen.intersection(voucher.id for voucher in page):
                # An answer that ignores offset would otherwise be asked for forever.
                raise SevdeskTemporaryError("sevDesk answered the same vouchers for another page")
            seen.update(voucher.id for voucher in page)
            yield page
            if len(page) < page_size:
                return
            offset += page_size

    def find_vouchers_by_description(self, description: str) -> list[VoucherSummary]:
        """Revenue vouchers whose description is exactly `description` (any date)."""
        # operationId getVouchers: GET /Voucher (see find_vouchers)
        return self.find_vouchers(description=description, page_size=1000)

    def get_voucher(self, voucher_id: int) -> VoucherSummary:
        # operationId getVoucherById: GET /Voucher/{voucherId}
        data = _objects(self._request("GET", f"/Voucher/{int(voucher_id)}"))
        items = _as_list(data)
        if not items:
            raise SevdeskNotFound(f"Voucher {voucher_id} not found")
        return _voucher_summary(items[0])

    def book_amount(
        self,
        *,
        voucher_id: int,
        amount: Decimal,
        date: datetime.date,
        check_account_id: int,
        payment_type: str = "FULL_PAYMENT",
    ) -> None:
        """Book a payment onto a voucher (marks it paid when the full amount is booked).

        Callers must only use offline (clearing) accounts; see `exports.payments`.
        """
        # operationId bookVoucher: PUT /Voucher/{voucherId}/bookAmount
        body = {
            "amount": Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP),
            "date": berlin_midnight(date),
            "type": payment_type,
            "checkAccount": {"id": check_account_id, "objectName": "CheckAccount"},
            "createFeed": True,
        }
        self._request("PUT", f"/Voucher/{int(voucher_id)}/bookAmount", json_body=body)

    def revenue_guidance(self, *, tax_rule: int | None = None) -> list[RevenueAccount]:
        """The revenue accounts this sevDesk account allows, with their tax rules and rates."""
        if tax_rule is None:
            # operationId forRevenue: GET /ReceiptGuidance/forRevenue
            data = self._request("GET", "/ReceiptGuidance/forRevenue")
        else:
            # operationId forTaxRule: GET /ReceiptGuidance/forTaxRule?taxRule=N
            params = {"taxRule": str(tax_rule)}
            data = self._request("GET", "/ReceiptGuidance/forTaxRule", params=params)
        return [_revenue_account(item) for item in _as_list(_objects(data))]

    # --- HTTP ---

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        files: Mapping[str, Any] | None = None,
    ) -> Any:
        headers = {
            "Authorization": self._token,
            "Accept": "application/json",
            "User-Agent": self.user_agent,
        }
        data = None
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            data = encode_json(json_body)
        self._wait_for_slot()
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                params=params,
                data=data,
                files=files,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            raise SevdeskTemporaryError("sevDesk did not answer in time") from exc
        except requests.ConnectionError as exc:
            raise SevdeskTemporaryError("Could not connect to sevDesk") from exc
        except requests.RequestException as exc:
            raise SevdeskTemporaryError(f"Request to sevDesk failed: {type(exc).__name__}") from exc
        if response.status_code == 429:
            raise self._rate_limited(response)
        data = _parsed(response, self._token)
        self._limiter.reset_backoff(self._limit_key)
        return data

    def _wait_for_slot(self) -> None:
        """Refuse while the token is paused (callers reschedule), else wait for the rate."""
        paused_for = self._limiter.paused_for(self._limit_key)
        if paused_for > 0:
            raise SevdeskRateLimited(
                retry_after=paused_for,
                message="sevDesk asked us to slow down; requests with this token are paused "
                f"for {math.ceil(paused_for)} more seconds",
                status=None,
            )
        self._limiter.wait(self._limit_key, self._requests_per_second)

    def _rate_limited(self, response: requests.Response) -> SevdeskRateLimited:
        """Pause the token for everyone: Retry-After's seconds, or the next back-off step."""
        retry_after = _retry_after(response)
        if retry_after is None:
            retry_after = self._limiter.backoff(self._limit_key)
        else:
            self._limiter.pause(self._limit_key, retry_after)
        return SevdeskRateLimited(
            retry_after,
            _error_message(response, self._token),
            excerpt=_excerpt(response, self._token),
        )


# --- Answers -------------------------------------------------------------------------------


def _parsed(response: requests.Response, token: str) -> Any:
    """The JSON of a 2xx answer; any other answer raised as our exception (429 aside)."""
    status = response.status_code
    if 200 <= status < 300:
        try:
            return response.json()
        except ValueError as exc:
            raise SevdeskTemporaryError(
                f"sevDesk answered HTTP {status} with something that is not JSON",
                status=status,
                excerpt=_excerpt(response, token),
            ) from exc
    message = _error_message(response, token)
    excerpt = _excerpt(response, token)
    if status == 401:
        # The words merchants know from the reference product, when sevDesk gives none.
        if message == _status_phrase(401):
            message = "Authentication required"
        raise SevdeskAuthenticationFailed(message, status=status, excerpt=excerpt)
    if status == 404:
        raise SevdeskNotFound(message, excerpt=excerpt)
    if status >= 500:
        raise SevdeskTemporaryError(message, status=status, excerpt=excerpt)
    raise SevdeskRejected(status, message, excerpt=excerpt)


def _excerpt(response: requests.Response, token: str) -> str:
    """The start of the answer's body, whitespace collapsed, the token masked."""
    raw = response.content or b""
    text = " ".join(raw[:_EXCERPT_WINDOW].decode("utf-8", "replace").split())
    text = text.replace(token, "[token]") if token else text
    if len(raw) > _EXCERPT_WINDOW:
        text = text[: -len(token) or None]  # could end in a token cut off by the window
    return text[:MAX_ERROR_TEXT]


def _error_message(response: requests.Response, token: str = "") -> str:
    """sevDesk's own words where it gave any (the token masked), else the status phrase."""
    message = _sevdesk_words(response)
    return message.replace(token, "[token]") if token else message


def _sevdesk_words(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        text = error.get("message") if isinstance(error, dict) else error or data.get("message")
        if text:
            return str(text)[:MAX_ERROR_TEXT]
    text = response.text.strip()
    content_type = response.headers.get("Content-Type", "")
    if text and data is None and "html" not in content_type and not text.startswith("<"):
        return text[:MAX_ERROR_TEXT]
    return _status_phrase(response.status_code)


def _status_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the other allowed form: an HTTP date
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = datetime.datetime.now(datetime.UTC)
    return max(0.0, (when - now).total_seconds())


def _objects(data: Any) -> Any:
    """Unwrap sevDesk's {"objects": ...} envelope; accept the bare form its spec shows."""
    if isinstance(data, dict) and "objects" in data:
        return data["objects"]
    return data


def _as_list(data: Any) -> list[dict[str, Any]]:
    if data is None:
        return []
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list) and all(isinstance(item, dict) for item in data):
        return data
    raise SevdeskTemporaryError("sevDesk answered with an unexpected structure")


def _field(item: Mapping[str, Any], name: str) -> Any:
    if not isinstance(item, Mapping) or item.get(name) in (None, ""):
        raise SevdeskTemporaryError(f"sevDesk's answer lacks {name!r}")
    return item[name]


def _single(data: Any) -> dict[str, Any]:
    items = _as_list(data)
    if len(items) != 1:
        raise SevdeskTemporaryError("sevDesk answered with an unexpected structure")
    return items[0]


def _int(value: Any) -> int:
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise SevdeskTemporaryError(f"sevDesk sent {value!r} where a number belongs") from exc


def _decimal_or_none(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise SevdeskTemporaryError(f"sevDesk sent {value!r} where an amount belongs") from exc


def _date_or_none(value: Any) -> datetime.date | None:
    """A sevDesk date (ISO timestamp or dd.mm.yyyy) as the day it names in Germany."""
    if not value:
        return None
    text = str(value)
    try:
        if "." in text and "T" not in text:
            return datetime.datetime.strptime(text, "%d.%m.%Y").date()
        moment = datetime.datetime.fromisoformat(text)
    except ValueError as exc:
        raise SevdeskTemporaryError(f"sevDesk sent {value!r} where a date belongs") from exc
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(BERLIN).date()


def _unix_time(day: datetime.date) -> int:
    """The start of `day` in Germany as a unix timestamp (sevDesk's startDate/endDate)."""
    return int(datetime.datetime.combine(day, datetime.time(), tzinfo=BERLIN).timestamp())


def _check_account(item: Mapping[str, Any]) -> CheckAccount:
    number = item.get("accountingNumber")
    return CheckAccount(
        id=_int(_field(item, "id")),
        name=str(item.get("name") or ""),
        type=str(item.get("type") or ""),
        status=_int(item.get("status", 100)),
        accounting_number=None if number in (None, "") else _int(number),
        is_default=str(item.get("defaultAccount", "0")) in {"1", "True", "true"},
        sev_client_id=_sev_client_id_or_none(item),
    )


def _sev_client_id_or_none(item: Mapping[str, Any]) -> int | None:
    sev_client = item.get("sevClient")
    if not isinstance(sev_client, Mapping):
        return None
    try:
        return int(str(sev_client.get("id")))
    except ValueError:
        return None


def _contact(item: Mapping[str, Any]) -> Contact:
    return Contact(
        id=_int(_field(item, "id")),
        customer_number=item.get("customerNumber"),
        organisation=item.get("name"),
        first_name=item.get("surename"),
        last_name=item.get("familyname"),
    )


def _voucher_summary(item: Mapping[str, Any]) -> VoucherSummary:
    return VoucherSummary(
        id=_int(_field(item, "id")),
        description=str(item.get("description") or ""),
        status=_int(item.get("status", 0)),
        sum_gross=_decimal_or_none(item.get("sumGross")),
        pay_date=_date_or_none(item.get("payDate")),
        paid_amount=_decimal_or_none(item.get("paidAmount")),
        voucher_date=_date_or_none(item.get("voucherDate")),
    )


def _revenue_account(item: Mapping[str, Any]) -> RevenueAccount:
    rates_by_rule = tuple(
        (_int(_field(rule, "id")), tuple(_tax_rate(rate) for rate in rule.get("taxRates") or ()))
        for rule in item.get("allowedTaxRules") or ()
    )
    return RevenueAccount(
        account_datev_id=_int(_field(item, "accountDatevId")),
        account_number=str(item.get("accountNumber") or ""),
        name=str(item.get("accountName") or ""),
        tax_rules=tuple(rule for rule, _ in rates_by_rule),
        tax_rates=_unique(rate for _, rates in rates_by_rule for rate in rates),
        rates_by_rule=rates_by_rule,
    )


def _tax_rate(value: Any) -> Decimal:
    """ReceiptGuidance names rates ("ZERO", "SEVEN", "NINETEEN"); accept numbers too."""
    if str(value).upper() in _RATE_NAMES:
        return _RATE_NAMES[str(value).upper()]
    rate = _decimal_or_none(value)
    if rate is None:
        raise SevdeskTemporaryError(f"sevDesk sent {value!r} where a tax rate belongs")
    return rate


def _unique(values: Iterable[Decimal]) -> tuple[Decimal, ...]:
    return tuple(dict.fromkeys(values))
