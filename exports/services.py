"""Export runs: a connection's exports handed to the workers, and the nets under them.

A run (scheduled, or started by hand for chosen orders) decides *which* exports are due and
hands each to its own task, `exports.export_order` (see `exports.delivery` for how one export
is delivered exactly once). The run row aggregates its exports' outcomes as they come in and
finishes when the last one is counted; a run that crashes ends "failed" with the reason.

The nets: `exports_dispatch_due` (every minute) hands on exports whose retry time has come,
`exports_reap` (every few minutes) takes back exports and runs whose worker died, and
`export_attempts_prune` keeps the attempt log to 90 days.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from connections.models import Connection
from exports import messages
from exports.delivery import (
    MAX_ATTEMPTS,
    ExportContext,
    export_deliver,
    export_for,
    invoice_changed_record,
)
from exports.models import ExportAttempt, ExportRun, OrderExport
from exports.selectors import (
    RETRY_DOES_NOT_HELP,
    cancellation_invoice_booked,
    claim_stale_after,
    credit_note_exports_due,
    credit_notes_to_export,
    exports_cancelled_after_booking,
    exports_changed_after_booking,
    exports_to_finish,
    exports_with_new_payments,
    orders_to_export,
    orders_waiting,
)
from orders.enums import ORDER_CANCELLED
from orders.models import Order

logger = logging.getLogger(__name__)

Dispatch = Callable[[int], None]
# A run's fan-out holds the connection's lease this long at most.
FANOUT_LEASE_SECONDS = 300
# A run not heard of for this long (no export counted) has lost its workers.
RUN_STALE_AFTER = datetime.timedelta(minutes=30)
ATTEMPTS_KEPT = datetime.timedelta(days=90)


# --- Runs ----------------------------------------------------------------------------------


def export_run_create(
    *, connection: Connection, kind: str, order_ids=(), tag_orders=False, user=None
) -> ExportRun:
    return ExportRun.objects.create(
        merchant=connection.merchant,
        connection=connection,
        kind=kind,
        order_ids=list(order_ids),
        tag_orders=tag_orders,
        requested_by=user,
        total=len(order_ids),
    )


def _run_end(run: ExportRun, status: str, message="") -> ExportRun:
    ExportRun.objects.filter(pk=run.pk).update(
        status=status, message=str(message), finished_at=timezone.now(), updated_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def export_run_execute(
    *, run: ExportRun, dispatch: Dispatch | None = None, progress=None
) -> ExportRun:
    """Hand the run's due exports to `dispatch` (a task's `delay`); without one, deliver them
    here one after the other (management command, tests, benchmark)."""
    connection = Connection.objects.get(pk=run.connection_id)
    if not connection.is_active:
        return _run_end(run, ExportRun.Status.STOPPED, _("The connection is deactivated."))
    if connection.token_rejected_at:
        return _run_end(run, ExportRun.Status.STOPPED, messages.AUTHENTICATION_REQUIRED)
    if connection.status == Connection.Status.UNSUPPORTED:
        return _run_end(run, ExportRun.Status.STOPPED, connection.last_error)
    if not _lease_take(connection, FANOUT_LEASE_SECONDS):
        return _run_end(
            run, ExportRun.Status.STOPPED, _("Another run of this connection is in progress.")
        )
    ExportRun.objects.filter(pk=run.pk).update(
        status=ExportRun.Status.RUNNING, started_at=timezone.now(), updated_at=timezone.now()
    )
    try:
        export_ids = _run_exports(connection, run)
    except Exception as error:
        logger.exception("export run %s crashed", run.pk)
        return _run_end(run, ExportRun.Status.FAILED, messages.RUN_CRASHED % {"error": error})
    finally:
        _lease_release(connection)
    if not export_ids:
        return _run_end(run, ExportRun.Status.FINISHED)
    for export_id in export_ids:
        if dispatch is not None:
            dispatch(export_id)
            continue
        export = export_deliver_by_id(export_id=export_id)
        if progress and export is not None:
            progress(export.order, _outcome(export))
    run.refresh_from_db()
    return run


def _run_exports(connection: Connection, run: ExportRun) -> list[int]:
    """The run's exports, new and due ones before repeat failures; each is bound to the run."""
    if run.kind == ExportRun.Kind.MANUAL:
        rows = _manual_exports(connection, run)
    else:
        rows = _scheduled_exports(connection)
    # (attempts, order, row): fresh work first, oldest first; an order's invoice before its
    # credit notes (created after it)
    rows.sort(key=lambda row: (row[1], row[2], row[0]))
    export_ids = [pk for pk, _attempts, _order in rows]
    for start in range(0, len(export_ids), 500):
        OrderExport.objects.filter(pk__in=export_ids[start : start + 500]).update(run=run)
    ExportRun.objects.filter(pk=run.pk).update(total=len(export_ids), updated_at=timezone.now())
    return export_ids


