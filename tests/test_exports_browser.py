"""The manual export in a real browser: choose orders, confirm with tagging, watch progress."""

import threading
import time

import pytest
from django.db import connections
from playwright.sync_api import expect

from accounts_mapping.models import AccountAssignment
from connections.models import Connection
from exports import views as export_views
from exports.tasks import run_manual
from orders.models import BillbeeAccount, Order, Shop
from orders.services import orders_sync
from sandbox.billbee.models import SandboxOrder
from sandbox.billbee.services import account_get_or_create, orders_generate
from sandbox.sevdesk.models import CheckAccount, Voucher
from sandbox.sevdesk.services import sandbox_account_create
from tests.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TOKEN = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"


def worker_thread(run_id: int) -> None:
    """Stands in for the Celery worker: picks the run up a moment later, as a worker would
    (the run's one task per order runs where it is sent: `eager_tasks`)."""

    def work():
        time.sleep(1)
        try:
            run_manual(run_id)
        finally:
            connections.close_all()

    threading.Thread(target=work, daemon=True).start()


def test_merchant_exports_chosen_orders_with_the_tag_and_watches_them_arrive(
    browser_page, settings, membership, monkeypatch, eager_tasks
):
    page, base_url = browser_page
    settings.BILLBEE_API_BASE_URL = f"{base_url}/sandbox/billbee/api/v1"
    settings.SEVDESK_API_BASE_URL = f"{base_url}/sandbox/sevdesk/api/v1"
    settings.SEVDESK_REQUESTS_PER_SECOND = None
    settings.SANDBOX_BILLBEE_THROTTLE = False
    merchant = membership.merchant
    billbee, _ = account_get_or_create(name="Browser Billbee")
    orders_generate(account=billbee, count=25, seed=3)
    account = BillbeeAccount.objects.create(
        merchant=merchant, api_key=billbee.api_key, username=billbee.username,
        api_password=billbee.api_password,
    )  # fmt: skip
    orders_sync(account=account)
    sevdesk = sandbox_account_create(name="Browser sevDesk", token=TOKEN)
    clearing = CheckAccount.objects.get(account=sevdesk, type="offline")
    connection = Connection.objects.create(
        merchant=merchant, name="Hauptshop", start_date="2000-01-01", order_states=[3, 4, 7],
        api_token=TOKEN, api_token_last4=TOKEN[-4:], status=Connection.Status.OK,
        bookkeeping_version="2.0", book_unassigned_as_standard=True,
    )  # fmt: skip
    connection.shops.set(Shop.objects.filter(merchant=merchant))
    AccountAssignment.objects.create(
        merchant=merchant, connection=connection, payment_method=None,
        check_account_id=clearing.pk, check_account_name=clearing.name,
    )  # fmt: skip
    chosen = list(
        Order.objects.filter(merchant=merchant, state__in=[3, 4, 7], paid_at__isnull=False)
        .exclude(invoice_number="")
        .filter(vat_mode__in=[0, 1, 3])
        .order_by("-order_date")[:2]
    )
    assert len(chosen) == 2
    monkeypatch.setattr(export_views.run_manual, "delay", worker_thread)
    log_in(page, base_url, membership.user.username, "correct horse battery")

    page.goto(f"{base_url}/orders/?paid=yes&invoice=yes")
    for order in chosen:
        page.check(f"input[name=order][value='{order.pk}']")
    page.get_by_role("button", name="An sevDesk exportieren").click()
    expect(page.get_by_label("Exportierte Bestellungen mit „sevDesk“ taggen")).to_be_checked()
    page.get_by_role("button", name="An sevDesk übertragen").click()

    expect(page.locator("body[data-run-finished=true]")).to_have_count(1, timeout=60_000)
    expect(page.locator("#count-done")).to_have_text("2")
    expect(page.locator("#count-failed")).to_have_text("0")
    expect(page.locator("#run-status")).to_have_text("Beendet")
    descriptions = set(
        Voucher.objects.filter(account=sevdesk).values_list("description", flat=True)
    )
    assert descriptions == {order.invoice_number for order in chosen}
    for order in chosen:
        assert "sevDesk" in SandboxOrder.objects.get(billbee_id=order.billbee_id).data["Tags"]
