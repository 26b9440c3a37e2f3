"""Writes on the Billbee side: the account, the shop list, the order mirror and its sync.

The sync is incremental (``modifiedAtMin`` = cursor minus an overlap) and crash-safe: every
page is stored in its own transaction together with the run's progress, the cursor moves only
when a whole run succeeded, and a run that died is resumed from its next page.

One order never blocks the others: each is checked against the mirror's columns first
(``orders.validation``); one that does not fit is refused, recorded as a ``SyncRejection`` in
the merchant's words, and the sync goes on past it. Should the database still refuse one, the
page is stored again order by order, each in its own savepoint (``orders_upsert``).
"""

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DataError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.crypto import SecretUnreadable, readable
from core.ratelimit import limiter_from_settings, secret_digest
from merchants.models import MerchantAccount
from orders import validation
from orders.billbee_client import (
    BillbeeAuthenticationFailed,
    BillbeeClient,
    BillbeeError,
    BillbeeInvoiceEntry,
    BillbeeMalformedData,
    BillbeeOrder,
    BillbeeRateLimited,
    BillbeeShop,
    BillbeeTemporaryError,
    OrdersPage,
    RejectedOrder,
)
from orders.models import (
    BillbeeAccount,
    BillbeeApiUsage,
    BillbeeDocument,
    InvoiceDocument,
    Order,
    OrderItem,
    Payment,
    Shop,
    SyncRejection,
    SyncRun,
)
from orders.signals import documents_stored, orders_stored

logger = logging.getLogger(__name__)

PAGE_SIZE = 250  # Billbee's maximum: fewest calls against the 2 requests/s per endpoint limit
MAX_ERROR_LINES = 500  # keep a run's error text readable; the counters stay exact
STORAGE_PLACES = 8  # the money columns' decimal places
RATE_PLACES = 4  # VAT rates
# What a database can still refuse after validation (a gap in it, never expected): the order
# is refused and the operator told, instead of the page failing. Lost connections and the like
# (OperationalError) are not among them: they fail the page as before.
STORAGE_ERRORS = (DataError, IntegrityError, ValueError, OverflowError, ArithmeticError)


class SyncAlreadyRunning(Exception):
    """Another sync of this account is running; two must never page at the same time."""


class SyncRunLost(Exception):
    """This process no longer owns its run (it was declared stale and taken over)."""


class InvoiceNotAvailable(Exception):
    """The order has no invoice in Billbee yet, so there is no PDF to fetch."""


class OrderRefused(Exception):
    """``order_upsert`` of an order the mirror cannot hold; the message says why."""


class BillbeePagingStuck(BillbeeMalformedData):
    """Billbee's paging does not advance; the run stops rather than fetch one page for ever.

    Its message is already in the merchant's words (``billbee_error_message`` keeps it).
    """


@dataclass(frozen=True)
class ConnectionTestResult:
    ok: bool
    message: str
    shop_count: int = 0


@dataclass(frozen=True)
class Refusal:
    """An order that was not stored, and why, in the merchant's words."""

    billbee_id: str  # text: the id itself may be what does not fit
    order_number: str
    problems: str

    @property
    def label(self) -> str:
        """How the merchant finds it in Billbee: its number, or its id when the number is bad."""
        fits = self.order_number and not validation.field_problem(
            Order._meta.get_field("order_number"), self.order_number
        )
        return self.order_number if fits else self.billbee_id

    @property
    def reason(self) -> str:
        return _("Order %(order)s: %(problems)s") % {
            "order": self.label,
            "problems": self.problems,
        }


@dataclass(frozen=True)
class UpsertResult:
    orders: list[tuple[Order, bool]]
    refused: list[Refusal] = dataclasses.field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for _order, created in self.orders if created)

    @property
    def updated(self) -> int:
        return len(self.orders) - self.created


ProgressCallback = Callable[[SyncRun, OrdersPage], None]


def sync_overlap() -> timedelta:
    """Billbee's clock and ours differ, and a write may commit late: ask again a bit back."""
    return timedelta(minutes=getattr(settings, "BILLBEE_SYNC_OVERLAP_MINUTES", 10))


def sync_stale_after() -> timedelta:
    """A running sync silent for longer than this has died and may be resumed."""
    return timedelta(minutes=getattr(settings, "BILLBEE_SYNC_STALE_MINUTES", 15))


# --- Account --------------------------------------------------------------------------------


def billbee_account_save(
    *,
    merchant: MerchantAccount,
    username: str,
    api_key: str = "",
    api_password: str = "",
    sync_since: date | None = None,
    sync_enabled: bool = True,
) -> BillbeeAccount:
    """Create or change the merchant's account; an empty secret keeps the stored one."""
    account = BillbeeAccount.objects.filter(merchant=merchant).first()
    account = account or BillbeeAccount(merchant=merchant)
    changed = account.username != username
    account.username = username
    for field, value in (("api_key", api_key), ("api_password", api_password)):
        if value:
            changed = changed or getattr(account, field) != value
            setattr(account, field, value)
    if changed:
        account.connection_status = BillbeeAccount.ConnectionStatus.UNTESTED
        account.last_error = ""
    if account.pk and _starts_earlier(sync_since, account.sync_since):
        account.sync_cursor = None  # the next run fetches everything since the new date again
    account.sync_since = sync_since
    account.sync_enabled = sync_enabled
    account.save()
    return account


def _starts_earlier(new: date | None, old: date | None) -> bool:
    """Whether a changed start date reaches further back than the orders already fetched."""
    if old is None:
        return False  # everything was fetched already
    return new is None or new < old


