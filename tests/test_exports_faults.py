"""The export engine under faults, with its real parts: Celery worker processes consuming
through Redis, PostgreSQL, and the sandbox sevDesk served over HTTP.

300 orders; three of them fail for ever (sevDesk answers 500 to their vouchers), sevDesk
answers bursts of 500s to everyone, and one worker is killed with SIGKILL in the middle of the
run. At the end every other order is exactly one voucher with one payment, the three are
"needs action" with their message, no run is "running" and no export "in progress".
"""

import signal
import time
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.db import connection as db_connection
from django.utils import timezone

from accounts_mapping.models import AccountAssignment
from billbee_sevdesk.celery import app as celery_app
from connections.models import Connection
from exports.models import ExportRun, OrderExport
from exports.tasks import reap, run_connection
from sandbox.sevdesk.models import CheckAccount, Voucher, VoucherPayment
from sandbox.sevdesk.services import fault_inject, sandbox_account_create
from tests.exports_fixtures import invoiced_order
from tests.orders_factories import ShopFactory
from tests.test_worker import start_worker

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("redis://")
        or db_connection.vendor != "postgresql",
        reason="needs REDIS_URL and a PostgreSQL DATABASE_URL (CI's second pass)",
    ),
]
TOKEN = "fa017fa017fa017fa017fa017fa017fa"
ORDERS = 300


def wait_for(condition, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def test_300_orders_through_failures_bursts_and_a_killed_worker(live_server, membership, tmp_path):
    merchant = membership.merchant
    shop = ShopFactory(merchant=merchant, name="Fehlershop")
    orders = [invoiced_order(merchant, shop, n) for n in range(1, ORDERS + 1)]
    doomed = {orders[n].invoice_number for n in (10, 150, 290)}
    sevdesk = sandbox_account_create(name="Fault sevDesk", token=TOKEN)
    clearing = CheckAccount.objects.get(account=sevdesk, type="offline")
    connection = Connection.objects.create(
        merchant=merchant, name="Faults", start_date=date(2026, 1, 1), order_states=[3, 4, 7],
        api_token=TOKEN, api_token_last4=TOKEN[-4:], status=Connection.Status.OK,
        bookkeeping_version="2.0",
    )  # fmt: skip
    connection.shops.set([shop])
    AccountAssignment.objects.create(
        merchant=merchant, connection=connection, payment_method=3,
        check_account_id=clearing.pk, check_account_name=clearing.name,
    )  # fmt: skip
    for number in doomed:  # for ever
        fault_inject(account=sevdesk, kind="http_500", count=10**6,
                     path_contains="saveVoucher", body_contains=number)  # fmt: skip
    fault_inject(account=sevdesk, kind="http_500", count=6, path_contains="saveVoucher")
    fault_inject(account=sevdesk, kind="http_500", count=6, path_contains="bookAmount")
    fault_inject(account=sevdesk, kind="lose_response", count=3, path_contains="saveVoucher")

    queue = f"faults-{time.monotonic_ns()}"
    environment = {
        "SEVDESK_API_BASE_URL": f"{live_server.url}/sandbox/sevdesk/api/v1",
        "SEVDESK_REQUESTS_PER_SECOND": "1000",
        "EXPORT_RETRY_DELAYS": "1,1,1,2,2,2,2",  # the real ones add up to a day
        "EXPORT_OUTAGE_PAUSES": "1,2",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),  # the invoice PDFs stored above
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    log = open(tmp_path / "workers.log", "wb")  # noqa: SIM115 - closed in the finally below
    workers = [
        start_worker(queue, name=f"w{n}", output=log, loglevel="WARNING", **environment)
        for n in (1, 2)
    ]
    try:
        run_connection.delay(connection.pk)
        wait_for(
            lambda: OrderExport.objects.filter(status__in=OrderExport.FINISHED).count() >= 60,
            "the first exports",
            timeout=120,
        )
        workers[0].send_signal(signal.SIGKILL)  # mid-run, whatever it was doing
        workers[0].wait(timeout=10)
        workers.append(
            start_worker(queue, name="w3", output=log, loglevel="WARNING", **environment)
        )
        # The killed worker's claim expires after the task's time limit; let that time pass.
        OrderExport.objects.filter(status=OrderExport.Status.IN_PROGRESS).update(
            claimed_at=timezone.now() - timedelta(minutes=10)
        )
        reap.delay()

        last_reap = [time.monotonic()]

        def settled() -> bool:
            open_ = OrderExport.objects.exclude(
                status__in=[*OrderExport.FINISHED, OrderExport.Status.NEEDS_ACTION]
            )
            # Time passes faster here: what a dead worker left looks old enough to the reaper.
            long_ago, quiet = (
                timezone.now() - timedelta(minutes=10),
                timezone.now() - timedelta(seconds=20),
            )
            OrderExport.objects.filter(
                status=OrderExport.Status.IN_PROGRESS, claimed_at__lt=quiet
            ).update(claimed_at=long_ago)
            OrderExport.objects.filter(
                status=OrderExport.Status.PENDING, updated_at__lt=quiet
            ).update(updated_at=long_ago)
            if time.monotonic() - last_reap[0] > 5:
                reap.delay()
                last_reap[0] = time.monotonic()
            return OrderExport.objects.count() == ORDERS and not open_.exists()

        wait_for(settled, "every export to settle", timeout=420)
    except BaseException:
        log.flush()
        print((tmp_path / "workers.log").read_text()[-6000:])
        print(list(OrderExport.objects.values_list("status", "problem", "message")[:20]))
        raise
    finally:
        celery_app.conf.task_default_queue = default_queue
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=20)
        log.close()

    descriptions = list(
        Voucher.objects.filter(account=sevdesk).values_list("description", flat=True)
    )
    expected = sorted(o.invoice_number for o in orders if o.invoice_number not in doomed)
    assert sorted(descriptions) == expected  # every other order exactly once
    assert VoucherPayment.objects.filter(voucher__account=sevdesk).count() == len(expected)
    for export in OrderExport.objects.select_related("order"):
        if export.order.invoice_number in doomed:
            assert export.status == OrderExport.Status.NEEDS_ACTION
            assert export.problem == OrderExport.Problem.TOO_MANY_ATTEMPTS
            assert "Internal Server Error" in export.message
        else:
            assert export.status == OrderExport.Status.PAID, (export.pk, export.message)
    assert not ExportRun.objects.filter(status=ExportRun.Status.RUNNING).exists()
    assert not OrderExport.objects.filter(status=OrderExport.Status.IN_PROGRESS).exists()
