"""Two syncs of one Billbee account started at the same moment: one runs, one is refused.

Needs concurrent writers on separate connections: PostgreSQL (CI's second pass).
"""

import threading

import pytest
from django.db import connection as db_connection
from django.db import connections

from orders.models import Order, SyncRun
from orders.services import SyncAlreadyRunning, orders_sync
from tests.orders_factories import BillbeeAccountFactory, FakeBillbee, billbee_order

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        db_connection.vendor != "postgresql", reason="needs PostgreSQL (CI's second pass)"
    ),
]


def test_two_syncs_started_at_once_page_only_once():
    account = BillbeeAccountFactory()
    billbee = FakeBillbee(page_size_cap=2)
    billbee.put(*[billbee_order() for _ in range(6)])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    one_finished = threading.Event()
    # Whoever reaches page 1 first holds it until the other attempt is over, so the two
    # syncs really overlap.
    billbee.before_page[1] = lambda fake: one_finished.wait(timeout=30)

    def sync():
        try:
            barrier.wait()
            orders_sync(account=account, client=billbee)
            outcomes.append("ran")
        except SyncAlreadyRunning:
            outcomes.append("refused")
        finally:
            one_finished.set()
            connections.close_all()

    threads = [threading.Thread(target=sync) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["ran", "refused"]
    assert SyncRun.objects.get().status == SyncRun.Status.SUCCEEDED
    assert Order.objects.count() == 6
