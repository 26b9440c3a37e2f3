"""When each Billbee account syncs: its interval (2 minutes, 15 with webhooks as the safety
net, slower when idle), sooner when a webhook asks; and what each sync costs in Billbee calls,
counted per account, key and month."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from orders.models import BillbeeAccount, BillbeeApiUsage
from orders.selectors import api_usage_for
from orders.services import (
    accounts_due_for_sync,
    api_call_counter,
    documents_due,
    orders_sync,
    sync_interval,
)
from tests.orders_factories import BillbeeAccountFactory, FakeBillbee, OrderFactory, billbee_order


@pytest.fixture
def account(db):
    return BillbeeAccountFactory(sync_since=date(2026, 1, 1))


def test_an_account_never_synced_is_due(account):
    assert account.pk in accounts_due_for_sync()


def test_polling_every_two_minutes_while_orders_change(account, settings):
    settings.BILLBEE_SYNC_INTERVAL_MINUTES = 2
    now = timezone.now()
    OrderFactory(merchant=account.merchant, synced_at=now - timedelta(hours=1))
    BillbeeAccount.objects.filter(pk=account.pk).update(sync_cursor=now - timedelta(seconds=90))
    account.refresh_from_db()

    assert sync_interval(account=account, now=now) == timedelta(minutes=2)
    assert account.pk not in accounts_due_for_sync(now=now)
    assert account.pk in accounts_due_for_sync(now=now + timedelta(seconds=31))


def test_an_idle_account_polls_every_ten_minutes(account):
    now = timezone.now()
    OrderFactory(merchant=account.merchant, synced_at=now - timedelta(days=2))
    BillbeeAccount.objects.filter(pk=account.pk).update(sync_cursor=now - timedelta(minutes=5))
    account.refresh_from_db()

    assert sync_interval(account=account, now=now) == timedelta(minutes=10)
    assert account.pk not in accounts_due_for_sync(now=now)


def test_with_webhooks_the_poll_is_a_quarter_hourly_net_and_a_webhook_makes_it_due(account):
    now = timezone.now()
    BillbeeAccount.objects.filter(pk=account.pk).update(
        webhook_id="wh-1", sync_cursor=now - timedelta(minutes=5)
    )
    account.refresh_from_db()
    assert sync_interval(account=account, now=now) == timedelta(minutes=15)
    assert account.pk not in accounts_due_for_sync(now=now)

    BillbeeAccount.objects.filter(pk=account.pk).update(sync_requested_at=now)

    assert account.pk in accounts_due_for_sync(now=now)


def test_a_merchant_set_interval_wins(account):
    account.sync_interval_minutes = 30
    account.webhook_id = "wh-1"

    assert sync_interval(account=account) == timedelta(minutes=30)


def test_an_idle_sync_costs_one_call_the_shop_list_is_read_hourly(account):
    fake = FakeBillbee()
    fake.put(billbee_order(billbee_id=701))
    orders_sync(account=account, client=fake)
    fake.calls.clear()

    orders_sync(account=account, client=fake)

    assert [call["op"] for call in fake.calls] == ["get_orders_page"]
    BillbeeAccount.objects.filter(pk=account.pk).update(
        shops_synced_at=timezone.now() - timedelta(hours=2)
    )
    account.refresh_from_db()
    fake.calls.clear()
    orders_sync(account=account, client=fake)
    assert [call["op"] for call in fake.calls] == ["get_shops", "get_orders_page"]


def test_the_invoice_list_is_read_hourly_without_order_changes(account):
    now = timezone.now()
    account.documents_synced_at = now - timedelta(minutes=30)
    assert not documents_due(account=account, now=now)
    account.documents_synced_at = now - timedelta(minutes=61)
    assert documents_due(account=account, now=now)


def test_every_call_is_counted_per_account_key_and_month(account):
    shared = BillbeeAccountFactory(api_key=account.api_key)  # an agency: one key, two shops
    count = api_call_counter(account=account, api_key=account.api_key)
    for _ in range(3):
        count("GET /orders")
    api_call_counter(account=shared, api_key=shared.api_key)("GET /orders")

    usage = api_usage_for(account=account, now=timezone.now())

    assert usage.account_calls == 3
    assert usage.key_calls == 4
    assert BillbeeApiUsage.objects.count() == 2
    assert usage.projected_key_calls >= usage.key_calls
    assert usage.free_limit == 100_000


def test_after_a_second_run_the_invoice_list_is_read_from_the_first_runs_orders(
    account, monkeypatch
):
    """A webhook during a sync makes it run again; the orders the first run stored still get
    their invoice list entries read (the second run stored nothing)."""
    from orders import tasks

    first = SimpleNamespace(pk=1, orders_created=1, orders_updated=0)
    second = SimpleNamespace(pk=2, orders_created=0, orders_updated=0)
    runs = iter([first, second])
    monkeypatch.setattr(tasks, "orders_sync", lambda account: next(runs))
    monkeypatch.setattr(tasks, "sync_again_requested", lambda account, run: run is first)
    monkeypatch.setattr(tasks, "documents_since_for", lambda account, run: f"since {run.pk}")
    reads = []
    monkeypatch.setattr(
        tasks, "documents_sync_quietly", lambda account, since=None: reads.append(since)
    )

    tasks.sync_account.run(account.pk)

    assert reads == ["since 1"]


def test_two_syncs_in_one_minute_each_read_their_invoices_without_waiting(account):
    """Billbee answers the invoice list once a minute per page and minInvoiceDate: reads that
    start from the second of each sync's earliest new invoice are different reads, so an
    invoice a minute after another is not held up a minute by the throttle."""
    from orders.services import documents_since_for

    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    fake = FakeBillbee()
    fake.put(billbee_order(billbee_id=801, invoice_date=minute + timedelta(seconds=5)))
    first = orders_sync(account=account, client=fake)
    fake.put(
        billbee_order(
            billbee_id=802,
            invoice_date=minute + timedelta(seconds=40),
            last_modified_at=timezone.now(),
        )
    )
    second = orders_sync(account=account, client=fake)

    assert documents_since_for(account=account, run=first) == minute + timedelta(seconds=5)
    assert documents_since_for(account=account, run=second) == minute + timedelta(seconds=40)


def test_the_webhook_check_runs_every_six_hours():
    """Idle with webhooks on stays below 5,000 Billbee calls a month (README)."""
    from core.schedules import declared_schedules

    check = next(s for s in declared_schedules() if s.task == "orders.webhooks_check")
    assert check.every_seconds == 6 * 3600
