"""The whole product with its real parts: a Celery worker process consuming through Redis,
PostgreSQL, and both sandboxes served over HTTP. Orders synced from the sandbox Billbee arrive
as vouchers with PDFs and payments in the sandbox sevDesk; the tagged ones carry the tag in
the sandbox Billbee."""

import time
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection as db_connection

from accounts_mapping.models import AccountAssignment
from billbee_sevdesk.celery import app as celery_app
from connections.models import Connection
from exports.models import ExportRun, OrderExport
from exports.services import export_run_create
from exports.tasks import run_connection, run_manual
from orders.models import BillbeeAccount, Order, Shop, SyncRun
from orders.tasks import sync_account
from sandbox.billbee.models import SandboxOrder
from sandbox.billbee.services import account_get_or_create, orders_generate
from sandbox.sevdesk.models import CheckAccount, Voucher, VoucherPayment
from sandbox.sevdesk.services import sandbox_account_create
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
TOKEN = "e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0"


def wait_for(condition, what: str, worker, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if worker.poll() is not None:
            pytest.fail(f"the worker died while waiting for {what}:\n{worker.stdout.read()}")
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def test_orders_travel_from_billbee_to_sevdesk_through_a_real_worker(live_server, membership):
    merchant = membership.merchant
    billbee, _ = account_get_or_create(name="E2E Billbee")
    orders_generate(account=billbee, count=40, seed=7)
    sevdesk = sandbox_account_create(name="E2E sevDesk", token=TOKEN)
    clearing = CheckAccount.objects.get(account=sevdesk, type="offline")
    account = BillbeeAccount.objects.create(
        merchant=merchant, api_key=billbee.api_key, username=billbee.username,
        api_password=billbee.api_password,
    )  # fmt: skip
    queue = f"e2e-{time.monotonic_ns()}"
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    worker = start_worker(
        queue,
        BILLBEE_API_BASE_URL=f"{live_server.url}/sandbox/billbee/api/v1",
        SEVDESK_API_BASE_URL=f"{live_server.url}/sandbox/sevdesk/api/v1",
        CELERY_TASK_DEFAULT_QUEUE=queue,
    )
    try:
        sync_account.delay(account.pk)
        wait_for(
            lambda: SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).exists(),
            "the Billbee sync",
            worker,
        )
        assert Order.objects.filter(merchant=merchant).count() == 40

        connection = Connection.objects.create(
            merchant=merchant, name="E2E", start_date=date(2000, 1, 1), order_states=[3, 4, 7],
            api_token=TOKEN, api_token_last4=TOKEN[-4:], status=Connection.Status.OK,
            bookkeeping_version="2.0",
        )  # fmt: skip
        connection.shops.set(Shop.objects.filter(merchant=merchant))
        AccountAssignment.objects.create(
            merchant=merchant, connection=connection, payment_method=None,
            check_account_id=clearing.pk, check_account_name=clearing.name,
        )  # fmt: skip
        connection.book_unassigned_as_standard = True
        connection.save()
        chosen = list(
            Order.objects.filter(merchant=merchant, state__in=[3, 4, 7], paid_at__isnull=False)
            .exclude(invoice_number="")
            .filter(vat_mode__in=[0, 1, 3])[:3]
        )
        assert chosen, "the generator made no invoiced, paid orders"
        manual = export_run_create(
            connection=connection, kind=ExportRun.Kind.MANUAL,
            order_ids=[o.pk for o in chosen], tag_orders=True,
        )  # fmt: skip
        run_manual.delay(manual.pk)
        wait_for(
            lambda: ExportRun.objects.get(pk=manual.pk).status == ExportRun.Status.FINISHED,
            "the manual export",
            worker,
        )
        run_connection.delay(connection.pk)
        wait_for(
            lambda: ExportRun.objects.filter(
                kind=ExportRun.Kind.SCHEDULED, status=ExportRun.Status.FINISHED
            ).exists(),
            "the scheduled export",
            worker,
        )
    finally:
        celery_app.conf.task_default_queue = default_queue
        worker.terminate()
        worker.wait(timeout=20)

    exported = OrderExport.objects.filter(connection=connection, status__in=OrderExport.FINISHED)
    assert exported.count() >= len(chosen)
    vouchers = {v.description: v for v in Voucher.objects.filter(account=sevdesk)}
    assert len(vouchers) == Voucher.objects.filter(account=sevdesk).count()  # no duplicates
    for export in exported.select_related("order"):
        voucher = vouchers[export.order.invoice_number]
        assert voucher.pk == export.voucher_id
        assert voucher.file.content.read(5) == b"%PDF-"
        assert voucher.sum_gross == export.order.total_gross.quantize(Decimal("0.01"))
        if export.status == OrderExport.Status.PAID:
            # each Billbee payment (a gift card and PayPal, say) booked once, adding up
            booked = VoucherPayment.objects.filter(voucher=voucher)
            assert booked.count() == max(export.order.payments.count(), 1)
            assert sum(p.amount for p in booked) == voucher.sum_gross
    for order in chosen:
        tags = SandboxOrder.objects.get(billbee_id=order.billbee_id).data["Tags"]
        assert "sevDesk" in tags
        order.refresh_from_db()
        assert "sevDesk" in order.tags
    assert not OrderExport.objects.filter(status=OrderExport.Status.IN_PROGRESS).exists()
