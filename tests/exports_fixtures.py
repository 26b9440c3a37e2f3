"""Orders ready for export, a connection to the sandbox sevDesk, and a run helper."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts_mapping.models import AccountAssignment
from connections.sevdesk_client import CheckAccount as ClientCheckAccount
from core import ratelimit
from exports import delivery
from exports.models import ExportRun
from exports.services import export_run_create, export_run_execute
from orders.models import InvoiceDocument, OrderItem
from sandbox.billbee.pdf import pdf_document
from sandbox.sevdesk.models import CheckAccount
from sandbox.sevdesk.services import sandbox_account_create
from tests.connections_factories import ConnectionFactory
from tests.orders_factories import OrderFactory, ShopFactory

SANDBOX_TOKEN = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
PAYPAL = 3
PAID_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
INVOICED_AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def sevdesk_account(db):
    return sandbox_account_create(name="Beispiel GmbH", token=SANDBOX_TOKEN)


@pytest.fixture
def offline_account(sevdesk_account):
    return CheckAccount.objects.get(account=sevdesk_account, type="offline")


@pytest.fixture
def shop(merchant):
    return ShopFactory(merchant=merchant, name="Mein Shopify-Shop")


@pytest.fixture
def connection(merchant, shop, offline_account, sandbox_http):
    connection = ConnectionFactory(
        merchant=merchant,
        shops=[shop],
        api_token=SANDBOX_TOKEN,
        api_token_last4=SANDBOX_TOKEN[-4:],
        order_states=[3, 4, 7],
        start_date=datetime(2026, 1, 1).date(),
    )
    AccountAssignment.objects.create(
        merchant=merchant,
        connection=connection,
        payment_method=PAYPAL,
        check_account_id=offline_account.pk,
        check_account_name=offline_account.name,
    )
    return connection


def invoiced_order(merchant, shop, number: int = 1, **overrides):
    """A paid PayPal order with one 19 % item and its invoice PDF stored."""
    values = {
        "merchant": merchant,
        "shop": shop,
        "state": 3,
        "invoice_number": f"RE-2026-{number:04d}",
        "invoice_date": INVOICED_AT,
        "paid_at": PAID_AT,
        "payment_method": PAYPAL,
        "total_gross": Decimal("119.00"),
        "paid_amount": Decimal("119.00"),
        "tax_rate_regular": Decimal(19),
        "tax_rate_reduced": Decimal(7),
        "order_date": datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    }
    values.update(overrides)
    order = OrderFactory(**values)
    OrderItem.objects.create(
        merchant=merchant,
        order=order,
        position=1,
        title="Teekanne",
        quantity=1,
        total_price=order.total_gross,
        tax_amount=Decimal("19.00"),
        tax_index=1,
    )
    if order.invoice_number:
        invoice_pdf_store(order)
    return order


def sevdesk_check_account(account) -> ClientCheckAccount:
    """A sandbox check account as the sevDesk client reads it."""
    return ClientCheckAccount(
        id=account.pk,
        name=account.name,
        type=account.type,
        status=account.status,
        accounting_number=int(account.accounting_number),
        is_default=False,
    )


def rate_limits_clear() -> None:
    """Forget every pause and backoff the clients' shared limiter remembers (per process),
    and the payment accounts the export keeps for a few minutes."""
    ratelimit.limiter_reset()
    delivery._check_accounts_cache.clear()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    rate_limits_clear()
    yield
    rate_limits_clear()


@pytest.fixture
def eager_tasks():
    """Tasks run where they are sent (the wiring between tasks is under test)."""
    from billbee_sevdesk.celery import app

    before = {
        "task_always_eager": app.conf.task_always_eager,
        "task_eager_propagates": app.conf.task_eager_propagates,
    }
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    app.conf.update(**before)


def invoice_pdf_store(order) -> None:
    """The invoice PDF as the Billbee sync stores it."""
    pdf = pdf_document([(f"Rechnung {order.invoice_number}", 14)], title="Rechnung")
    document = InvoiceDocument(
        merchant=order.merchant,
        order=order,
        invoice_number=order.invoice_number,
        sha256="0" * 64,
        fetched_at=timezone.now(),
    )
    document.file.save(f"{order.invoice_number}.pdf", ContentFile(pdf), save=True)


def run_export(connection, *, kind=ExportRun.Kind.SCHEDULED, orders=(), tag=False):
    run = export_run_create(
        connection=connection, kind=kind, order_ids=[o.pk for o in orders], tag_orders=tag
    )
    return export_run_execute(run=run)