def _scheduled_exports(connection: Connection) -> list[tuple[int, int, int]]:
    now = timezone.now()
    _waiting_rows_write(connection)
    ready = orders_to_export(connection=connection, now=now)
    _export_rows_create(connection, ready.values_list("pk", flat=True))
    due = OrderExport.objects.filter(connection=connection, order__in=ready, document__isnull=True)
    rows = set(due.values_list("pk", "attempt_count", "order_id"))
    rows |= set(
        exports_to_finish(connection=connection, now=now).values_list(
            "pk", "attempt_count", "order_id"
        )
    )
    _credit_note_rows_create(connection)
    rows |= set(
        credit_note_exports_due(connection=connection).values_list(
            "pk", "attempt_count", "order_id"
        )
    )
    reopened = list(exports_with_new_payments(connection=connection).values_list("pk", flat=True))
    if reopened:  # a later payment: the voucher exists, only the new payment goes out
        OrderExport.objects.filter(
            pk__in=reopened,
            status__in=[OrderExport.Status.PAID, OrderExport.Status.VOUCHER_CREATED],
        ).update(status=OrderExport.Status.PENDING, attempt_count=0, next_attempt_at=None)
        rows |= set(
            OrderExport.objects.filter(pk__in=reopened).values_list(
                "pk", "attempt_count", "order_id"
            )
        )
    OrderExport.objects.filter(  # cancelled before anything was sent: the log says so
        connection=connection,
        voucher_save_sent_at__isnull=True,
        voucher_id__isnull=True,
        document__isnull=True,
        order__state=ORDER_CANCELLED,
    ).exclude(status__in=[OrderExport.Status.IN_PROGRESS, *OrderExport.FINISHED]).exclude(
        problem=OrderExport.Problem.CANCELLED
    ).update(
        status=OrderExport.Status.SKIPPED,
        problem=OrderExport.Problem.CANCELLED,
        message=str(messages.CANCELLED_BEFORE_EXPORT),
        hint="",
        next_attempt_at=None,
        updated_at=now,
    )
    cancelled = exports_cancelled_after_booking(connection=connection).select_related("order")
    for export in cancelled.iterator():
        if cancellation_invoice_booked(export=export):
            continue
        OrderExport.objects.filter(pk=export.pk).update(
            status=OrderExport.Status.NEEDS_ACTION,
            problem=OrderExport.Problem.CANCELLED_AFTER_EXPORT,
            message=str(messages.CANCELLED_AFTER_EXPORT % {"voucher": export.voucher_id}),
            hint=str(messages.CANCELLED_AFTER_EXPORT_HINT),
            next_attempt_at=None,
            updated_at=now,
        )
    changed = exports_changed_after_booking(connection=connection).select_related("order")
    for export in changed.iterator():
        invoice_changed_record(export=export)
    return list(rows)


def _manual_exports(connection: Connection, run: ExportRun) -> list[tuple[int, int, int]]:
    orders = Order.objects.for_merchant(run.merchant).filter(pk__in=run.order_ids)
    rows = []
    for order in orders.iterator():
        export = export_for(connection=connection, order=order)
        if export.status == OrderExport.Status.NEEDS_ACTION:  # chosen by hand: try again
            OrderExport.objects.filter(pk=export.pk, status=export.status).update(
                status=OrderExport.Status.PENDING, next_attempt_at=None
            )
        rows.append((export.pk, export.attempt_count, export.order_id))
    # the chosen orders' credit notes go with them
    _credit_note_rows_create(connection, order_ids=run.order_ids)
    notes = OrderExport.objects.filter(
        connection=connection, order_id__in=run.order_ids, document__isnull=False
    ).exclude(status__in=[*OrderExport.FINISHED, OrderExport.Status.IN_PROGRESS])
    notes.filter(status=OrderExport.Status.NEEDS_ACTION).update(
        status=OrderExport.Status.PENDING, next_attempt_at=None
    )
    rows += list(notes.values_list("pk", "attempt_count", "order_id"))
    return rows


