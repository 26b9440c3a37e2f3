"""Which orders a connection sends, and why a given order is (not) sent."""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Concat
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from connections.models import Connection
from exports.models import OrderExport
from orders.enums import ORDER_CANCELLED, order_state_name
from orders.models import BillbeeDocument, Order

BERLIN = ZoneInfo("Europe/Berlin")
VOUCHER_DATE_FIELD = {
    Connection.VoucherDateBasis.INVOICE_DATE: "invoice_date",
    Connection.VoucherDateBasis.PAYMENT_DATE: "paid_at",
    Connection.VoucherDateBasis.ORDER_DATE: "order_date",
}


def start_of_day(day: datetime.date) -> datetime.datetime:
    """The start date is a German calendar day: it begins at midnight in Berlin."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=BERLIN)


def connection_orders(*, connection: Connection) -> QuerySet[Order]:
    """Orders of the connection's shops, currently in one of its states, on/after its start.

    Orders whose voucher date is not known yet (no invoice, no payment) are included when they
    were placed on or after the start date: they are the ones reported as waiting.
    """
    since = start_of_day(connection.start_date)
    date_field = VOUCHER_DATE_FIELD[connection.voucher_date_basis]
    return Order.objects.for_merchant(connection.merchant).filter(
        Q(**{f"{date_field}__gte": since})
        | Q(**{f"{date_field}__isnull": True, "order_date__gte": since}),
        _shop_rule(connection),
        state__in=connection.order_states,
    )


def _shop_rule(connection: Connection) -> Q:
    rule = Q(shop__in=connection.shops.all())
    if connection.include_manual_orders:
        rule |= Q(shop__isnull=True)
    return rule


READY = Q(invoice_date__isnull=False, paid_at__isnull=False) & ~Q(invoice_number="")


# One order's delivery: a few calls to sevDesk and Billbee, each with its own timeout.
EXPORT_SOFT_TIME_LIMIT = 120
EXPORT_TIME_LIMIT = 180


def claim_stale_after() -> datetime.timedelta:
    """A claim older than the delivery task's hard time limit belongs to a worker that died."""
    return datetime.timedelta(seconds=EXPORT_TIME_LIMIT + 60)


def _settled(now: datetime.datetime) -> Q:
    """Exports a run leaves alone: finished, failed for good, not due yet, in a worker's hands,
    or a voucher whose payment waits for an account assignment."""
    return (
        Q(status__in=[*OrderExport.FINISHED, OrderExport.Status.NEEDS_ACTION])
        | Q(status=OrderExport.Status.RETRY, next_attempt_at__gt=now)
        | Q(status=OrderExport.Status.IN_PROGRESS, claimed_at__gte=now - claim_stale_after())
        | Q(
            status=OrderExport.Status.VOUCHER_CREATED,
            problem__in=[OrderExport.Problem.NO_ACCOUNT, OrderExport.Problem.PART_PAID],
        )
    )


def orders_to_export(*, connection: Connection, now: datetime.datetime | None = None):
    """Orders a scheduled run hands to the workers: eligible *and ready* (invoice and payment
    date), and not settled. Orders still waiting are not among them: they use no attempt."""
    now = now or timezone.now()
    settled = OrderExport.objects.filter(
        connection=connection, order=OuterRef("pk"), document__isnull=True
    ).filter(_settled(now))
    return connection_orders(connection=connection).filter(READY).filter(~Exists(settled))


def orders_waiting(*, connection: Connection):
    """Eligible orders still without an invoice or a payment date and without an export row:
    the run writes them a "waiting" row (no attempt) so the log shows them."""
    has_export = OrderExport.objects.filter(
        connection=connection, order=OuterRef("pk"), document__isnull=True
    )
    return connection_orders(connection=connection).exclude(READY).filter(~Exists(has_export))


def exports_to_finish(*, connection: Connection, now: datetime.datetime | None = None):
    """Recovery is by export state, not eligibility: exports whose save was sent (or whose
    voucher exists) and that are not settled are finished whatever the order's state now."""
    now = now or timezone.now()
    return (
        OrderExport.objects.filter(connection=connection)
        .filter(Q(voucher_save_sent_at__isnull=False) | Q(voucher_id__isnull=False))
        .exclude(_settled(now))
    )


def exports_changed_after_booking(*, connection: Connection):
    """Booked exports whose invoice number or total changed in Billbee since: each gets
    "needs action" (never a second voucher)."""
    return (
        OrderExport.objects.filter(
            connection=connection,
            status__in=OrderExport.FINISHED,
            voucher_id__isnull=False,
            document__isnull=True,
        )
        .exclude(voucher_description="")
        .filter(
            ~Q(order__invoice_number=F("voucher_description"))
            | Q(order__total_gross__lt=F("frozen_order_total") - HALF_CENT)
            | Q(order__total_gross__gte=F("frozen_order_total") + HALF_CENT)
        )
    )


