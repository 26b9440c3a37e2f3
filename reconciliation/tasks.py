"""Celery tasks of the reconciliation: each takes ids and calls one service."""

from celery import shared_task
from django.db import OperationalError

from reconciliation.services import (
    monthly_reports_schedule,
    reconciliation_reports_reap,
    reconciliation_run,
)

DB_RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 3,
}


@shared_task(
    name="reconciliation.run",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=15 * 60,
    time_limit=20 * 60,
    **DB_RETRY,
)
def run_report(report_id: int) -> None:
    """sevDesk's errors end the report as failed (the service); nothing to retry here."""
    reconciliation_run(report_id)


@shared_task(name="reconciliation.schedule_monthly", ignore_result=True, **DB_RETRY)
def schedule_monthly() -> None:
    """Daily: the previous month's reports (from the 3rd, once each), and stale ones failed."""
    reconciliation_reports_reap()
    for report_id in monthly_reports_schedule():
        run_report.delay(report_id)
