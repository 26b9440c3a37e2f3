"""Reads for the order screens: the list's filters and search, and the account's runs."""

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from core.crypto import SecretUnreadable, readable
from core.ratelimit import secret_digest
from merchants.models import MerchantAccount
from orders.models import (
    BillbeeAccount,
    BillbeeApiUsage,
    BillbeeDocument,
    Order,
    SyncRejection,
    SyncRun,
)


@dataclass(frozen=True)
class OrderFilters:
    """The list's sidebar and search box; ``None`` means "any"."""

    shop_id: int | None = None
    state: int | None = None
    has_invoice: bool | None = None
    paid: bool | None = None
    tag: str = ""
    search: str = ""
    export_status: str = ""  # an OrderExport status, or "none" for never exported


def _tag_filter(tag: str) -> Q:
    # JSON containment is native on PostgreSQL; SQLite has no JSON `contains`, so match the
    # tag's JSON spelling (quotes included) in the stored list instead.
    if connection.vendor == "postgresql":
        return Q(tags__contains=[tag])
    return Q(tags__icontains=json.dumps(tag))


def _search_filter(search: str) -> Q:
    return (
        Q(order_number__icontains=search)
        | Q(invoice_number__icontains=search)
        | Q(customer_name__icontains=search)
        | Q(customer_email__icontains=search)
    )


def orders_filtered(*, merchant: MerchantAccount, filters: OrderFilters) -> QuerySet[Order]:
    """The merchant's orders, newest first, narrowed by the list's filters."""
    orders = Order.objects.for_merchant(merchant).select_related("shop")
    if filters.shop_id is not None:
        orders = orders.filter(shop_id=filters.shop_id)
    if filters.state is not None:
        orders = orders.filter(state=filters.state)
    if filters.has_invoice is not None:
        with_invoice = Q(invoice_date__isnull=False) & ~Q(invoice_number="")
        orders = orders.filter(with_invoice if filters.has_invoice else ~with_invoice)
    if filters.paid is not None:
        orders = orders.filter(paid_at__isnull=not filters.paid)
    if filters.tag:
        orders = orders.filter(_tag_filter(filters.tag))
    if filters.search:
        orders = orders.filter(_search_filter(filters.search.strip()))
    if filters.export_status:
        orders = orders.filter(_export_filter(filters.export_status))
    return orders.order_by("-order_date", "-id")


def _export_filter(status: str) -> Q:
    # The exports app builds on this one; reach its rows through the reverse relation it
    # declares instead of importing it.
    OrderExport = Order._meta.get_field("exports").related_model
    if status == "none":
        return ~Exists(OrderExport.objects.filter(order=OuterRef("pk"), document__isnull=True))
    return Exists(
        OrderExport.objects.filter(order=OuterRef("pk"), document__isnull=True, status=status)
    )


def orders_page(*, orders: QuerySet[Order], page: int, per_page: int) -> tuple[list[Order], bool]:
    """One page and whether another follows, without COUNT(*) over the whole table."""
    offset = (max(page, 1) - 1) * per_page
    rows = list(orders[offset : offset + per_page + 1])
    return rows[:per_page], len(rows) > per_page


# --- Total of the list ------------------------------------------------------------------------

# Counted exactly up to this many; above it PostgreSQL's planner estimates (no full COUNT(*)
# over 100,000 orders on every page), other databases say "more than".
COUNT_EXACT_UP_TO = 10_000


@dataclass(frozen=True)
class OrderTotal:
    """How many orders match: ``number`` exactly, about (``estimated``), or more than it."""

    number: int
    estimated: bool = False
    more_than: bool = False


def orders_total(
    *, orders: QuerySet[Order], page: int, per_page: int, shown: int, has_next: bool
) -> OrderTotal:
    """The list's total; free when the page shown is the last one, bounded otherwise."""
    if not has_next and (shown or page == 1):
        return OrderTotal(number=(max(page, 1) - 1) * per_page + shown)
    counted = orders.order_by().values("pk")[: COUNT_EXACT_UP_TO + 1].count()
    if counted <= COUNT_EXACT_UP_TO:
        return OrderTotal(number=counted)
    estimate = _planner_estimate(orders)
    if estimate > COUNT_EXACT_UP_TO:
        return OrderTotal(number=_rounded(estimate), estimated=True)
    return OrderTotal(number=COUNT_EXACT_UP_TO, more_than=True)


def _planner_estimate(orders: QuerySet[Order]) -> int:
    if connection.vendor != "postgresql":
        return 0
    sql, params = orders.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def _rounded(number: int) -> int:
    """Three significant digits: an estimate should not look exact (12,345 → 12,300)."""
    step = 10 ** max(len(str(number)) - 3, 0)
    return round(number / step) * step


# --- sevDesk exports of the orders shown ----------------------------------------------------
# The exports app builds on this one: its models are reached through the reverse relation it
# declares (as in _export_filter), never imported.


def _order_export_model():
    return Order._meta.get_field("exports").related_model


def sevdesk_connections_of(*, merchant: MerchantAccount) -> list:
    """The merchant's active sevDesk connections (soft-deleted ones left out), by name."""
    Connection = _order_export_model()._meta.get_field("connection").related_model
    connections = Connection.objects.for_merchant(merchant).filter(is_active=True)
    if any(f.name == "deleted_at" for f in Connection._meta.get_fields()):
        connections = connections.filter(deleted_at__isnull=True)
    return list(connections.order_by("name", "pk"))


