"""Celery tasks of the Billbee side: thin, taking ids, with their retry policy."""

import logging
import random
from datetime import datetime

from celery import shared_task

from orders.billbee_client import BillbeeError, BillbeeRateLimited, BillbeeTemporaryError
from orders.models import BillbeeAccount
from orders.services import (
    SyncAlreadyRunning,
    accounts_due_for_sync,
    documents_due,
    documents_since_for,
    documents_sync,
    orders_sync,
    sync_again_requested,
)
from orders.webhooks import webhook_check

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
        first = run = orders_sync(account=account)
        if sync_again_requested(account=account, run=run):  # a webhook came while we ran
            run = orders_sync(account=account)
    except SyncAlreadyRunning:
        logger.info("Billbee sync of account %s skipped: another run holds it", account_id)
        return
    except BillbeeRateLimited as exc:
        # The client already waited out several 429s; come back after Billbee's Retry-After.
        countdown = (exc.retry_after or 60) + random.uniform(0, 30)
        raise self.retry(exc=exc, countdown=countdown, max_retries=5) from exc
    stored = first.orders_created + first.orders_updated
    if run is not first:
        stored += run.orders_created + run.orders_updated
    if stored:  # from the first run: the orders either run stored are in the read
        documents_sync_quietly(account, since=documents_since_for(account=account, run=first))
    elif documents_due(account=account):
        documents_sync_quietly(account)


def documents_sync_quietly(account: BillbeeAccount, since=None) -> None:
    """After the orders, Billbee's invoice list. Its own throttle (once a minute per page and
    date) sends the read to a task a little later; another failure waits for the next run
    (the exports wait for the list a while, then use the orders' lines)."""
    try:
        result = documents_sync(account=account, since=since)
    except BillbeeRateLimited as exc:
        sync_documents.apply_async(
            (account.pk, since.isoformat() if since else None),
            countdown=(exc.retry_after or 60) + 1,
        )
        return
    except BillbeeError as exc:
        logger.info("Billbee documents of account %s not read now: %s", account.pk, exc)
        return
    for line in result.rejected:
        logger.warning("Billbee document of account %s skipped: %s", account.pk, line)


@shared_task(name="orders.sync_documents", ignore_result=True)
def sync_documents(account_id: int, since: str | None = None) -> None:
    """Billbee's invoice list for one account (after its throttle said "in a minute")."""
    account = BillbeeAccount.objects.filter(pk=account_id, sync_enabled=True).first()
    if account is not None:
        documents_sync_quietly(account, since=datetime.fromisoformat(since) if since else None)


@shared_task(name="orders.sync_all", ignore_result=True)
def sync_all() -> int:
    """Fan out one sync per account that is due (its interval, or a webhook asked), so one
    slow merchant does not hold the others."""
    account_ids = accounts_due_for_sync()
    for account_id in account_ids:
        sync_account.delay(account_id)
    return len(account_ids)


@shared_task(name="orders.webhooks_check", ignore_result=True)
def webhooks_check() -> None:
    """Every six hours: an account whose webhook Billbee dropped registers it again."""
    for account in BillbeeAccount.objects.filter(sync_enabled=True).exclude(webhook_id=""):
        try:
            webhook_check(account=account)
        except BillbeeError as exc:
            logger.warning("Billbee webhook of account %s not checked: %s", account.pk, exc)
