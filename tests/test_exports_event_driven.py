"""Minutes, not hours: an order a sync stores that is ready for a connection is handed to the
workers at once (on commit), one task per export; the scheduled run stays the net."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from exports import receivers
from exports.models import OrderExport
from orders.models import BillbeeDocument, Order, Shop
from orders.services import documents_sync, orders_sync
from tests.connections_factories import ConnectionFactory
from tests.orders_factories import BillbeeAccountFactory, FakeBillbee, billbee_order
from tests.test_billbee_documents import entry


@pytest.fixture
def dispatched(monkeypatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(receivers, "dispatch", sent.append)
    return sent


@pytest.fixture
def account(db):
    return BillbeeAccountFactory(sync_since=date(2026, 1, 1))


def connection_for(account, **changes):
    values = {
        "merchant": account.merchant,
        "shops": list(Shop.objects.for_merchant(account.merchant)),
        "order_states": [3, 4],
        "start_date": date(2026, 1, 1),
    }
    values.update(changes)
    return ConnectionFactory(**values)


def test_a_synced_order_ready_for_a_connection_is_dispatched_on_commit(
    account, dispatched, django_capture_on_commit_callbacks
):
    fake = FakeBillbee()
    fake.put(billbee_order(billbee_id=501))
    orders_sync(account=account, client=fake)  # the shop exists after a first sync
    connection = connection_for(account)
    fake.put(billbee_order(billbee_id=502, last_modified_at=timezone.now()))

    with django_capture_on_commit_callbacks(execute=True):
        orders_sync(account=account, client=fake)

    order = Order.objects.get(billbee_id=502)
    export = OrderExport.objects.get(connection=connection, order=order)
    assert export.pk in dispatched
    assert export.status == OrderExport.Status.PENDING


@pytest.mark.parametrize(
    "connection_changes",
    [
        {"order_states": [7]},  # not in one of its states
        {"is_active": False},
        {"token_rejected_at": timezone.now()},
        {"paused_until": timezone.now() + timedelta(minutes=5)},
    ],
)
def test_nothing_is_dispatched_for_an_order_a_connection_does_not_take_now(
    connection_changes, account, dispatched, django_capture_on_commit_callbacks
):
    fake = FakeBillbee()
    fake.put(billbee_order(billbee_id=511))
    orders_sync(account=account, client=fake)
    connection_for(account, **connection_changes)
    fake.put(billbee_order(billbee_id=512, last_modified_at=timezone.now()))

    with django_capture_on_commit_callbacks(execute=True):
        orders_sync(account=account, client=fake)

    assert dispatched == []
    assert not OrderExport.objects.exists()


def test_an_order_without_a_payment_date_waits_for_the_next_change(
    account, dispatched, django_capture_on_commit_callbacks
):
    fake = FakeBillbee()
    fake.put(billbee_order(billbee_id=521))
    orders_sync(account=account, client=fake)
    connection_for(account)
    fake.put(billbee_order(billbee_id=522, paid_at=None, last_modified_at=timezone.now()))

    with django_capture_on_commit_callbacks(execute=True):
        orders_sync(account=account, client=fake)

    assert dispatched == []


def test_a_credit_note_read_from_the_invoice_list_is_dispatched(
    account, dispatched, django_capture_on_commit_callbacks
):
    fake = FakeBillbee()
    fake.put(billbee_order(billbee_id=1001))
    orders_sync(account=account, client=fake)
    connection = connection_for(account)
    fake.documents = [
        entry(
            "RE-1001-GS",
            type="creditnote",
            billbee_order_id=1001,
            invoice_date=timezone.now(),
            total_gross=Decimal("-0.99"),
        )
    ]

    with django_capture_on_commit_callbacks(execute=True):
        documents_sync(account=account, client=fake)

    note = BillbeeDocument.objects.get(type="creditnote")
    export = OrderExport.objects.get(connection=connection, document=note)
    assert export.pk in dispatched


def test_an_export_waiting_for_the_invoice_list_goes_when_its_entry_is_read(
    account, dispatched, django_capture_on_commit_callbacks
):
    fake = FakeBillbee()
    fake.put(billbee_order(billbee_id=1001))
    orders_sync(account=account, client=fake)
    connection = connection_for(account)
    order = Order.objects.get(billbee_id=1001)
    waiting = OrderExport.objects.create(
        merchant=account.merchant,
        connection=connection,
        order=order,
        status=OrderExport.Status.RETRY,
        problem=OrderExport.Problem.WAITING_FOR_INVOICE_LIST,
        next_attempt_at=timezone.now() + timedelta(minutes=2),
    )
    fake.documents = [entry("RE-1001", invoice_date=timezone.now())]

    with django_capture_on_commit_callbacks(execute=True):
        documents_sync(account=account, client=fake)

    waiting.refresh_from_db()
    assert waiting.next_attempt_at is None
    assert waiting.pk in dispatched
