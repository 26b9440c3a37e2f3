"""Celery tasks of the export: they take ids and call one service each."""

from celery import shared_task
from django.db import OperationalError

from connections.models import Connection
from exports.models import ExportRun
from exports.services import export_run_create, export_run_execute


@shared_task(
    name="exports.run_all",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def run_all() -> None:
    """The periodic fan-out: one run per active connection whose token was not rejected."""
    connections = Connection.objects.filter(is_active=True, token_rejected_at__isnull=True)
    for connection_id in connections.values_list("pk", flat=True):
        run_connection.delay(connection_id)


@shared_task(
    name="exports.run_connection",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
)
def run_connection(connection_id: int) -> None:
    connection = Connection.objects.filter(pk=connection_id, is_active=True).first()
    if connection is None:
        return
    run = export_run_create(connection=connection, kind=ExportRun.Kind.SCHEDULED)
    export_run_execute(run=run)


@shared_task(
    name="exports.run_manual",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
)
def run_manual(run_id: int) -> None:
    """A run the merchant started for chosen orders; its progress page follows it."""
    run = ExportRun.objects.filter(pk=run_id, status=ExportRun.Status.QUEUED).first()
    if run is not None:
        export_run_execute(run=run)