def billbee_client_for(*, account: BillbeeAccount) -> BillbeeClient:
    """A client whose per-endpoint limit and 429 pauses every process of the project shares."""
    try:
        api_key, api_password = readable(account.api_key), readable(account.api_password)
    except SecretUnreadable as exc:  # the key was changed: ask for the secret again
        raise BillbeeAuthenticationFailed(str(exc)) from None
    return BillbeeClient(
        base_url=settings.BILLBEE_API_BASE_URL,
        api_key=api_key,
        username=account.username,
        api_password=api_password,
        timeout=settings.BILLBEE_TIMEOUT_SECONDS,
        limiter=limiter_from_settings(),
        on_request=api_call_counter(account=account, api_key=api_key),
    )


def api_call_counter(*, account: BillbeeAccount, api_key: str):
    """Counts each call to Billbee in `BillbeeApiUsage` (per account, key and month)."""
    digest = secret_digest(api_key)

    def count(endpoint: str) -> None:
        month = timezone.localdate().replace(day=1)
        rows = BillbeeApiUsage.objects.filter(account_id=account.pk, key_digest=digest, month=month)
        if rows.update(calls=F("calls") + 1):
            return
        try:
            with transaction.atomic():
                BillbeeApiUsage.objects.create(
                    account_id=account.pk, key_digest=digest, month=month, calls=1
                )
        except IntegrityError:  # a concurrent first call of the month created it
            rows.update(calls=F("calls") + 1)

    return count


def billbee_error_message(exc: BillbeeError) -> str:
    """What went wrong, in the merchant's words (never a stack trace, never a secret)."""
    if isinstance(exc, BillbeeAuthenticationFailed):
        return _(
            "Billbee refused the credentials: check the API key, the user name and the API "
            "password, and that the API module is enabled in Billbee."
        )
    if isinstance(exc, BillbeeRateLimited):
        return _("Billbee asked us to slow down; the sync continues later by itself.")
    if isinstance(exc, BillbeeTemporaryError):
        return _("Billbee could not be reached; the sync is tried again later by itself.")
    if isinstance(exc, BillbeePagingStuck):
        return exc.message
    return _("Billbee answered with an error: %(message)s") % {"message": exc.message}


def billbee_account_test(
    *, account: BillbeeAccount, client: BillbeeClient | None = None
) -> ConnectionTestResult:
    """Try the credentials with a cheap call (the shop list) and remember the outcome."""
    client = client or billbee_client_for(account=account)
    account.last_tested_at = timezone.now()
    try:
        shops = client.get_shops()
    except BillbeeError as exc:
        logger.warning("Billbee connection test failed for account %s: %s", account.pk, type(exc))
        account.connection_status = BillbeeAccount.ConnectionStatus.FAILED
        account.last_error = billbee_error_message(exc)
        account.save(update_fields=["connection_status", "last_tested_at", "last_error"])
        return ConnectionTestResult(ok=False, message=account.last_error)
    account.connection_status = BillbeeAccount.ConnectionStatus.OK
    account.last_error = ""
    account.save(update_fields=["connection_status", "last_tested_at", "last_error"])
    shops_store(merchant=account.merchant, shops=shops)
    message = ngettext(
        "Connected to Billbee: %(count)s shop found.",
        "Connected to Billbee: %(count)s shops found.",
        len(shops),
    ) % {"count": len(shops)}
    return ConnectionTestResult(ok=True, message=message, shop_count=len(shops))


# --- Shops ----------------------------------------------------------------------------------


def _shop_texts(name: str | None, platform: str | None) -> dict[str, str]:
    return {
        "name": validation.text_fitted(Shop, "name", validation.text_cleaned(name or "")),
        "platform": validation.text_fitted(
            Shop, "platform", validation.text_cleaned(platform or "")
        ),
    }


def shops_store(*, merchant: MerchantAccount, shops: Iterable[BillbeeShop]) -> dict[int, Shop]:
    result = {}
    id_field = Shop._meta.get_field("billbee_id")
    for shop in shops:
        if validation.field_problem(id_field, shop.id):
            # Its orders are refused with the same reason; the other shops are kept.
            logger.warning("Billbee shop id %s does not fit the mirror; skipped", shop.id)
            continue
        result[shop.id], _created = Shop.objects.update_or_create(
            merchant=merchant,
            billbee_id=shop.id,
            defaults=_shop_texts(shop.name, shop.account_type),
        )
    return result


def shops_sync(*, account: BillbeeAccount, client: BillbeeClient | None = None) -> dict[int, Shop]:
    """Mirror the shop list; returns the merchant's shops by Billbee id."""
    client = client or billbee_client_for(account=account)
    shops_store(merchant=account.merchant, shops=client.get_shops())
    return {shop.billbee_id: shop for shop in Shop.objects.for_merchant(account.merchant)}


# The shop list changes rarely, and an order of a new shop brings it along (`_shop_for`):
# read it once an hour, not with every sync (every call counts against Billbee's budget).
SHOPS_REFRESH = timedelta(hours=1)


def _shops_for_sync(account: BillbeeAccount, client: BillbeeClient) -> dict[int, Shop]:
    now = timezone.now()
    if account.shops_synced_at is None or account.shops_synced_at <= now - SHOPS_REFRESH:
        shops = shops_sync(account=account, client=client)
        BillbeeAccount.objects.filter(pk=account.pk).update(shops_synced_at=now)
        account.shops_synced_at = now
        return shops
    return {shop.billbee_id: shop for shop in Shop.objects.for_merchant(account.merchant)}


