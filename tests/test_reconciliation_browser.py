"""The reconciliation in a real browser: from the export log to "Jetzt prüfen", watch it run
against the sandbox sevDesk (over HTTP), see the planted deviations, download the CSV."""

import csv
import datetime
import os
import threading
import time
from datetime import UTC
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import expect

from connections.models import Connection
from exports.models import OrderExport
from orders.models import BillbeeDocument
from reconciliation import views as reconciliation_views
from reconciliation.services import reconciliation_run
from sandbox.sevdesk.models import Voucher
from sandbox.sevdesk.services import sandbox_account_create
from tests.browser import log_in
from tests.orders_factories import OrderFactory, ShopFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TOKEN = "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"
D = Decimal
INVOICED = datetime.datetime(2026, 3, 2, 10, tzinfo=UTC)


def worker_thread(report_id: int) -> None:
    """Stands in for the Celery worker: picks the report up a moment later."""

    def work():
        time.sleep(1)
        try:
            reconciliation_run(report_id)
        finally:
            connections.close_all()

    threading.Thread(target=work, daemon=True).start()


def booked_invoice(connection, shop, number: int, voucher_id: int | None) -> None:
    """An invoice of March that our export booked as `voucher_id`."""
    merchant = connection.merchant
    order = OrderFactory(
        merchant=merchant, shop=shop, state=3, invoice_number=f"RE-2026-{number:04d}",
        invoice_date=INVOICED, paid_at=INVOICED, total_gross=D("119.00"),
        order_date=INVOICED,
    )  # fmt: skip
    BillbeeDocument.objects.create(
        merchant=merchant, order=order, billbee_order_id=order.billbee_id,
        type=BillbeeDocument.Type.INVOICE, number=order.invoice_number, invoice_date=INVOICED,
        currency="EUR", total_net=D("100.00"), total_gross=D("119.00"), vat_mode=0,
        positions=[{"total_gross": "119.00", "vat_rate": "19"}], synced_at=timezone.now(),
    )  # fmt: skip
    OrderExport.objects.create(
        merchant=merchant, connection=connection, order=order,
        status=OrderExport.Status.DONE, voucher_id=voucher_id,
    )  # fmt: skip


def voucher(account, description: str, gross: str) -> Voucher:
    return Voucher.objects.create(
        account=account, description=description, voucher_date=datetime.date(2026, 3, 2),
        status=100, credit_debit="D", sum_gross=D(gross), sum_net=D(gross),
    )  # fmt: skip


def test_merchant_checks_a_month_and_downloads_the_deviations(
    browser_page, settings, membership, monkeypatch
):
    page, base_url = browser_page
    settings.SEVDESK_API_BASE_URL = f"{base_url}/sandbox/sevdesk/api/v1"
    settings.SEVDESK_REQUESTS_PER_SECOND = None
    merchant = membership.merchant
    account = sandbox_account_create(name="Browser sevDesk", token=TOKEN)
    shop = ShopFactory(merchant=merchant, name="Mein Shop")
    connection = Connection.objects.create(
        merchant=merchant, name="Hauptshop", start_date="2026-01-01", order_states=[3, 4, 7],
        api_token=TOKEN, api_token_last4=TOKEN[-4:], status=Connection.Status.OK,
        bookkeeping_version="2.0",
        payment_reconciliation=Connection.PaymentReconciliation.SEVDESK,
    )  # fmt: skip
    connection.shops.set([shop])
    booked_invoice(connection, shop, 1, voucher_id=987654)  # gone from sevDesk
    second = voucher(account, "RE-2026-0002", "119.00")
    voucher(account, "RE-2026-0002", "119.00")  # a duplicate
    booked_invoice(connection, shop, 2, voucher_id=second.pk)
    changed = voucher(account, "RE-2026-0003", "118.00")  # the amount differs
    booked_invoice(connection, shop, 3, voucher_id=changed.pk)
    agreeing = voucher(account, "RE-2026-0004", "119.00")
    booked_invoice(connection, shop, 4, voucher_id=agreeing.pk)
    monkeypatch.setattr(reconciliation_views.run_report, "delay", worker_thread)
    log_in(page, base_url, membership.user.username, "correct horse battery")

    page.goto(f"{base_url}/exports/connections/{connection.pk}/")
    page.get_by_role("link", name="Abstimmung mit sevDesk").click()
    expect(page.get_by_role("heading", name="Abstimmung", exact=True)).to_be_visible()
    page.fill("#id_month", "2026-03")
    page.get_by_role("button", name="Jetzt prüfen").click()

    expect(page.locator("body[data-report-finished=true]")).to_have_count(1, timeout=20_000)
    expect(page.locator("#report-status")).to_have_text("Erledigt")
    rows = page.locator("#reconciliation-rows tbody tr")
    expect(rows.nth(3)).to_have_attribute("data-number", "RE-2026-0004")  # flagged rows first
    expect(page.locator('tr[data-number="RE-2026-0001"]')).to_contain_text("Fehlt in sevDesk")
    expect(page.locator('tr[data-number="RE-2026-0002"]')).to_contain_text(
        "Mehrere Belege mit dieser Nummer"
    )
    expect(page.locator('tr[data-number="RE-2026-0003"]')).to_contain_text("Betrag weicht ab")
    expect(page.locator('tr[data-number="RE-2026-0004"]')).to_contain_text("stimmt überein")

    if os.environ.get("SCREENSHOTS"):  # the README's pictures (committed under docs/)
        shots = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "report-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(shots / "report-390.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("nur Abweichungen").check()
    expect(page.locator('tr[data-number="RE-2026-0004"]')).to_have_count(0)
    expect(rows).to_have_count(3)

    with page.expect_download() as download_info:
        page.click("#download-csv")
    download = download_info.value
    assert download.suggested_filename == "abstimmung-2026-03-01-2026-03-31.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    table = list(csv.DictReader(text.splitlines(), delimiter=";"))
    flags = {line["Nummer"]: line["Abweichungen"] for line in table}
    assert flags == {
        "RE-2026-0001": "Fehlt in sevDesk",
        "RE-2026-0002": "Mehrere Belege mit dieser Nummer",
        "RE-2026-0003": "Betrag weicht ab",
        "RE-2026-0004": "",
    }
    amounts = {line["Nummer"]: line["Brutto (sevDesk)"] for line in table}
    assert amounts["RE-2026-0003"] == "118,00"