HALF_CENT = Decimal("0.005")


def credit_notes_of(order_ref) -> QuerySet[BillbeeDocument]:
    """Billbee's credit notes of an (outer) export's order: linked by the order, or numbered
    "<order number>-GS" as Billbee does."""
    return BillbeeDocument.objects.filter(
        Q(order_id=order_ref)
        | Q(billbee_order_id=OuterRef("order__billbee_id"))
        | Q(number=Concat(OuterRef("order__order_number"), Value("-GS"))),
        type=BillbeeDocument.Type.CREDIT_NOTE,
        merchant_id=OuterRef("merchant_id"),
    )


def cancellation_invoice_booked(*, export: OrderExport) -> bool:
    """Whether a cancellation invoice reverses the export's order: a negative invoice on a
    cancellation order that names the order as its parent (`BillBeeParentOrderId`, read from
    Billbee's order document), booked through the same connection by its own export."""
    candidates = BillbeeDocument.objects.filter(
        merchant_id=export.merchant_id,
        type=BillbeeDocument.Type.INVOICE,
        total_gross__lt=0,
        order__isnull=False,
    ).select_related("order")
    parent = export.order.billbee_id
    orders = [
        doc.order_id for doc in candidates if doc.order.raw.get("BillBeeParentOrderId") == parent
    ]
    return OrderExport.objects.filter(
        connection_id=export.connection_id,
        order_id__in=orders,
        document__isnull=True,
        voucher_id__isnull=False,
    ).exists()


# --- Credit notes --------------------------------------------------------------------------


def credit_notes_to_export(*, connection: Connection) -> QuerySet[BillbeeDocument]:
    """Billbee's credit notes the connection books: of an order of its shops (or a manual
    order, where it takes them), dated on or after its start date, not yet queued by it. The
    order's state does not matter (a credit note's order is usually cancelled); whether the
    original was booked is decided when it goes (`original_export_for`)."""
    since = start_of_day(connection.start_date)
    orders = Order.objects.for_merchant(connection.merchant).filter(_shop_rule(connection))
    queued = OrderExport.objects.filter(connection=connection, document=OuterRef("pk"))
    return BillbeeDocument.objects.filter(
        merchant=connection.merchant,
        type=BillbeeDocument.Type.CREDIT_NOTE,
        order__in=orders,
        invoice_date__gte=since,
    ).filter(~Exists(queued))


def credit_note_exports_due(*, connection: Connection):
    """Credit note exports a scheduled run takes up: new or retrying ones, those waiting for
    their original (checked again without an attempt), and open refunds Billbee now dates."""
    waiting_for_original = Q(
        status=OrderExport.Status.SKIPPED, problem=OrderExport.Problem.ORIGINAL_NOT_BOOKED
    )
    refund_dated = Q(
        status=OrderExport.Status.VOUCHER_CREATED,
        problem=OrderExport.Problem.REFUND_OPEN,
        document__pay_date__isnull=False,
    )
    return OrderExport.objects.filter(connection=connection, document__isnull=False).filter(
        Q(status__in=[OrderExport.Status.PENDING, OrderExport.Status.RETRY])
        | waiting_for_original
        | refund_dated
    )


def original_export_for(*, export: OrderExport) -> OrderExport | None:
    """The export that booked the credit note's original invoice through the same connection
    (the order's invoice export, with its voucher)."""
    return (
        OrderExport.objects.filter(
            connection_id=export.connection_id,
            order_id=export.order_id,
            document__isnull=True,
            voucher_id__isnull=False,
        )
        .select_related("order")
        .first()
    )


def exports_cancelled_after_booking(*, connection: Connection):
    """Booked exports whose order is now cancelled in Billbee without a credit note there
    (a booked cancellation invoice is checked per export: `cancellation_invoice_booked`): they
    get "needs action" (the voucher stays as it is: it may be locked, and a reversal needs
    Billbee's document)."""
    return (
        OrderExport.objects.filter(
            connection=connection,
            voucher_id__isnull=False,
            document__isnull=True,
            status__in=[*OrderExport.FINISHED, OrderExport.Status.VOUCHER_CREATED],
            order__state=ORDER_CANCELLED,
        )
        .exclude(problem=OrderExport.Problem.CANCELLED_AFTER_EXPORT)
        .filter(~Exists(credit_notes_of(OuterRef("order_id"))))
    )