def _shop_for(
    merchant: MerchantAccount, order: BillbeeOrder, shops: dict[int, Shop]
) -> Shop | None:
    """The order's shop; one Billbee added since the last shop list is created on the fly."""
    if order.shop_id is None:
        return None
    if order.shop_id not in shops:
        shops[order.shop_id], _created = Shop.objects.get_or_create(
            merchant=merchant,
            billbee_id=order.shop_id,
            defaults=_shop_texts(order.shop_name, order.platform),
        )
    return shops[order.shop_id]


# --- Orders ---------------------------------------------------------------------------------


def _stored(value: Decimal | None) -> Decimal | None:
    """Fit Billbee's up to 28 significant digits into the 8-place columns, the same way on
    every database (PostgreSQL would round, SQLite would keep a float)."""
    if value is None:
        return None
    return validation.decimal_rounded(Decimal(value), STORAGE_PLACES)


def _rate(value: Decimal | None) -> Decimal | None:
    return None if value is None else validation.decimal_rounded(Decimal(value), RATE_PLACES)


def _address_dict(order: BillbeeOrder) -> dict:
    address = order.invoice_address
    if address is None:
        return {}
    return {
        "company": address.company or "",
        "first_name": address.first_name or "",
        "last_name": address.last_name or "",
        "street": address.street or "",
        "house_number": address.house_number or "",
        "zip_code": address.zip_code or "",
        "city": address.city or "",
        "country_iso2": address.country_iso2 or "",
        "email": address.email or "",
        "phone": address.phone or "",
    }


def _order_fields(order: BillbeeOrder, shop: Shop | None, synced_at: datetime) -> dict:
    customer = order.customer
    return {
        "order_number": order.order_number or "",
        "marketplace_id": order.marketplace_id or "",
        "state": order.state,
        "shop": shop,
        "order_date": order.created_at,
        "invoice_number": order.invoice_number or "",
        "invoice_date": order.invoice_date,
        "paid_at": order.paid_at,
        "shipped_at": order.shipped_at,
        "payment_method": order.payment_method,
        "currency": order.currency or "",
        "total_gross": _stored(order.total_cost) or Decimal(0),
        "shipping_cost": _stored(order.shipping_cost) or Decimal(0),
        "adjustment_cost": _stored(order.adjustment_cost) or Decimal(0),
        "paid_amount": _stored(order.paid_amount) or Decimal(0),
        "tax_rate_regular": _rate(order.tax_rate1),
        "tax_rate_reduced": _rate(order.tax_rate2),
        "vat_mode": order.vat_mode or 0,
        "customer_billbee_id": customer.id if customer else None,
        "customer_name": validation.text_fitted(
            Order, "customer_name", customer.name if customer else ""
        ),
        "customer_email": (customer.email if customer else "") or "",
        "customer_number": (customer.number if customer else "") or "",
        "customer_vat_id": order.customer_vat_id or (customer.vat_id if customer else "") or "",
        "invoice_address": _address_dict(order),
        "tags": list(order.tags),
        "last_modified_at": order.last_modified_at,
        "raw": order.raw,
        "synced_at": synced_at,
    }


def _items_of(order: Order, billbee_order: BillbeeOrder) -> list[OrderItem]:
    return [
        OrderItem(
            merchant_id=order.merchant_id,
            order=order,
            position=position,
            billbee_id=item.billbee_id,
            title=validation.text_fitted(OrderItem, "title", item.title),
            sku=validation.text_fitted(OrderItem, "sku", item.sku),
            quantity=_stored(item.quantity),
            total_price=_stored(item.total_price),
            tax_amount=_stored(item.tax_amount),
            tax_index=item.tax_index or 0,
            discount_percent=_stored(item.discount_percent) or Decimal(0),
            is_coupon=bool(item.is_coupon),
            is_digital=bool(item.is_digital),
        )
        for position, item in enumerate(billbee_order.items, start=1)
    ]


def _payments_of(order: Order, billbee_order: BillbeeOrder) -> list[Payment]:
    return [
        Payment(
            merchant_id=order.merchant_id,
            order=order,
            billbee_id=payment.billbee_id,
            transaction_id=payment.transaction_id or "",
            pay_date=payment.pay_date,
            payment_type=payment.payment_type,
            amount=_stored(payment.amount),
            purpose=validation.text_fitted(Payment, "purpose", payment.purpose),
            name=validation.text_fitted(Payment, "name", payment.name),
        )
        for payment in billbee_order.payments
    ]


def _order_problems(merchant: MerchantAccount, billbee_order: BillbeeOrder) -> list[str]:
    """Everything about the order that the mirror's columns would refuse or not give back."""
    shop_id = validation.field_problem(Shop._meta.get_field("billbee_id"), billbee_order.shop_id)
    draft = Order(
        merchant=merchant,
        billbee_id=billbee_order.billbee_id,
        **_order_fields(billbee_order, None, timezone.now()),
    )
    problems = [_("shop: %(problem)s") % {"problem": shop_id}] if shop_id else []
    currency = validation.currency_problem(billbee_order.currency)
    problems += [currency] if currency else []  # says more than "longer than 3 characters"
    problems += validation.instance_problems(draft, skip=("currency",) if currency else ())
    for position, item in enumerate(_items_of(draft, billbee_order), start=1):
        problems += validation.item_problems(position, validation.instance_problems(item))
    for position, payment in enumerate(_payments_of(draft, billbee_order), start=1):
        problems += validation.payment_problems(position, validation.instance_problems(payment))
    return problems


def _refusal(billbee_order: BillbeeOrder, problems: list[str]) -> Refusal:
    return Refusal(
        billbee_id=str(billbee_order.billbee_id),
        order_number=billbee_order.order_number or "",
        problems="; ".join(problems),
    )