def _export_rows_create(connection: Connection, order_ids) -> None:
    batch = []
    for order_id in order_ids.iterator():
        batch.append(
            OrderExport(merchant=connection.merchant, connection=connection, order_id=order_id)
        )
        if len(batch) == 500:
            OrderExport.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    OrderExport.objects.bulk_create(batch, ignore_conflicts=True)


def _credit_note_rows_create(connection: Connection, order_ids=None) -> None:
    """One export row per credit note the connection books (the unique constraint per
    connection and document keeps it one, whoever creates it)."""
    notes = credit_notes_to_export(connection=connection)
    if order_ids is not None:
        notes = notes.filter(order_id__in=order_ids)
    rows = [
        OrderExport(
            merchant=connection.merchant,
            connection=connection,
            order_id=order_id,
            document_id=document_id,
        )
        for document_id, order_id in notes.values_list("pk", "order_id")
    ]
    OrderExport.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)


def _waiting_rows_write(connection: Connection) -> None:
    """Orders still waiting get a row saying so, once, and no attempt."""
    waiting = orders_waiting(connection=connection)
    no_invoice = Q(invoice_date__isnull=True) | Q(invoice_number="")
    for orders, problem, message, hint in (
        (
            waiting.filter(no_invoice),
            OrderExport.Problem.WAITING_FOR_INVOICE,
            messages.WAITING_FOR_INVOICE,
            messages.NO_INVOICE_HINT,
        ),
        (
            waiting.exclude(no_invoice),
            OrderExport.Problem.WAITING_FOR_PAYMENT,
            messages.WAITING_FOR_PAYMENT,
            messages.NO_PAYMENT_DATE_HINT,
        ),
    ):
        OrderExport.objects.bulk_create(
            [
                OrderExport(
                    merchant=connection.merchant,
                    connection=connection,
                    order_id=pk,
                    status=OrderExport.Status.SKIPPED,
                    problem=problem,
                    message=str(message),
                    hint=str(hint),
                )
                for pk in orders.values_list("pk", flat=True)[:5000]
            ],
            batch_size=500,
            ignore_conflicts=True,
        )


def _lease_take(connection: Connection, seconds: int) -> bool:
    """Fan-outs of one connection never overlap: a conditional UPDATE must take the lease."""
    now = timezone.now()
    taken = (
        Connection.objects.filter(pk=connection.pk)
        .filter(Q(export_lease_until__isnull=True) | Q(export_lease_until__lt=now))
        .update(export_lease_until=now + datetime.timedelta(seconds=seconds))
    )
    return taken == 1


