"""Minutes, not hours, with the real parts: a Celery worker through Redis, PostgreSQL, both
sandboxes over HTTP. An order invoiced in the sandbox Billbee → its signed webhook → our
receiver → the account's sync → the export at once → voucher and payment in the sandbox
sevDesk. No timing assertion beyond a generous timeout (figures: bench/latency.py)."""

import time
from datetime import date

import pytest
from django.conf import settings
from django.db import connection as db_connection

from accounts_mapping.models import AccountAssignment
from billbee_sevdesk.celery import app as celery_app
from connections.models import Connection
from exports.models import OrderExport
from orders.models import BillbeeAccount, Order, Shop, SyncRun, WebhookDelivery
from orders.tasks import sync_account
from orders.webhooks import webhook_enable
from sandbox.billbee.models import SandboxWebhook
from sandbox.billbee.services import account_get_or_create, order_invoice_issue, orders_generate
from sandbox.sevdesk.models import CheckAccount, Voucher, VoucherPayment
from sandbox.sevdesk.services import sandbox_account_create
from tests.test_end_to_end import wait_for
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
TOKEN = "f1f1f1f1e2e2e2e2d3d3d3d3c4c4c4c4"


def test_an_invoiced_order_reaches_sevdesk_through_the_webhook(live_server, membership, settings):
    settings.SITE_URL = live_server.url
    settings.BILLBEE_API_BASE_URL = f"{live_server.url}/sandbox/billbee/api/v1"
    settings.SEVDESK_API_BASE_URL = f"{live_server.url}/sandbox/sevdesk/api/v1"
    merchant = membership.merchant
    billbee, _ = account_get_or_create(name="Webhook Billbee")
    orders_generate(account=billbee, count=30, seed=17)
    waiting = billbee.orders.filter(paid_at__isnull=False, invoice_date__isnull=True).first()
    assert waiting is not None, "the generator made no paid order without an invoice"
    sevdesk = sandbox_account_create(name="Webhook sevDesk", token=TOKEN)
    clearing = CheckAccount.objects.get(account=sevdesk, type="offline")
    account = BillbeeAccount.objects.create(
        merchant=merchant, api_key=billbee.api_key, username=billbee.username,
        api_password=billbee.api_password,
    )  # fmt: skip
    queue = f"webhooks-{time.monotonic_ns()}"
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    worker = start_worker(
        queue,
        SITE_URL=live_server.url,
        BILLBEE_API_BASE_URL=settings.BILLBEE_API_BASE_URL,
        SEVDESK_API_BASE_URL=settings.SEVDESK_API_BASE_URL,
        CELERY_TASK_DEFAULT_QUEUE=queue,
    )
    try:
        sync_account.delay(account.pk)
        wait_for(
            lambda: SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).exists(),
            "the first sync",
            worker,
        )
        connection = Connection.objects.create(
            merchant=merchant, name="Echtzeit", start_date=date(2000, 1, 1),
            order_states=list(range(1, 20)), api_token=TOKEN, api_token_last4=TOKEN[-4:],
            status=Connection.Status.OK, bookkeeping_version="2.0",
            book_unassigned_as_standard=True,
        )  # fmt: skip
        connection.shops.set(Shop.objects.filter(merchant=merchant))
        AccountAssignment.objects.create(
            merchant=merchant, connection=connection, payment_method=None,
            check_account_id=clearing.pk, check_account_name=clearing.name,
        )  # fmt: skip
        account.refresh_from_db()
        webhook_enable(account=account)
        assert SandboxWebhook.objects.filter(account=billbee).exists()

        order_invoice_issue(order=waiting)  # the shop invoices it: Billbee notifies us

        def booked() -> bool:
            order = Order.objects.filter(merchant=merchant, billbee_id=waiting.billbee_id).first()
            export = (
                OrderExport.objects.filter(order=order, document=None).first() if order else None
            )
            return export is not None and export.status == OrderExport.Status.PAID

        wait_for(booked, "the voucher after the webhook", worker, timeout=150)
    finally:
        celery_app.conf.task_default_queue = default_queue
        worker.terminate()
        worker.wait(timeout=20)

    assert WebhookDelivery.objects.filter(account=account).exists()
    order = Order.objects.get(merchant=merchant, billbee_id=waiting.billbee_id)
    export = OrderExport.objects.get(order=order, document=None)
    voucher = Voucher.objects.get(account=sevdesk, pk=export.voucher_id)
    assert voucher.description == order.invoice_number
    assert voucher.status == Voucher.Status.PAID
    assert VoucherPayment.objects.filter(voucher=voucher).exists()