def _order_store(
    merchant: MerchantAccount, billbee_order: BillbeeOrder, fields: dict, order: Order | None
) -> tuple[Order, bool]:
    """Create or update one order and replace its items and payments."""
    if order is None:
        order = Order.objects.create(
            merchant=merchant, billbee_id=billbee_order.billbee_id, **fields
        )
        created = True
    else:
        for name, value in fields.items():
            setattr(order, name, value)
        order.save(update_fields=list(fields))
        OrderItem.objects.filter(order=order).delete()
        Payment.objects.filter(order=order).delete()
        created = False
    OrderItem.objects.bulk_create(_items_of(order, billbee_order))
    Payment.objects.bulk_create(_payments_of(order, billbee_order))
    return order, created


def _orders_store_bulk(
    merchant: MerchantAccount,
    latest: dict[int, BillbeeOrder],
    fields_of: dict[int, dict],
    existing: dict[int, Order],
) -> list[tuple[Order, bool]]:
    """All orders at once: a handful of queries per page of 250, so a large sync stays fast."""
    pairs = []
    for billbee_id, fields in fields_of.items():
        order = existing.get(billbee_id)
        if order is None:
            pairs.append((Order(merchant=merchant, billbee_id=billbee_id, **fields), True))
        else:
            for name, value in fields.items():
                setattr(order, name, value)
            pairs.append((order, False))
    Order.objects.bulk_create([order for order, created in pairs if created])
    for order, created in pairs:
        if not created:
            # One UPDATE per order: bulk_update's CASE WHEN per field measured 7x slower.
            order.save(update_fields=list(fields_of[order.billbee_id]))
    _children_replace([order for order, _created in pairs], latest)
    return pairs


def _children_replace(orders: list[Order], latest: dict[int, BillbeeOrder]) -> None:
    OrderItem.objects.filter(order__in=orders).delete()
    Payment.objects.filter(order__in=orders).delete()
    items, payments = [], []
    for order in orders:
        items += _items_of(order, latest[order.billbee_id])
        payments += _payments_of(order, latest[order.billbee_id])
    OrderItem.objects.bulk_create(items, batch_size=500)
    Payment.objects.bulk_create(payments, batch_size=500)


def _orders_store_one_by_one(
    merchant: MerchantAccount,
    latest: dict[int, BillbeeOrder],
    fields_of: dict[int, dict],
    existing: dict[int, Order],
) -> tuple[list[tuple[Order, bool]], list[Refusal]]:
    """Each order in its own savepoint: the one the database refuses is refused alone."""
    stored, refused = [], []
    for billbee_id, fields in fields_of.items():
        try:
            with transaction.atomic():
                stored.append(
                    _order_store(merchant, latest[billbee_id], fields, existing.get(billbee_id))
                )
        except STORAGE_ERRORS:
            logger.exception("Order %s refused by the database", billbee_id)
            problem = _("the database refused it; the operator has been told")
            refused.append(_refusal(latest[billbee_id], [problem]))
    return stored, refused


def orders_upsert(
    *,
    merchant: MerchantAccount,
    billbee_orders: Iterable[BillbeeOrder],
    shops: dict[int, Shop] | None = None,
) -> UpsertResult:
    """Create or update a batch of orders, replacing their items and payments.

    Every order is checked against the mirror's columns first; one that does not fit is
    refused (``UpsertResult.refused``) and the others are stored. They are stored in bulk in
    one savepoint; should the database still refuse a value (a gap in the checks), that
    savepoint is rolled back and the orders are stored again one by one, each in its own
    savepoint, so only the offending order is refused and never the page.
    """
    latest: dict[int, BillbeeOrder] = {}
    for billbee_order in billbee_orders:  # a page may repeat one; the last one counts
        billbee_order = validation.cleaned(billbee_order)
        latest[billbee_order.billbee_id] = billbee_order
    refused = []
    for billbee_id, billbee_order in list(latest.items()):
        problems = _order_problems(merchant, billbee_order)
        if problems:
            refused.append(_refusal(billbee_order, problems))
            del latest[billbee_id]
    shops = shops if shops is not None else {}
    now = timezone.now()
    with transaction.atomic():
        # Shops before any savepoint: one rolled back with the orders would stay in ``shops``
        # and be referenced by the orders stored next.
        fields_of = {
            billbee_id: _order_fields(order, _shop_for(merchant, order, shops), now)
            for billbee_id, order in latest.items()
        }
        found = Order.objects.filter(merchant=merchant, billbee_id__in=list(latest))
        existing = {order.billbee_id: order for order in found}
        try:
            with transaction.atomic():
                stored = _orders_store_bulk(merchant, latest, fields_of, existing)
        except STORAGE_ERRORS:
            logger.warning("A page of Billbee orders was refused in bulk; storing one by one")
            # The rolled-back rows' instances are not reused: read the existing ones again.
            found = Order.objects.filter(merchant=merchant, billbee_id__in=list(latest))
            existing = {order.billbee_id: order for order in found}
            stored, refused_by_database = _orders_store_one_by_one(
                merchant, latest, fields_of, existing
            )
            refused += refused_by_database
    order_ids = [order.pk for order, _created in stored]
    if order_ids:
        transaction.on_commit(
            lambda: orders_stored.send(sender=Order, merchant_id=merchant.pk, order_ids=order_ids)
        )
    return UpsertResult(orders=stored, refused=refused)