def exports_with_new_payments(*, connection: Connection):
    """Vouchers whose order's paid amount in Billbee changed since their payments were last
    settled (a later payment, a second one, a refund): they are taken up again."""
    if not connection.billbee_reconciles:
        return OrderExport.objects.none()
    return (
        OrderExport.objects.filter(
            connection=connection,
            voucher_id__isnull=False,
            document__isnull=True,
            status__in=[OrderExport.Status.PAID, OrderExport.Status.VOUCHER_CREATED],
            problem__in=[
                OrderExport.Problem.NONE,
                OrderExport.Problem.PART_PAID,
                OrderExport.Problem.NO_ACCOUNT,
            ],
        )
        .exclude(payments_seen_total__isnull=True)
        .exclude(order__paid_amount=F("payments_seen_total"))
    )


@dataclass(frozen=True)
class Reason:
    rule: str
    ok: bool
    text: str  # the rule, as met ("Shop … belongs to this connection")
    failed: str = ""  # the rule, as broken, naming where the merchant changes it


def eligibility(*, connection: Connection, order: Order) -> list[Reason]:
    """Each rule of the connection applied to one order, in the merchant's words."""
    since = start_of_day(connection.start_date)
    voucher_date = getattr(order, VOUCHER_DATE_FIELD[connection.voucher_date_basis])
    shop_ids = set(connection.shops.values_list("pk", flat=True))
    reference_date = voucher_date or order.order_date
    state = {"state": order_state_name(order.state)}
    start = {"date": connection.start_date.strftime("%d.%m.%Y")}
    return [
        Reason(
            "shop",
            order.shop_id in shop_ids if order.shop_id else connection.include_manual_orders,
            _("Shop “%(shop)s” belongs to this connection") % {"shop": order.shop.name}
            if order.shop_id
            else _("Manual orders (without a shop) belong to this connection"),
            _("Shop “%(shop)s” is not one of the chosen shops (tab Properties)")
            % {"shop": order.shop.name}
            if order.shop_id
            else _("Manual orders (without a shop) are not chosen (tab Properties)"),
        ),
        Reason(
            "state",
            order.state in connection.order_states,
            _("Current state “%(state)s” is one of the connection's states") % state,
            _("Current state “%(state)s” is not one of the chosen order states (tab Properties)")
            % state,
        ),
        Reason(
            "start_date",
            reference_date is not None and reference_date >= since,
            _("Voucher date on or after the start date %(date)s") % start,
            _("Voucher date before the start date %(date)s (tab Properties)") % start,
        ),
        Reason(
            "invoice",
            order.has_invoice,
            _("Has an invoice with an invoice date"),
            _("No invoice with an invoice date yet"),
        ),
        Reason(
            "payment",
            order.paid_at is not None,
            _("Has a payment date"),
            _("No payment date yet"),
        ),
    ]


_WAITING_INVOICE = (
    OrderExport.Problem.WAITING_FOR_INVOICE,
    OrderExport.Problem.WAITING_FOR_INVOICE_LIST,
)
# Each outcome bucket once, for the dashboard's tiles, the export log's tiles and its filter
# (`?outcome=`), so that they agree. An export is in at most one bucket but "credit_notes",
# which counts booked credit notes beside the invoices in "exported".
OUTCOMES: dict[str, Q] = {
    "exported": Q(status__in=OrderExport.FINISHED, document__isnull=True),
    "credit_notes": Q(status__in=OrderExport.FINISHED, document__isnull=False),
    "payment_open": Q(status=OrderExport.Status.VOUCHER_CREATED),
    "waiting_invoice": Q(status=OrderExport.Status.SKIPPED, problem__in=_WAITING_INVOICE),
    "waiting_payment": Q(
        status=OrderExport.Status.SKIPPED, problem=OrderExport.Problem.WAITING_FOR_PAYMENT
    ),
    "oss": Q(problem=OrderExport.Problem.OSS),
    "needs_action": Q(status=OrderExport.Status.NEEDS_ACTION) & ~Q(problem=OrderExport.Problem.OSS),
    "retry": Q(status=OrderExport.Status.RETRY),
    "skipped": Q(status=OrderExport.Status.SKIPPED)
    & ~Q(problem__in=(*_WAITING_INVOICE, OrderExport.Problem.WAITING_FOR_PAYMENT)),
}
# Exports count for a period by when they were exported, the others by their last change.
_FINISHED_OUTCOMES = ("exported", "credit_notes")


def _outcome_since(outcome: str, since: datetime.datetime) -> Q:
    field = "exported_at" if outcome in _FINISHED_OUTCOMES else "updated_at"
    return Q(**{f"{field}__gte": since})


