"""The Celery tasks and the management command around the order sync."""

import pytest
from celery.exceptions import Retry
from django.core.management import call_command

from core.schedules import declared_schedules
from orders.billbee_client import (
    BillbeeAuthenticationFailed,
    BillbeeRateLimited,
    BillbeeTemporaryError,
)
from orders.models import Order, SyncRun
from orders.tasks import sync_account, sync_all
from tests.orders_factories import BillbeeAccountFactory, FakeBillbee, billbee_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def billbee(monkeypatch) -> FakeBillbee:
    fake = FakeBillbee()
    monkeypatch.setattr("orders.services.billbee_client_for", lambda account: fake)
    return fake


def _always(exc):
    def failing(**kwargs):
        raise exc

    return failing


def test_sync_all_fans_out_one_task_per_enabled_account(monkeypatch):
    enabled = BillbeeAccountFactory()
    BillbeeAccountFactory(sync_enabled=False)
    enqueued = []
    monkeypatch.setattr("orders.tasks.sync_account.delay", enqueued.append)

    sync_all()

    assert enqueued == [enabled.pk]


def test_sync_account_task_syncs_the_account(billbee):
    account = BillbeeAccountFactory()
    billbee.put(billbee_order(), billbee_order())

    sync_account.apply(args=[account.pk])

    assert Order.objects.for_merchant(account.merchant).count() == 2
    assert SyncRun.objects.get().status == SyncRun.Status.SUCCEEDED


def test_temporary_billbee_errors_are_retried_up_to_the_limit(billbee):
    account = BillbeeAccountFactory()
    billbee.get_orders_page = _always(BillbeeTemporaryError("Billbee answered 503"))

    result = sync_account.apply(args=[account.pk])

    assert isinstance(result.result, BillbeeTemporaryError)
    assert SyncRun.objects.count() == 1 + sync_account.max_retries  # first try + retries


def test_refused_credentials_are_not_retried(billbee):
    account = BillbeeAccountFactory()
    billbee.get_orders_page = _always(BillbeeAuthenticationFailed("401"))

    result = sync_account.apply(args=[account.pk])

    assert isinstance(result.result, BillbeeAuthenticationFailed)
    assert SyncRun.objects.count() == 1


def test_billbee_sync_looks_every_minute_for_accounts_that_are_due():
    schedules = {schedule.name: schedule for schedule in declared_schedules()}

    assert schedules["Billbee sync"].task == "orders.sync_all"
    assert schedules["Billbee sync"].every_seconds == 60


def test_command_syncs_one_merchant_and_reports_the_counts(billbee, capsys):
    account = BillbeeAccountFactory()
    other = BillbeeAccountFactory()
    billbee.put(billbee_order(), billbee_order(), billbee_order())

    call_command("sync_billbee", "--merchant", str(account.merchant_id))

    assert Order.objects.for_merchant(account.merchant).count() == 3
    assert not Order.objects.for_merchant(other.merchant).exists()
    assert "3 created, 0 updated, 0 rejected" in capsys.readouterr().out


def test_command_since_starts_the_sync_over_from_that_date(billbee):
    account = BillbeeAccountFactory()
    call_command("sync_billbee", "--merchant", str(account.merchant_id))

    call_command("sync_billbee", "--merchant", str(account.merchant_id), "--since", "2026-03-01")

    last_call = billbee.page_calls()[-1]
    assert last_call["modified_at_min"] is None
    assert str(last_call["min_order_date"].date()) == "2026-03-01"
    account.refresh_from_db()
    assert str(account.sync_since) == "2026-03-01"


def test_rate_limited_sync_comes_back_after_billbees_retry_after(billbee, monkeypatch):
    account = BillbeeAccountFactory()
    billbee.get_orders_page = _always(BillbeeRateLimited(120))
    retries = []

    def retry(**kwargs):
        retries.append(kwargs)
        return Retry()

    monkeypatch.setattr(sync_account, "retry", retry)

    sync_account.apply(args=[account.pk])

    assert len(retries) == 1
    assert 120 <= retries[0]["countdown"] <= 150  # Retry-After plus up to 30 s of jitter
    assert isinstance(retries[0]["exc"], BillbeeRateLimited)