def order_upsert(*, merchant: MerchantAccount, billbee_order: BillbeeOrder) -> tuple[Order, bool]:
    """One order: created or updated, its items and payments replaced in one transaction."""
    result = orders_upsert(merchant=merchant, billbee_orders=[billbee_order])
    if result.refused:
        raise OrderRefused(result.refused[0].reason)
    return result.orders[0]


# --- Sync runs ------------------------------------------------------------------------------


def _stale_run_interrupt(account: BillbeeAccount) -> SyncRun | None:
    """Mark a dead running run failed so it can be resumed; refuse if one is alive."""
    running = SyncRun.objects.filter(account=account, status=SyncRun.Status.RUNNING).first()
    if running is None:
        return None
    if running.heartbeat_at > timezone.now() - sync_stale_after():
        raise SyncAlreadyRunning(_("A sync of this Billbee account is already running."))
    note = _("Interrupted after page %(page)s; resumed by the next run.") % {
        "page": running.resume_page - 1
    }
    # Conditional: if another process took it over meanwhile, we lose the race and refuse.
    claimed = SyncRun.objects.filter(
        pk=running.pk, status=SyncRun.Status.RUNNING, heartbeat_at=running.heartbeat_at
    ).update(
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
        errors=_appended(running.errors, note),
    )
    if not claimed:
        raise SyncAlreadyRunning(_("A sync of this Billbee account is already running."))
    running.refresh_from_db()
    return running


def _resumable(account: BillbeeAccount) -> SyncRun | None:
    """The last run, if it failed half-way and nothing has succeeded or resumed it since."""
    last = SyncRun.objects.filter(account=account).order_by("-started_at", "-id").first()
    if last is None or last.status != SyncRun.Status.FAILED or last.resume_page <= 1:
        return None
    if SyncRun.objects.filter(resumed_from=last).exists():
        return None
    return last


def sync_run_start(*, account: BillbeeAccount, now: datetime | None = None) -> SyncRun:
    """Claim the account's sync: resume a run that died, or open a new window."""
    now = now or timezone.now()
    _stale_run_interrupt(account)
    previous = _resumable(account)
    if previous is not None:
        window_from, window_to = previous.window_from, previous.window_to
        min_order_date, resume_page = previous.min_order_date, previous.resume_page
    else:
        window_from = account.sync_cursor - sync_overlap() if account.sync_cursor else None
        window_to, min_order_date, resume_page = now, account.sync_since, 1
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                merchant=account.merchant,
                account=account,
                started_at=now,
                heartbeat_at=now,
                window_from=window_from,
                window_to=window_to,
                min_order_date=min_order_date,
                resume_page=resume_page,
                resumed_from=previous,
            )
    except IntegrityError as exc:  # the partial unique index: someone claimed it first
        raise SyncAlreadyRunning(_("A sync of this Billbee account is already running.")) from exc


def _appended(errors: str, line: str) -> str:
    lines = errors.splitlines() if errors else []
    if len(lines) > MAX_ERROR_LINES:
        return errors
    if len(lines) == MAX_ERROR_LINES:
        line = _("… further messages are not listed; the counts above include them.")
    return "\n".join([*lines, line])


def _rejections_text(run: SyncRun, page: OrdersPage, refused: list[Refusal]) -> str:
    errors = run.errors
    for rejected in page.rejected:
        logger.warning("Billbee order %s rejected: %s", rejected.billbee_id, rejected.message)
        line = _("Order %(id)s (page %(page)s) could not be read: %(message)s") % {
            "id": rejected.billbee_id if rejected.billbee_id is not None else "?",
            "page": page.page,
            "message": rejected.message,
        }
        errors = _appended(errors, line)
    for refusal in refused:
        logger.warning("Billbee order %s refused: %s", refusal.billbee_id, refusal.problems)
        line = _("Order %(order)s (page %(page)s) not taken over: %(problems)s") % {
            "order": refusal.label,
            "page": page.page,
            "problems": refusal.problems,
        }
        errors = _appended(errors, line)
    return errors


def _unreadable_refusal(rejected: RejectedOrder) -> Refusal | None:
    """An order the client could not parse, as a refusal; None when it has no id to key it."""
    raw_id = rejected.raw.get("BillBeeOrderId") if isinstance(rejected.raw, dict) else None
    billbee_id = rejected.billbee_id if rejected.billbee_id is not None else raw_id
    if billbee_id is None or billbee_id == "" or isinstance(billbee_id, dict | list):
        return None
    number = rejected.raw.get("OrderNumber") if isinstance(rejected.raw, dict) else None
    return Refusal(
        billbee_id=validation.text_cleaned(str(billbee_id)),
        order_number=validation.text_cleaned(number) if isinstance(number, str) else "",
        problems=_("unreadable (%(message)s)") % {"message": rejected.message},
    )


def _rejection_save(account: BillbeeAccount, refusal: Refusal, now: datetime) -> None:
    """Recorded once per order: seen again it is updated, and reopened if it was resolved."""
    billbee_id_field = SyncRejection._meta.get_field("billbee_order_id")
    values = {
        "merchant_id": account.merchant_id,
        "order_number": validation.text_fitted(SyncRejection, "order_number", refusal.order_number),
        "reason": validation.text_cleaned(refusal.reason),
        "last_seen_at": now,
        "resolved_at": None,
    }
    SyncRejection.objects.update_or_create(
        account=account,
        billbee_order_id=refusal.billbee_id[: billbee_id_field.max_length],
        defaults=values,
        create_defaults={**values, "first_seen_at": now},
    )


