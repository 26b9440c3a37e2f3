"""Two runs of one connection at the same time still export each order exactly once.

Needs a database with real row locking and concurrent writers: PostgreSQL (CI's second pass).
"""

import threading

import pytest
from django.db import connection as db_connection
from django.db import connections

from exports.models import ExportRun, OrderExport
from exports.models import ExportRun as Run
from exports.services import (
    _run_exports,
    export_deliver_by_id,
    export_run_create,
    export_run_execute,
)
from sandbox.sevdesk.models import Voucher, VoucherPayment
from tests.exports_fixtures import invoiced_order

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        db_connection.vendor != "postgresql", reason="needs PostgreSQL (CI's second pass)"
    ),
]


def in_parallel(*functions):
    barrier = threading.Barrier(len(functions))
    errors = []

    def run(function):
        try:
            barrier.wait()
            function()
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(f,)) for f in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def test_two_runs_started_at_once_export_each_order_once(
    connection, merchant, shop, sevdesk_account
):
    orders = [invoiced_order(merchant, shop, number) for number in range(1, 9)]
    runs = [export_run_create(connection=connection, kind=ExportRun.Kind.SCHEDULED) for _ in "ab"]

    in_parallel(*(lambda run=run: export_run_execute(run=run) for run in runs))

    statuses = sorted(ExportRun.objects.values_list("status", flat=True))
    assert statuses in (["finished", "stopped"], ["finished", "finished"])
    assert Voucher.objects.filter(account=sevdesk_account).count() == len(orders)
    assert VoucherPayment.objects.count() == len(orders)
    assert set(OrderExport.objects.values_list("status", flat=True)) == {"paid"}


def test_even_without_the_run_lease_claims_keep_two_workers_apart(
    connection, merchant, shop, sevdesk_account
):
    orders = [invoiced_order(merchant, shop, number) for number in range(1, 9)]
    run = export_run_create(connection=connection, kind=Run.Kind.SCHEDULED)
    export_ids = _run_exports(connection, run)

    # Every task delivered twice, to two workers at once.
    in_parallel(
        *(
            lambda: [export_deliver_by_id(export_id=export_id) for export_id in export_ids]
            for _ in "ab"
        )
    )

    descriptions = list(
        Voucher.objects.filter(account=sevdesk_account).values_list("description", flat=True)
    )
    assert sorted(descriptions) == sorted(order.invoice_number for order in orders)
    assert VoucherPayment.objects.count() == len(orders)