def invoice_export_statuses(
    *, orders: list[Order], connections: list
) -> dict[tuple[int, int], str]:
    """``{(order id, connection id): status}`` of the invoice exports (credit notes left out)
    of the orders shown: one query for the whole page."""
    if not orders or not connections:
        return {}
    rows = _order_export_model().objects.filter(
        order_id__in=[order.pk for order in orders],
        connection_id__in=[c.pk for c in connections],
        document__isnull=True,
    )
    return {
        (order_id, connection_id): status
        for order_id, connection_id, status in rows.values_list(
            "order_id", "connection_id", "status"
        )
    }


def order_exports_of(*, order: Order) -> list:
    """Every export of the order, invoice first, then its credit notes, per connection."""
    return list(
        _order_export_model()
        .objects.filter(order=order)
        .select_related("connection", "document")
        .order_by("connection__name", "connection_id", F("document_id").asc(nulls_first=True))
    )


def order_for_merchant(*, merchant: MerchantAccount, pk: int) -> QuerySet[Order]:
    return Order.objects.for_merchant(merchant).filter(pk=pk)


def billbee_account_of(*, merchant: MerchantAccount | None) -> BillbeeAccount | None:
    return BillbeeAccount.objects.for_merchant(merchant).first()


def sync_runs_recent(*, account: BillbeeAccount, limit: int = 10) -> list[SyncRun]:
    return list(SyncRun.objects.filter(account=account).order_by("-started_at", "-id")[:limit])


@dataclass(frozen=True)
class OpenRejections:
    """The orders not taken over and not yet resolved: the newest ones, and how many in all."""

    rows: list[SyncRejection] = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def sync_rejections_open(*, account: BillbeeAccount, limit: int = 100) -> OpenRejections:
    open_rejections = SyncRejection.objects.filter(account=account, resolved_at__isnull=True)
    rows = list(open_rejections.order_by("-last_seen_at", "-id")[:limit])
    total = len(rows) if len(rows) < limit else open_rejections.count()
    return OpenRejections(rows=rows, total=total)


def invoice_document_for(*, order: Order) -> BillbeeDocument | None:
    """Billbee's invoice list entry of the order's invoice (same number), if mirrored."""
    if not order.invoice_number:
        return None
    return (
        BillbeeDocument.objects.filter(
            Q(order=order) | Q(billbee_order_id=order.billbee_id),
            merchant_id=order.merchant_id,
            type=BillbeeDocument.Type.INVOICE,
            number=order.invoice_number,
        )
        .order_by("-synced_at")
        .first()
    )


def documents_cover(*, order: Order) -> bool:
    """Whether the document mirror has read Billbee's invoice list past the order's invoice:
    if so and no entry is there, Billbee lists none for it."""
    account = BillbeeAccount.objects.filter(merchant_id=order.merchant_id).first()
    synced = account.documents_synced_at if account else None
    if synced is None or order.invoice_date is None:
        return False
    return order.invoice_date + DOCUMENTS_LAG < synced


# Billbee may list an invoice a little after the order shows it.
DOCUMENTS_LAG = timedelta(minutes=2)


def documents_mirrored(*, merchant_id: int) -> bool:
    """Whether the merchant's invoice list was ever read (before that, orders are the source)."""
    return BillbeeAccount.objects.filter(
        merchant_id=merchant_id, documents_synced_at__isnull=False
    ).exists()


# --- Billbee API budget --------------------------------------------------------------------

BILLBEE_FREE_CALLS_PER_MONTH = 100_000  # per API key, since November 2025 (billbee-api.md)
WARN_AT = 0.8  # of the free limit, projected to the end of the month


@dataclass(frozen=True)
class ApiUsage:
    account_calls: int
    key_calls: int  # every account that uses the same API key
    projected_account_calls: int
    projected_key_calls: int
    free_limit: int = BILLBEE_FREE_CALLS_PER_MONTH

    @property
    def warn(self) -> bool:
        return self.projected_key_calls >= self.free_limit * WARN_AT


def api_usage_for(*, account: BillbeeAccount, now=None) -> ApiUsage:
    """This month's Billbee calls of the account and of its API key, and where they head by
    the month's end at the pace so far."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    month = today.replace(day=1)
    rows = BillbeeApiUsage.objects.filter(month=month)
    account_calls = sum(rows.filter(account=account).values_list("calls", flat=True))
    try:
        digest = secret_digest(readable(account.api_key))
    except SecretUnreadable:
        key_calls = account_calls
    else:
        key_calls = sum(rows.filter(key_digest=digest).values_list("calls", flat=True))
    next_month = (month + timedelta(days=32)).replace(day=1)
    elapsed = max((now - _month_start(month)).total_seconds(), 3600)
    length = (_month_start(next_month) - _month_start(month)).total_seconds()
    factor = length / elapsed
    return ApiUsage(
        account_calls=account_calls,
        key_calls=key_calls,
        projected_account_calls=round(account_calls * factor),
        projected_key_calls=round(key_calls * factor),
    )


def _month_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