def _rejections_update(run: SyncRun, page: OrdersPage, result: UpsertResult) -> None:
    """Record the page's refused orders, and resolve the earlier refusals of those now stored."""
    now = timezone.now()
    unreadable = [_unreadable_refusal(rejected) for rejected in page.rejected]
    for refusal in [*result.refused, *(r for r in unreadable if r is not None)]:
        _rejection_save(run.account, refusal, now)
    stored_ids = [str(order.billbee_id) for order, _created in result.orders]
    if stored_ids:
        SyncRejection.objects.filter(
            account_id=run.account_id, billbee_order_id__in=stored_ids, resolved_at__isnull=True
        ).update(resolved_at=now)


def _page_store(run: SyncRun, page: OrdersPage, shops: dict[int, Shop]) -> None:
    """Store one page and the run's progress in one transaction: both or neither."""
    with transaction.atomic():
        result = orders_upsert(merchant=run.merchant, billbee_orders=page.orders, shops=shops)
        _rejections_update(run, page, result)
        run.errors = _rejections_text(run, page, result.refused)
        run.heartbeat_at = timezone.now()
        owned = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
            pages_done=F("pages_done") + 1,
            resume_page=page.page + 1,
            total_pages=page.total_pages,
            orders_created=F("orders_created") + result.created,
            orders_updated=F("orders_updated") + result.updated,
            orders_rejected=F("orders_rejected") + len(page.rejected) + len(result.refused),
            errors=run.errors,
            heartbeat_at=run.heartbeat_at,
        )
        if not owned:
            raise SyncRunLost(f"sync run {run.pk} was taken over")
    run.refresh_from_db()


def _min_order_datetime(day: date | None) -> datetime | None:
    """The merchant's "since" date means midnight where the merchant is."""
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


def _page_ids(page: OrdersPage) -> list[int]:
    rejected = [r.billbee_id for r in page.rejected if r.billbee_id is not None]
    return [o.billbee_id for o in page.orders] + rejected


def _page_check(page: OrdersPage, asked: int, previous_ids: list[int] | None) -> None:
    """Refuse a page that does not move the run forward, before anything of it is stored.

    The run then fails at that page (the cursor stays, the next run resumes there): paging on
    would ask for the same page, or read the same orders, until the task's time limit. An
    empty page ends the run anyway, whatever its paging says.
    """
    if not (page.orders or page.rejected):
        return
    ids = _page_ids(page)
    if page.page != asked:
        message = _(
            "Billbee answered with page %(answered)s when asked for page %(asked)s; the sync "
            "stopped so as not to read the same page again and again. It resumes at page "
            "%(asked)s next time."
        ) % {"answered": page.page, "asked": asked}
        raise BillbeePagingStuck(message)
    if asked > max(page.total_pages, 1):
        message = _(
            "Billbee sent orders on page %(page)s of only %(total)s pages; the sync stopped "
            "because its paging cannot be trusted. It resumes at page %(page)s next time."
        ) % {"page": asked, "total": page.total_pages}
        raise BillbeePagingStuck(message)
    if ids and ids == previous_ids:
        message = _(
            "Billbee sent the same orders for page %(page)s as for page %(previous)s; the sync "
            "stopped so as not to read them again and again. It resumes at page %(page)s next "
            "time."
        ) % {"page": asked, "previous": asked - 1}
        raise BillbeePagingStuck(message)


def _pages_sync(
    run: SyncRun, client: BillbeeClient, shops: dict[int, Shop], progress: ProgressCallback | None
) -> None:
    previous_ids = None
    while True:
        asked = run.resume_page
        page = client.get_orders_page(
            page=asked,
            page_size=PAGE_SIZE,
            modified_at_min=run.window_from,
            min_order_date=_min_order_datetime(run.min_order_date),
        )
        _page_check(page, asked, previous_ids)
        _page_store(run, page, shops)
        if progress:
            progress(run, page)
        if page.page >= page.total_pages or not (page.orders or page.rejected):
            return
        previous_ids = _page_ids(page)


def _run_finish(run: SyncRun, status: str, error: str = "") -> None:
    run.status = status
    run.finished_at = timezone.now()
    if error:
        run.errors = _appended(run.errors, error)
    SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
        status=run.status, finished_at=run.finished_at, errors=run.errors
    )


def _account_mark_refused(account: BillbeeAccount, message: str) -> None:
    account.connection_status = BillbeeAccount.ConnectionStatus.FAILED
    account.last_error = message
    account.save(update_fields=["connection_status", "last_error"])


def orders_sync(
    *,
    account: BillbeeAccount,
    progress: ProgressCallback | None = None,
    client: BillbeeClient | None = None,
) -> SyncRun:
    """Fetch the orders changed since the cursor, page by page, into the mirror.

    Raises ``SyncAlreadyRunning`` when another run holds the account, and re-raises
    Billbee's errors after recording them on the run (so a task can decide to retry).
    """
    client = client or billbee_client_for(account=account)
    run = sync_run_start(account=account)
    try:
        shops = _shops_for_sync(account, client)
        _pages_sync(run, client, shops, progress)
    except BillbeeError as exc:
        logger.warning("Billbee sync run %s failed: %s", run.pk, type(exc).__name__)
        _run_finish(run, SyncRun.Status.FAILED, billbee_error_message(exc))
        if isinstance(exc, BillbeeAuthenticationFailed):
            _account_mark_refused(account, billbee_error_message(exc))
        raise
    except SyncRunLost:
        raise
    except Exception:
        logger.exception("Billbee sync run %s failed", run.pk)
        _run_finish(run, SyncRun.Status.FAILED, _("Internal error; the operator has been told."))
        raise
    _run_succeed(run, account)
    return run


