"""The order sync against a fake Billbee: idempotent, crash-safe, never losing an order."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from orders.billbee_client import BillbeeAuthenticationFailed, BillbeeTemporaryError, RejectedOrder
from orders.models import BillbeeAccount, Order, OrderItem, Payment, SyncRejection, SyncRun
from orders.services import (
    SyncAlreadyRunning,
    SyncRunLost,
    billbee_account_save,
    order_upsert,
    orders_sync,
    sync_run_start,
)
from tests.orders_factories import (
    BillbeeAccountFactory,
    FakeBillbee,
    SyncRunFactory,
    billbee_order,
    changed,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return BillbeeAccountFactory()


@pytest.fixture
def billbee():
    return FakeBillbee(page_size_cap=3)  # small pages, so a handful of orders spans pages


def _fail_once(exc):
    def hook(fake):
        raise exc

    return hook


def billbee_ids(account) -> list[int]:
    return sorted(Order.objects.for_merchant(account.merchant).values_list("billbee_id", flat=True))


def test_first_sync_mirrors_every_order_with_items_payments_and_shop(account, billbee):
    billbee.put(*[billbee_order() for _ in range(7)])

    run = orders_sync(account=account, client=billbee)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.pages_done, run.orders_created, run.orders_updated) == (3, 7, 0)
    assert billbee_ids(account) == sorted(billbee.orders)
    order = Order.objects.get(billbee_id=min(billbee.orders))
    assert order.shop.name == "Hauptshop"
    assert order.total_gross == Decimal("123.95000000")
    assert order.raw["TotalCost"] == "123.9500000000000000000000001"  # exact, as a string
    assert [item.sku for item in order.items.all()] == ["TK-1"]
    assert [payment.transaction_id for payment in order.payments.all()] == [
        f"PP-{order.billbee_id}"
    ]
    assert order.invoice_address["city"] == "Berlin"


def test_rerun_creates_no_duplicates_and_applies_changes(account, billbee):
    orders = [billbee_order() for _ in range(5)]
    billbee.put(*orders)
    first = orders_sync(account=account, client=billbee)
    later = timezone.now() + timedelta(minutes=1)
    billbee.put(changed(orders[0], at=later, state=4, tags=("Neu", "sevDesk"), items=()))

    second = orders_sync(account=account, client=billbee)

    assert billbee_ids(account) == sorted(o.billbee_id for o in orders)
    assert (second.orders_created, second.orders_updated) == (0, 1)
    updated = Order.objects.get(billbee_id=orders[0].billbee_id)
    assert (updated.state, updated.tags) == (4, ["Neu", "sevDesk"])
    assert not updated.items.exists()  # items are replaced, not appended
    assert OrderItem.objects.count() == 4 and Payment.objects.count() == 5
    assert first.window_from is None
    assert second.window_from == first.window_to - timedelta(minutes=10)


def test_crash_on_page_two_then_rerun_has_every_order_exactly_once(account, billbee):
    billbee.put(*[billbee_order() for _ in range(8)])
    billbee.before_page[2] = _fail_once(BillbeeTemporaryError("Billbee answered 503"))

    with pytest.raises(BillbeeTemporaryError):
        orders_sync(account=account, client=billbee)
    crashed = SyncRun.objects.get()
    cursor_after_crash = BillbeeAccount.objects.get().sync_cursor
    rerun = orders_sync(account=account, client=billbee)

    assert crashed.status == SyncRun.Status.FAILED
    assert (crashed.pages_done, crashed.resume_page) == (1, 2)
    assert "nicht erreichbar" in crashed.errors
    assert cursor_after_crash is None  # the failed run did not move it
    assert rerun.resumed_from == crashed and rerun.window_to == crashed.window_to
    assert [call["page"] for call in billbee.page_calls()] == [1, 2, 2, 3]
    assert billbee_ids(account) == sorted(billbee.orders)
    assert Order.objects.count() == 8 and OrderItem.objects.count() == 8


def test_dead_run_left_running_is_resumed_from_its_page_with_the_same_window(account, billbee):
    billbee.put(*[billbee_order() for _ in range(7)])
    opened = timezone.now() - timedelta(hours=1)
    dead = SyncRunFactory(
        account=account,
        started_at=opened,
        heartbeat_at=opened,
        window_to=opened,
        resume_page=3,
        pages_done=2,
    )

    run = orders_sync(account=account, client=billbee)

    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.FAILED and "unterbrochen" in dead.errors
    assert run.resumed_from == dead and run.status == SyncRun.Status.SUCCEEDED
    assert [call["page"] for call in billbee.page_calls()] == [3]
    account.refresh_from_db()
    assert account.sync_cursor == opened  # the original window's opening


def test_order_changed_while_paging_is_fetched_again_by_the_next_run(account, billbee, settings):
    settings.BILLBEE_SYNC_OVERLAP_MINUTES = 0  # the cursor alone must catch it
    orders = [billbee_order() for _ in range(6)]
    billbee.put(*orders)

    def change_first_order(fake):  # a merchant edits order 1 after page 1 was read
        fake.put(changed(orders[0], at=timezone.now(), state=7))

    billbee.before_page[2] = change_first_order
    first = orders_sync(account=account, client=billbee)
    assert Order.objects.get(billbee_id=orders[0].billbee_id).state == 3  # read before the edit

    orders_sync(account=account, client=billbee)

    assert Order.objects.get(billbee_id=orders[0].billbee_id).state == 7
    second_call = billbee.page_calls()[-1]
    assert second_call["modified_at_min"] <= first.started_at


def test_rejected_orders_are_recorded_not_dropped(account, billbee):
    billbee.put(billbee_order(), billbee_order())
    billbee.rejected = [
        RejectedOrder(billbee_id=424242, message="order 424242, field Currency: missing", raw={})
    ]

    run = orders_sync(account=account, client=billbee)

    assert (run.orders_created, run.orders_rejected) == (2, 1)
    assert "Bestellung 424242" in run.errors and "Currency: missing" in run.errors


def test_cursor_advances_only_when_the_whole_run_succeeded(account, billbee):
    billbee.put(*[billbee_order() for _ in range(4)])
    billbee.before_page[2] = _fail_once(BillbeeTemporaryError("timeout"))
    with pytest.raises(BillbeeTemporaryError):
        orders_sync(account=account, client=billbee)
    account.refresh_from_db()
    assert account.sync_cursor is None

    run = orders_sync(account=account, client=billbee)

    account.refresh_from_db()
    assert account.sync_cursor == run.window_to


def test_a_second_sync_while_one_is_running_is_refused(account, billbee):
    SyncRunFactory(account=account)  # alive: heartbeat just now

    with pytest.raises(SyncAlreadyRunning):
        orders_sync(account=account, client=billbee)

    assert billbee.calls == []
    assert SyncRun.objects.filter(status=SyncRun.Status.RUNNING).count() == 1


def test_the_database_refuses_a_second_running_run_even_when_two_starts_race(account, monkeypatch):
    SyncRunFactory(account=account)
    # The other process inserted its run right after our check for a running one.
    monkeypatch.setattr("orders.services._stale_run_interrupt", lambda account: None)

    with pytest.raises(SyncAlreadyRunning):
        sync_run_start(account=account)

    assert SyncRun.objects.count() == 1


def test_first_sync_asks_only_for_orders_since_the_start_date(account, billbee):
    account.sync_since = date(2026, 3, 1)
    account.save()
    old = billbee_order(created_at=datetime(2026, 2, 27, 12, tzinfo=UTC))
    new = billbee_order()
    billbee.put(old, new)

    orders_sync(account=account, client=billbee)

    assert billbee_ids(account) == [new.billbee_id]
    assert billbee.page_calls()[0]["min_order_date"].date() == date(2026, 3, 1)


def test_auth_failure_fails_the_run_and_marks_the_account(account, billbee):
    billbee.before_page[1] = _fail_once(BillbeeAuthenticationFailed("401"))

    with pytest.raises(BillbeeAuthenticationFailed):
        orders_sync(account=account, client=billbee)

    account.refresh_from_db()
    assert account.connection_status == BillbeeAccount.ConnectionStatus.FAILED
    assert "API-Passwort" in account.last_error
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED


def test_order_upsert_replaces_items_and_payments_of_one_order(account):
    original = billbee_order()
    order_upsert(merchant=account.merchant, billbee_order=original)

    order, created = order_upsert(
        merchant=account.merchant, billbee_order=changed(original, at=timezone.now(), payments=())
    )

    assert created is False
    assert order.items.count() == 1 and order.payments.count() == 0


def test_orders_of_two_merchants_with_the_same_billbee_id_stay_apart(account):
    other = BillbeeAccountFactory()
    shared = billbee_order()

    order_upsert(merchant=account.merchant, billbee_order=shared)
    order_upsert(merchant=other.merchant, billbee_order=shared)

    assert Order.objects.filter(billbee_id=shared.billbee_id).count() == 2


def test_billbee_secrets_are_encrypted_in_the_database(account):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT api_key, api_password FROM orders_billbeeaccount WHERE id = %s", [account.pk]
        )
        stored_key, stored_password = cursor.fetchone()

    assert account.api_key not in stored_key and account.api_password not in stored_password
    assert stored_key.startswith("gAAAA")  # a Fernet token
    assert BillbeeAccount.objects.get().api_key == account.api_key


def test_a_flood_of_rejected_orders_is_counted_in_full_but_listed_only_in_part(
    account, billbee, monkeypatch
):
    monkeypatch.setattr("orders.services.MAX_ERROR_LINES", 3)
    billbee.rejected = [RejectedOrder(billbee_id=n, message="bad", raw={}) for n in range(6)]

    run = orders_sync(account=account, client=billbee)

    assert run.orders_rejected == 6
    assert run.errors.splitlines()[:3] == [
        f"Bestellung {n} (Seite {n // 3 + 1}) konnte nicht gelesen werden: bad" for n in range(3)
    ]
    assert "nicht aufgeführt" in run.errors.splitlines()[3] and len(run.errors.splitlines()) == 4


def test_moving_the_start_date_back_makes_the_next_run_fetch_the_older_orders(account, billbee):
    account.sync_since = date(2026, 3, 1)
    account.save()
    old = billbee_order(created_at=datetime(2026, 2, 27, 12, tzinfo=UTC))
    billbee.put(old, billbee_order())
    orders_sync(account=account, client=billbee)

    account = billbee_account_save(
        merchant=account.merchant, username=account.username, sync_since=date(2026, 2, 1)
    )
    orders_sync(account=account, client=billbee)

    assert old.billbee_id in billbee_ids(account)
    assert billbee.page_calls()[-1]["modified_at_min"] is None


def test_moving_the_start_date_forward_keeps_the_cursor(account, billbee):
    orders_sync(account=account, client=billbee)
    cursor = BillbeeAccount.objects.get().sync_cursor

    billbee_account_save(
        merchant=account.merchant, username=account.username, sync_since=date(2026, 3, 1)
    )

    assert BillbeeAccount.objects.get().sync_cursor == cursor


def test_a_run_taken_over_as_stale_stops_without_storing_its_page(account, billbee):
    billbee.put(*[billbee_order() for _ in range(6)])

    def taken_over(fake):  # another process declared this run dead meanwhile
        SyncRun.objects.update(status=SyncRun.Status.FAILED)

    billbee.before_page[2] = taken_over

    with pytest.raises(SyncRunLost):
        orders_sync(account=account, client=billbee)

    assert len(billbee_ids(account)) == 3  # page 1 only; page 2 was rolled back
    assert SyncRun.objects.get().pages_done == 1


def test_a_refused_order_on_page_one_does_not_keep_later_pages_or_the_cursor_back(account, billbee):
    orders = [billbee_order() for _ in range(7)]
    orders[1] = changed(orders[1], at=orders[1].last_modified_at, currency="EURO")
    billbee.put(*orders)

    run = orders_sync(account=account, client=billbee)

    account.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED and run.pages_done == 3
    assert (run.orders_created, run.orders_rejected) == (6, 1)
    assert billbee_ids(account) == sorted(o.billbee_id for o in orders if o.currency == "EUR")
    assert account.sync_cursor == run.window_to
    rejection = SyncRejection.objects.get()
    assert rejection.billbee_order_id == str(orders[1].billbee_id)
    assert rejection.order_number == orders[1].order_number
    assert "Währung „EURO“" in rejection.reason