def outcome_counts(
    connection: Connection, since: datetime.datetime | None = None
) -> dict[str, int]:
    """How many of the connection's exports are in each outcome bucket (`OUTCOMES`), of those
    exported (or last changed) since `since`; all when None. One query."""
    buckets = {
        key: Count("pk", filter=q & _outcome_since(key, since) if since else q)
        for key, q in OUTCOMES.items()
    }
    return OrderExport.objects.filter(connection=connection).aggregate(**buckets)


def period_start(period: str, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """The export log's `?period=`: today / month (German calendar), else everything."""
    local = timezone.localtime(now or timezone.now(), BERLIN)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "today":
        return midnight
    if period == "month":
        return midnight.replace(day=1)
    return None


@dataclass(frozen=True)
class ExportCounts:
    exported_today: int
    failing: int
    waiting_for_invoice: int
    waiting_for_payment: int
    payment_open: int
    oss: int


def export_counts(*, connection: Connection) -> ExportCounts:
    """The export log's tiles: the buckets of `OUTCOMES` as they stand, exports of today."""
    now = outcome_counts(connection)
    return ExportCounts(
        exported_today=outcome_counts(connection, period_start("today"))["exported"],
        failing=now["needs_action"] + now["retry"],
        waiting_for_invoice=now["waiting_invoice"],
        waiting_for_payment=now["waiting_payment"],
        payment_open=now["payment_open"],
        oss=now["oss"],
    )


def export_log(
    *,
    connection: Connection,
    status: str = "",
    problem: str = "",
    outcome: str = "",
    since: datetime.datetime | None = None,
):
    exports = OrderExport.objects.filter(connection=connection).select_related("order", "document")
    if status:
        exports = exports.filter(status=status)
    if problem:
        exports = exports.filter(problem=problem)
    if outcome:
        exports = exports.filter(OUTCOMES[outcome])
        if since:
            exports = exports.filter(_outcome_since(outcome, since))
    return exports.order_by("-updated_at", "-pk")


# A retry cannot help these: the merchant acts in Billbee or sevDesk, or it is refused by
# design (OSS), and the export notices the change by itself.
RETRY_DOES_NOT_HELP = (
    OrderExport.Problem.OSS,
    OrderExport.Problem.CANCELLED_AFTER_EXPORT,
    OrderExport.Problem.ALREADY_BOOKED,
)


@dataclass(frozen=True)
class RetryOffer:
    label: str
    explanation: str


def retry_offer(export: OrderExport) -> RetryOffer | None:
    """The export log's button, only where a retry can help, saying what it does."""
    if export.status == OrderExport.Status.RETRY:
        when = (
            formats.date_format(timezone.localtime(export.next_attempt_at), "SHORT_DATETIME_FORMAT")
            if export.next_attempt_at
            else ""
        )
        return RetryOffer(
            _("Send now"),
            _("Sends it now instead of the automatic retry at %(when)s.") % {"when": when}
            if when
            else _("Sends it now instead of the automatic retry."),
        )
    if export.status == OrderExport.Status.NEEDS_ACTION and export.problem not in (
        RETRY_DOES_NOT_HELP
    ):
        return RetryOffer(
            _("Send again"),
            _(
                "Once you have fixed the cause: sends it again with the current data from "
                "Billbee; the attempts start afresh. Nothing already in sevDesk is sent twice."
            ),
        )
    return None


def next_scheduled_run() -> datetime.datetime | None:
    """When beat starts the next export run, from django-celery-beat's schedule."""
    from django_celery_beat.models import PeriodicTask

    task = (
        PeriodicTask.objects.filter(task="exports.run_all", enabled=True)
        .select_related("interval")
        .first()
    )
    if task is None or task.interval is None:
        return None
    every = datetime.timedelta(seconds=task.interval.every * _PERIOD_SECONDS[task.interval.period])
    now = timezone.now()
    # Before its first run beat counts from the row's last change (django-celery-beat's
    # ModelEntry), not from "now": a schedule created at migrate runs one interval later.
    upcoming = (task.last_run_at or task.date_changed) + every
    return upcoming if upcoming > now else now


_PERIOD_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1, "microseconds": 1e-6}


def connections_with_export_figures(connections: QuerySet[Connection]) -> QuerySet[Connection]:
    """The connection list's columns: last export and open errors."""
    failing = Q(
        order_exports__status__in=[OrderExport.Status.RETRY, OrderExport.Status.NEEDS_ACTION]
    )
    return connections.annotate(
        last_export_at=Max("order_exports__exported_at"),
        open_errors=Count("order_exports", filter=failing),
    )


def next_run_context(request, connection) -> dict:
    return {"next_run": next_scheduled_run()}
