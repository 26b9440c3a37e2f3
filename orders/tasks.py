"""Celery tasks of the Billbee side: thin, taking ids, with their retry policy."""

import logging
import random

from celery import shared_task

from orders.billbee_client import BillbeeError, BillbeeRateLimited, BillbeeTemporaryError
from orders.models import BillbeeAccount
from orders.services import SyncAlreadyRunning, documents_sync, orders_sync

logger = logging.getLogger(__name__)


@shared_task(
    name="orders.sync_account",
    bind=True,
    ignore_result=True,
    # Timeouts and 5xx pass; auth and rejected requests would fail again, so no retry.
    autoretry_for=(BillbeeTemporaryError,),
    retry_backoff=60,
    retry_backoff_max=30 * 60,
    retry_jitter=True,
    max_retries=5,
)
def sync_account(self, account_id: int) -> None:
    account = BillbeeAccount.objects.filter(pk=account_id, sync_enabled=True).first()
    if account is None:
        return
    try:
        orders_sync(account=account)
    except SyncAlreadyRunning:
        logger.info("Billbee sync of account %s skipped: another run holds it", account_id)
    except BillbeeRateLimited as exc:
        # The client already waited out several 429s; come back after Billbee's Retry-After.
        countdown = (exc.retry_after or 60) + random.uniform(0, 30)
        raise self.retry(exc=exc, countdown=countdown, max_retries=5) from exc
    documents_sync_quietly(account)


def documents_sync_quietly(account: BillbeeAccount) -> None:
    """After the orders, Billbee's invoice list: a failure here waits for the next run (the
    exports wait for the list a while, then use the orders' lines)."""
    try:
        result = documents_sync(account=account)
    except BillbeeError as exc:
        logger.info("Billbee documents of account %s not read now: %s", account.pk, exc)
        return
    for line in result.rejected:
        logger.warning("Billbee document of account %s skipped: %s", account.pk, line)


@shared_task(name="orders.sync_all", ignore_result=True)
def sync_all() -> int:
    """Fan out one sync per enabled account, so one slow merchant does not hold the others."""
    account_ids = list(
        BillbeeAccount.objects.filter(sync_enabled=True).values_list("pk", flat=True)
    )
    for account_id in account_ids:
        sync_account.delay(account_id)
    return len(account_ids)
