"""The order sync end to end: our client over real HTTP against the sandbox Billbee."""

import hashlib

import pytest

from orders.models import Order, SyncRun
from orders.services import billbee_account_save, invoice_pdf_fetch, orders_sync
from sandbox.billbee.models import SandboxOrder
from sandbox.billbee.services import account_get_or_create, orders_generate, orders_mutate
from tests.factories import MerchantAccountFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox_account():
    account, _created = account_get_or_create(name="Sync test")
    return account


@pytest.fixture
def account(sandbox_account, live_server, settings):
    settings.BILLBEE_API_BASE_URL = f"{live_server.url}/sandbox/billbee/api/v1"
    return billbee_account_save(
        merchant=MerchantAccountFactory(),
        username=sandbox_account.username,
        api_key=sandbox_account.api_key,
        api_password=sandbox_account.api_password,
    )


def mirrored(account) -> dict[int, int]:
    orders = Order.objects.for_merchant(account.merchant)
    return dict(orders.values_list("billbee_id", "state"))


def in_sandbox(sandbox_account) -> dict[int, int]:
    return dict(sandbox_account.orders.values_list("billbee_id", "state"))


def test_full_then_incremental_sync_mirrors_the_sandbox_exactly(sandbox_account, account):
    orders_generate(account=sandbox_account, count=520, seed=7)

    first = orders_sync(account=account)
    changed = orders_mutate(account=sandbox_account, count=40, seed=8)
    second = orders_sync(account=account)

    assert first.status == second.status == SyncRun.Status.SUCCEEDED
    assert first.pages_done == 3 and first.orders_created + first.orders_rejected == 520
    assert mirrored(account) == in_sandbox(sandbox_account)
    assert second.orders_created == 0
    assert second.orders_updated >= len(changed)
    assert second.orders_updated < 520  # only the window since the cursor, not everything


def test_mirrored_amounts_items_and_invoices_match_the_sandbox_documents(sandbox_account, account):
    orders_generate(account=sandbox_account, count=30, seed=3)

    orders_sync(account=account)

    for row in SandboxOrder.objects.filter(account=sandbox_account)[:30]:
        order = Order.objects.for_merchant(account.merchant).get(billbee_id=row.billbee_id)
        assert str(order.raw["TotalCost"]) == str(row.data["TotalCost"])
        assert order.items.count() == len(row.data.get("OrderItems") or [])
        assert order.has_invoice == (row.invoice_date is not None)


def test_invoice_pdf_is_fetched_from_the_sandbox_once_and_stored_with_its_hash(
    sandbox_account, account
):
    orders_generate(account=sandbox_account, count=20, seed=5)
    orders_sync(account=account)
    order = next(o for o in Order.objects.for_merchant(account.merchant) if o.has_invoice)

    document = invoice_pdf_fetch(order=order)
    again = invoice_pdf_fetch(order=order)

    content = document.file.open("rb").read()
    assert content.startswith(b"%PDF")
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.file.name.startswith(f"invoices/{account.merchant_id}/")
    assert again.pk == document.pk and again.fetched_at == document.fetched_at