def _lease_release(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(export_lease_until=None)


# --- One export, as a task delivers it ------------------------------------------------------


def export_deliver_by_id(*, export_id: int) -> OrderExport | None:
    """What the task `exports.export_order` does: deliver one export, count it for its run."""
    export = (
        OrderExport.objects.select_related("order", "order__shop", "connection", "run")
        .filter(pk=export_id)
        .first()
    )
    if export is None:
        return None
    run = export.run
    if not export.connection.is_active:
        _run_count(run, export, "skipped")
        return export
    context = ExportContext(
        connection=export.connection,
        run=run,
        tag=bool(run and run.tag_orders),
        manual=bool(run and run.kind == ExportRun.Kind.MANUAL),
    )
    try:
        export_deliver(context=context, export=export)
    finally:
        _run_count(run, export, _outcome(export))
    return export


def _outcome(export: OrderExport) -> str:
    if export.status in OrderExport.FINISHED:
        return "done"
    if export.status == OrderExport.Status.VOUCHER_CREATED:
        return "payment_open"
    if export.status == OrderExport.Status.SKIPPED:
        return "skipped"
    return "failed"


def _run_count(run: ExportRun | None, export: OrderExport, outcome: str) -> None:
    """Count the export's outcome for its run, once; the last one counted ends the run."""
    if run is None:
        return
    released = OrderExport.objects.filter(pk=export.pk, run=run).update(run=None)
    if released != 1:
        return  # counted already (a duplicate delivery), or handed to a newer run
    now = timezone.now()
    ExportRun.objects.filter(pk=run.pk).update(**{outcome: F(outcome) + 1}, updated_at=now)
    ExportRun.objects.filter(
        pk=run.pk,
        status=ExportRun.Status.RUNNING,
        total__lte=F("done") + F("payment_open") + F("failed") + F("skipped"),
    ).update(status=ExportRun.Status.FINISHED, finished_at=now)


# --- What the merchant does: retry, a new token, a new account assignment -----------------


def export_retry(*, export: OrderExport) -> bool:
    """ "Retry" in the export log: the export is due again at once (attempts start afresh).
    Only where a retry can help (`exports.selectors.retry_offer`); False when refused.

    After "vouchers do not match for certain" the merchant has checked sevDesk: the retry may
    then send, so the "a save was sent" mark is dropped (the frozen payload stays).
    """
    values = {
        "status": OrderExport.Status.PENDING,
        "next_attempt_at": None,
        "attempt_count": 0,
        "updated_at": timezone.now(),
    }
    if export.problem == OrderExport.Problem.AMBIGUOUS and export.voucher_id is None:
        values["voucher_save_sent_at"] = None
    helps = Q(status=OrderExport.Status.RETRY) | (
        Q(status=OrderExport.Status.NEEDS_ACTION) & ~Q(problem__in=RETRY_DOES_NOT_HELP)
    )
    return OrderExport.objects.filter(helps, pk=export.pk).update(**values) == 1


def exports_after_token_change(*, connection: Connection) -> list[int]:
    """The token works again (test, save, re-check): what the rejected token stopped resumes."""
    stopped = OrderExport.objects.filter(
        connection=connection,
        problem=OrderExport.Problem.AUTHENTICATION,
        status__in=[OrderExport.Status.RETRY, OrderExport.Status.NEEDS_ACTION],
    )
    export_ids = list(stopped.values_list("pk", flat=True))
    stopped.update(
        status=OrderExport.Status.PENDING, next_attempt_at=None, updated_at=timezone.now()
    )
    return export_ids


def exports_after_assignment_change(*, connection_id: int) -> list[int]:
    """A payment method got an account: vouchers whose payment waited for one go on."""
    waiting = OrderExport.objects.filter(
        connection_id=connection_id,
        status=OrderExport.Status.VOUCHER_CREATED,
        problem=OrderExport.Problem.NO_ACCOUNT,
    )
    export_ids = list(waiting.values_list("pk", flat=True))
    waiting.update(
        status=OrderExport.Status.PENDING, next_attempt_at=None, updated_at=timezone.now()
    )
    return export_ids


def exports_after_revenue_accounts_change(*, connection_id: int) -> list[int]:
    """Revenue accounts were chosen or refreshed: exports that stopped for want of one (no
    voucher was sent) are tried again, attempts afresh."""
    waiting = OrderExport.objects.filter(
        connection_id=connection_id,
        status=OrderExport.Status.NEEDS_ACTION,
        problem=OrderExport.Problem.NO_REVENUE_ACCOUNT,
        voucher_id__isnull=True,
    )
    export_ids = list(waiting.values_list("pk", flat=True))
    waiting.update(
        status=OrderExport.Status.PENDING,
        next_attempt_at=None,
        attempt_count=0,
        updated_at=timezone.now(),
    )
    return export_ids


# --- Event-driven: what a sync just stored goes at once --------------------------------------


def exports_enqueue_for_orders(*, merchant_id: int, order_ids: list[int]) -> list[int]:
    """Orders a sync just stored that are now ready for one of the merchant's usable
    connections (and their credit notes): their exports are created and returned for
    dispatch, one task per export. The periodic run stays the net for retries and misses."""
    now = timezone.now()
    connections = Connection.objects.filter(
        merchant_id=merchant_id, is_active=True, token_rejected_at__isnull=True
    ).filter(Q(paused_until__isnull=True) | Q(paused_until__lte=now))
    # Exports that waited for these orders' entries in Billbee's invoice list go now.
    OrderExport.objects.filter(
        order_id__in=order_ids,
        status=OrderExport.Status.RETRY,
        problem=OrderExport.Problem.WAITING_FOR_INVOICE_LIST,
    ).update(next_attempt_at=None)
    export_ids: list[int] = []
    for connection in connections:
        ready = orders_to_export(connection=connection, now=now).filter(pk__in=order_ids)
        _export_rows_create(connection, ready.values_list("pk", flat=True))
        _credit_note_rows_create(connection, order_ids=order_ids)
        due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        fresh = OrderExport.objects.filter(
            Q(document__isnull=True, order__in=ready)
            | Q(document__isnull=False, order_id__in=order_ids),
            due,
            connection=connection,
            status__in=[OrderExport.Status.PENDING, OrderExport.Status.RETRY],
        )
        export_ids += list(fresh.values_list("pk", flat=True))
    return export_ids


# --- The nets: due retries, dead workers, old attempts --------------------------------------


def exports_due(*, now: datetime.datetime | None = None, limit: int = 2000) -> list[int]:
    """Exports whose retry time has come (or that were resumed), of usable connections."""
    now = now or timezone.now()
    usable = Q(connection__is_active=True, connection__token_rejected_at__isnull=True) & (
        Q(connection__paused_until__isnull=True) | Q(connection__paused_until__lte=now)
    )
    # Pending without a run: resumed by the merchant or a new token. Pending for long: its
    # message was lost with a worker that died before taking it.
    due = (
        Q(status=OrderExport.Status.RETRY, next_attempt_at__lte=now)
        | Q(status=OrderExport.Status.PENDING, run__isnull=True)
        | Q(status=OrderExport.Status.PENDING, updated_at__lt=now - claim_stale_after())
    )
    return list(
        OrderExport.objects.filter(usable & due)
        .order_by("attempt_count", "next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def exports_reap(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Take back what dead workers left: exports still "in progress" past their claim, and
    runs no export was counted for in a long while. Returns the counts, and the exports to
    hand on again under "requeue"."""
    now = now or timezone.now()
    stale = OrderExport.objects.filter(
        status=OrderExport.Status.IN_PROGRESS, claimed_at__lt=now - claim_stale_after()
    )
    gave_up = stale.filter(attempt_count__gte=MAX_ATTEMPTS).update(
        status=OrderExport.Status.NEEDS_ACTION,
        problem=OrderExport.Problem.TOO_MANY_ATTEMPTS,
        message=str(messages.GAVE_UP % {"attempts": MAX_ATTEMPTS, "message": messages.INTERRUPTED}),
        hint=str(messages.GAVE_UP_HINT),
        claim_token="",
        claimed_at=None,
        updated_at=now,
    )
    requeued = stale.update(
        status=OrderExport.Status.RETRY,
        problem=OrderExport.Problem.TEMPORARY,
        message=str(messages.INTERRUPTED),
        hint="",
        next_attempt_at=now,
        claim_token="",
        claimed_at=None,
        updated_at=now,
    )
    ExportAttempt.objects.filter(
        finished_at__isnull=True, started_at__lt=now - claim_stale_after()
    ).update(finished_at=now, status_after="interrupted", message=str(messages.INTERRUPTED))
    runs_failed = 0
    for run in ExportRun.objects.filter(
        status__in=[ExportRun.Status.RUNNING, ExportRun.Status.QUEUED],
        updated_at__lt=now - RUN_STALE_AFTER,
    ):
        missing = max(run.total - run.processed, 0)
        OrderExport.objects.filter(run=run).update(run=None)
        if missing == 0 and run.status == ExportRun.Status.RUNNING:
            _run_end(run, ExportRun.Status.FINISHED)
            continue
        _run_end(
            run,
            ExportRun.Status.FAILED,
            messages.RUN_ABANDONED % {"missing": missing, "total": run.total},
        )
        runs_failed += 1
    return {"gave_up": gave_up, "requeued": requeued, "runs_failed": runs_failed}


def export_attempts_prune(
    *, older_than=ATTEMPTS_KEPT, batch: int = 5000, seconds: float = 60
) -> int:
    """Delete attempt rows older than 90 days, a batch at a time, for at most `seconds`."""
    cutoff = timezone.now() - older_than
    deadline = time.monotonic() + seconds
    deleted = 0
    while time.monotonic() < deadline:
        ids = list(
            ExportAttempt.objects.filter(started_at__lt=cutoff).values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        deleted += ExportAttempt.objects.filter(pk__in=ids).delete()[0]
    return deleted