def _run_succeed(run: SyncRun, account: BillbeeAccount) -> None:
    with transaction.atomic():
        _run_finish(run, SyncRun.Status.SUCCEEDED)
        # The window's opening, not the end: orders changed while we paged come again next time.
        # Never backwards, should an older window ever finish after a newer one.
        behind = Q(sync_cursor__isnull=True) | Q(sync_cursor__lt=run.window_to)
        BillbeeAccount.objects.filter(behind, pk=account.pk).update(sync_cursor=run.window_to)
        # Billbee answered: the account is connected, whatever a test said before.
        BillbeeAccount.objects.filter(pk=account.pk).exclude(
            connection_status=BillbeeAccount.ConnectionStatus.OK
        ).update(
            connection_status=BillbeeAccount.ConnectionStatus.OK,
            last_tested_at=run.finished_at,
            last_error="",
        )
    account.refresh_from_db(fields=["sync_cursor", "connection_status", "last_error"])


# --- Invoice PDFs ---------------------------------------------------------------------------


def _invoice_filename(order: Order) -> str:
    number = slugify(order.invoice_number) or "invoice"
    return f"{order.billbee_id}-{number}.pdf"


def invoice_pdf_fetch(*, order: Order, client: BillbeeClient | None = None) -> InvoiceDocument:
    """The order's invoice PDF, fetched from Billbee once and kept in file storage.

    Idempotent: a stored PDF for the same invoice number is returned without a call. Billbee
    offers the PDF only through ``CreateInvoice``, so it is never asked for orders that have
    no invoice yet (that would create one).
    """
    if not order.has_invoice:
        raise InvoiceNotAvailable(_("This order has no invoice in Billbee yet."))
    document = InvoiceDocument.objects.filter(order=order).first()
    if document and document.invoice_number == order.invoice_number and document.file:
        return document
    if client is None:
        account = BillbeeAccount.objects.get(merchant_id=order.merchant_id)
        client = billbee_client_for(account=account)
    pdf = client.get_invoice_pdf(order.billbee_id)
    return _invoice_store(order, document, pdf.pdf, pdf.invoice_number, pdf.invoice_date)


def _invoice_store(
    order: Order,
    document: InvoiceDocument | None,
    content: bytes,
    invoice_number: str | None,
    invoice_date: datetime | None,
) -> InvoiceDocument:
    document = document or InvoiceDocument(merchant_id=order.merchant_id, order=order)
    if document.file:
        document.file.delete(save=False)  # the invoice was re-created in Billbee
    if invoice_number and invoice_number != order.invoice_number:
        logger.warning("Invoice PDF of order %s carries number %s", order.pk, invoice_number)
    # The order's number at fetch time: what the idempotency check above compares with.
    document.invoice_number = order.invoice_number
    date_field = InvoiceDocument._meta.get_field("invoice_date")
    if invoice_date is None or validation.field_problem(date_field, invoice_date):
        invoice_date = order.invoice_date  # stored only what can be read back
    document.invoice_date = invoice_date
    document.sha256 = hashlib.sha256(content).hexdigest()
    document.fetched_at = timezone.now()
    document.file.save(_invoice_filename(order), ContentFile(content), save=False)
    document.save()
    return document


# --- Billbee's documents: invoices and credit notes as its invoice list states them ---------

# Invoices are dated by day (those created through the API get today's date), so every read
# starts at the Berlin midnight before the previous read began: a day read twice, none missed.
DOCUMENTS_OVERLAP = timedelta(days=1)
DOCUMENTS_FIRST_READ = timedelta(days=90)  # without a first sync date


@dataclass
class DocumentsSyncResult:
    pages: int = 0
    stored: int = 0
    rejected: list[str] = dataclasses.field(default_factory=list)


def _document_values(entry: BillbeeInvoiceEntry) -> dict:
    def strings(rows) -> list[dict]:
        return [
            {
                key: (str(value) if isinstance(value, Decimal) else value)
                for key, value in row.items()
            }
            for row in rows
        ]

    return {
        "billbee_order_id": entry.billbee_order_id,
        "order_number": entry.order_number or "",
        "invoice_date": entry.invoice_date,
        "pay_date": entry.pay_date,
        "currency": (entry.currency or "")[:3],
        "total_net": entry.total_net,
        "total_gross": entry.total_gross,
        "vat_mode": entry.vat_mode,
        "payment_type_id": entry.payment_type_id,
        "shop_name": entry.shop_name or "",
        "customer_vat_id": entry.customer_vat_id or "",
        "positions": strings(entry.positions),
        "fees": strings(entry.fees),
        "vat_flags": entry.vat_flags,
        "raw": entry.raw,
    }


def document_store(
    *, merchant: MerchantAccount, entry: BillbeeInvoiceEntry, now: datetime | None = None
) -> BillbeeDocument:
    """Store one invoice list entry (an invoice or credit note) in the mirror, by its number."""
    values = _document_values(entry)
    values["synced_at"] = now or timezone.now()
    if entry.billbee_order_id is not None:
        values["order"] = Order.objects.filter(
            merchant=merchant, billbee_id=entry.billbee_order_id
        ).first()
    document, _created = BillbeeDocument.objects.update_or_create(
        merchant=merchant, type=entry.type, number=entry.number, defaults=values
    )
    return document


def _documents_from(account: BillbeeAccount) -> datetime:
    if account.documents_cursor is not None:
        return account.documents_cursor
    if account.sync_since is not None:
        return datetime.combine(
            account.sync_since, time.min, tzinfo=timezone.get_current_timezone()
        )
    return _berlin_midnight(timezone.now() - DOCUMENTS_FIRST_READ)


