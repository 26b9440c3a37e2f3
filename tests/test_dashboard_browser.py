"""The home page in a real browser after a real export: the counts are the export log's, each
tile opens the log filtered to its orders, and the page is usable on a phone."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from exports.models import OrderExport
from orders.models import BillbeeAccount
from sandbox.billbee.services import account_get_or_create, orders_generate
from sandbox.demo import demo_connection_setup
from sandbox.sevdesk.services import sandbox_account_create
from tests.browser import log_in
from tests.exports_fixtures import run_export

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def test_the_dashboard_counts_a_real_export_and_links_into_the_log(
    browser_page, settings, membership
):
    page, base_url = browser_page
    settings.BILLBEE_API_BASE_URL = f"{base_url}/sandbox/billbee/api/v1"
    settings.SEVDESK_API_BASE_URL = f"{base_url}/sandbox/sevdesk/api/v1"
    settings.SEVDESK_REQUESTS_PER_SECOND = None
    settings.SANDBOX_BILLBEE_THROTTLE = False
    merchant = membership.merchant
    billbee, _ = account_get_or_create(name="Dashboard Billbee")
    orders_generate(account=billbee, count=30, seed=5)
    account = BillbeeAccount.objects.create(
        merchant=merchant, api_key=billbee.api_key, username=billbee.username,
        api_password=billbee.api_password,
    )  # fmt: skip
    connection = demo_connection_setup(
        account=account, sevdesk=sandbox_account_create(name="Dashboard sevDesk")
    )
    run_export(connection)
    exported = OrderExport.objects.filter(
        connection=connection, status__in=OrderExport.FINISHED, document=None
    ).count()
    assert exported > 0

    log_in(page, base_url, membership.user.username, "correct horse battery")
    page.goto(f"{base_url}/")
    panel = page.locator(f"#connection-{connection.pk}")
    expect(panel.locator(".state-active")).to_have_text("aktiv")
    tile = panel.locator('[data-outcome="exported"]')
    expect(tile.locator(".tile-today strong")).to_have_text(str(exported))
    expect(page.locator("#first-steps")).to_have_count(0)
    if os.environ.get("SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "dashboard-1280.png"), full_page=True)

    tile.locator(".tile-today").click()
    rows = page.locator("#export-log tbody tr")
    expect(rows).to_have_count(exported)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base_url}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=str(SCREENSHOTS / "dashboard-390.png"), full_page=True)
