"""Celery tasks of the export: each takes ids and calls one service.

`export_order` delivers one export (saleor's one delivery per task): a failing order never
holds up another, and a time limit cuts one order short, never a whole run. Retries come
back through Celery's countdown while they are short, and through `dispatch_due` (from the
time stored on the export row) when they are long or the broker lost them.
"""

from celery import shared_task
from celery.exceptions import MaxRetriesExceededError
from django.db import OperationalError
from django.utils import timezone

from connections.models import Connection
from exports.delivery import MAX_ATTEMPTS
from exports.models import ExportRun, OrderExport
from exports.selectors import EXPORT_SOFT_TIME_LIMIT, EXPORT_TIME_LIMIT
from exports.services import (
    export_attempts_prune,
    export_deliver_by_id,
    export_run_create,
    export_run_execute,
    exports_due,
    exports_reap,
)

# Retries further off than this wait in our table for `dispatch_due`, not in the broker
# (Redis redelivers long-delayed messages after its visibility timeout).
MAX_COUNTDOWN_SECONDS = 15 * 60
DB_RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 3,
}


def dispatch(export_id: int) -> None:
    export_order.delay(export_id)


@shared_task(
    name="exports.export_order",
    bind=True,
    ignore_result=True,
    acks_late=True,
    soft_time_limit=EXPORT_SOFT_TIME_LIMIT,
    time_limit=EXPORT_TIME_LIMIT,
    max_retries=MAX_ATTEMPTS + 2,
)
def export_order(self, export_id: int) -> None:
    export = export_deliver_by_id(export_id=export_id)
    if export is None or export.status != OrderExport.Status.RETRY or not export.next_attempt_at:
        return
    wait = (export.next_attempt_at - timezone.now()).total_seconds()
    if wait <= MAX_COUNTDOWN_SECONDS:
        try:
            raise self.retry(countdown=max(wait, 1))
        except MaxRetriesExceededError:
            pass  # the row keeps its retry time; dispatch_due takes it up


@shared_task(name="exports.run_all", ignore_result=True, **DB_RETRY)
def run_all() -> None:
    """The periodic fan-out: one run per active connection whose token was not rejected."""
    connections = Connection.objects.filter(is_active=True, token_rejected_at__isnull=True)
    for connection_id in connections.values_list("pk", flat=True):
        run_connection.delay(connection_id)


@shared_task(name="exports.run_connection", ignore_result=True, **DB_RETRY)
def run_connection(connection_id: int) -> None:
    connection = Connection.objects.filter(pk=connection_id, is_active=True).first()
    if connection is None:
        return
    run = export_run_create(connection=connection, kind=ExportRun.Kind.SCHEDULED)
    export_run_execute(run=run, dispatch=dispatch)


@shared_task(name="exports.run_manual", ignore_result=True, **DB_RETRY)
def run_manual(run_id: int) -> None:
    """A run the merchant started for chosen orders; its progress page follows it."""
    run = ExportRun.objects.filter(pk=run_id, status=ExportRun.Status.QUEUED).first()
    if run is not None:
        export_run_execute(run=run, dispatch=dispatch)


@shared_task(name="exports.dispatch_due", ignore_result=True, **DB_RETRY)
def dispatch_due() -> None:
    for export_id in exports_due():
        dispatch(export_id)


@shared_task(name="exports.reap", ignore_result=True, **DB_RETRY)
def reap() -> None:
    exports_reap()
    dispatch_due.delay()


@shared_task(name="exports.prune_attempts", ignore_result=True, **DB_RETRY)
def prune_attempts() -> None:
    export_attempts_prune()