def _berlin_midnight(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def documents_sync(
    *,
    account: BillbeeAccount,
    client: BillbeeClient | None = None,
    since: datetime | None = None,
) -> DocumentsSyncResult:
    """Read Billbee's invoice list (invoices and credit notes) from the cursor on, page by
    page, into the document mirror. One entry that cannot be read or stored is reported and
    skipped; the cursor moves only when every page was read, so an interrupted read is simply
    read again (entries are stored by number: reading twice changes nothing).

    `since`: read only from there (the invoices a sync just brought, minutes old), without
    moving the cursor; the read counts as complete only when it reaches back to the last one.

    Raises Billbee's errors (``BillbeeRateLimited`` also when the invoice list's own throttle,
    once a minute per page and date, says not yet) for the task to come back later.
    """
    client = client or billbee_client_for(account=account)
    started = timezone.now()
    cursor = _documents_from(account)
    targeted = since is not None and since > cursor
    since = since if targeted else cursor
    result = DocumentsSyncResult()
    order_ids: set[int] = set()
    page_number, total_pages = 1, 1
    while page_number <= total_pages:
        page = client.get_invoices_page(page=page_number, min_invoice_date=since)
        if page_number == 1:
            total_pages = page.total_pages  # fixed for the read: new entries come next time
        result.pages += 1
        result.rejected += [f"{r.number or '?'}: {r.message}" for r in page.rejected]
        for entry in page.entries:
            try:
                with transaction.atomic():
                    document = document_store(merchant=account.merchant, entry=entry, now=started)
            except STORAGE_ERRORS as exc:
                logger.warning("Billbee document %s not stored: %s", entry.number, exc)
                result.rejected.append(f"{entry.number}: {type(exc).__name__}")
            else:
                result.stored += 1
                if document.order_id is not None:
                    order_ids.add(document.order_id)
        page_number += 1
    last = account.documents_synced_at
    if not targeted:
        BillbeeAccount.objects.filter(pk=account.pk).update(
            documents_synced_at=started,
            documents_cursor=max(since, _berlin_midnight(started) - DOCUMENTS_OVERLAP),
        )
    elif last is not None and since <= last:  # contiguous with the last complete read
        BillbeeAccount.objects.filter(pk=account.pk).update(documents_synced_at=started)
    account.refresh_from_db(fields=["documents_synced_at", "documents_cursor"])
    if order_ids:
        documents_stored.send(
            sender=BillbeeDocument, merchant_id=account.merchant_id, order_ids=sorted(order_ids)
        )
    return result


# --- When to sync: the interval, webhooks, idle accounts ------------------------------------

# Without webhooks the sync polls every BILLBEE_SYNC_INTERVAL_MINUTES (2); with webhooks on,
# every 15 minutes as the safety net. An account without changes for a day polls at most every
# IDLE_INTERVAL. README "Billbee API budget" has the arithmetic.
WEBHOOK_SAFETY_INTERVAL = timedelta(minutes=15)
IDLE_AFTER = timedelta(days=1)
IDLE_INTERVAL = timedelta(minutes=10)
DOCUMENTS_REFRESH = timedelta(hours=1)


def sync_interval(*, account: BillbeeAccount, now: datetime | None = None) -> timedelta:
    if account.sync_interval_minutes:
        return timedelta(minutes=account.sync_interval_minutes)
    if account.webhook_id:
        return WEBHOOK_SAFETY_INTERVAL
    interval = timedelta(minutes=settings.BILLBEE_SYNC_INTERVAL_MINUTES)
    now = now or timezone.now()
    changed = Order.objects.filter(merchant_id=account.merchant_id, synced_at__gte=now - IDLE_AFTER)
    if account.sync_cursor is not None and not changed.exists():
        return max(interval, IDLE_INTERVAL)
    return interval


def accounts_due_for_sync(*, now: datetime | None = None) -> list[int]:
    """Enabled accounts whose interval has passed since their last window, or that a webhook
    asked for since."""
    now = now or timezone.now()
    due = []
    for account in BillbeeAccount.objects.filter(sync_enabled=True):
        last = account.sync_cursor
        asked = account.sync_requested_at is not None and (
            last is None or account.sync_requested_at > last
        )
        if last is None or asked or last <= now - sync_interval(account=account, now=now):
            due.append(account.pk)
    return due


def sync_again_requested(*, account: BillbeeAccount, run: SyncRun) -> bool:
    """A webhook arrived after this run opened its window: its change may not be in it."""
    account.refresh_from_db(fields=["sync_requested_at"])
    return account.sync_requested_at is not None and account.sync_requested_at > run.window_to


def documents_due(*, account: BillbeeAccount, now: datetime | None = None) -> bool:
    """The invoice list is read after a sync that stored orders, else once an hour."""
    now = now or timezone.now()
    last = account.documents_synced_at
    return last is None or last <= now - DOCUMENTS_REFRESH


def documents_since_for(*, account: BillbeeAccount, run: SyncRun) -> datetime | None:
    """Where a read of the invoice list after this sync may start: the earliest invoice date
    among the orders it stored, to the second (None: from the cursor).

    Billbee answers the same page and minInvoiceDate once a minute: to the second, a sync a
    few seconds after another asks from its own invoices, a read of its own, and its exports
    do not wait a minute for the list."""
    earliest = (
        Order.objects.filter(merchant_id=account.merchant_id, synced_at__gte=run.started_at)
        .exclude(invoice_date=None)
        .order_by("invoice_date")
        .values_list("invoice_date", flat=True)
        .first()
    )
    if earliest is None:
        return None
    return earliest.replace(microsecond=0)
