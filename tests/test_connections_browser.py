"""The connection screens in a real browser, against the running app and the sandbox sevDesk."""

import re

import pytest
from playwright.sync_api import expect

from accounts_mapping.models import AccountAssignment, RevenueAccountAssignment
from connections.models import Connection
from sandbox.sevdesk.models import CheckAccount
from sandbox.sevdesk.services import sandbox_account_create
from tests.browser import log_in
from tests.orders_factories import OrderFactory, ShopFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOOD_TOKEN = "5e1f0c4a9b8d7e6f5a4b3c2d1e0f3f9a"
WRONG_TOKEN = "ffffffffffffffffffffffffffffffff"


def test_merchant_sets_up_a_connection_with_an_offline_account_for_paypal(
    browser_page, settings, membership
):
    page, base_url = browser_page
    settings.SEVDESK_API_BASE_URL = f"{base_url}/sandbox/sevdesk/api/v1"
    settings.SEVDESK_REQUESTS_PER_SECOND = None
    sandbox_account_create(name="Beispiel GmbH", token=GOOD_TOKEN)
    merchant = membership.merchant
    ShopFactory(merchant=merchant, name="Mein Shopify-Shop")
    OrderFactory(merchant=merchant, payment_method=3)  # PayPal seen in the orders: listed first
    log_in(page, base_url, membership.user.username, "correct horse battery")

    # Properties and API with a wrong token: saved, but sevDesk refuses it.
    page.goto(f"{base_url}/connections/new/")
    page.get_by_label("Name", exact=True).fill("Hauptshop")
    page.get_by_label("Startdatum").fill("2026-01-01")
    page.get_by_label("Mein Shopify-Shop").check()
    page.get_by_label("Zahlung erhalten").check()
    page.get_by_label("Versendet").check()
    page.get_by_role("tab", name="API").click()
    page.get_by_label("API Key").fill(WRONG_TOKEN)
    page.get_by_role("button", name="Speichern").click()
    expect(
        page.get_by_text("Beim Laden dieser Verbindung ist ein Fehler aufgetreten")
    ).to_be_visible()
    expect(page.get_by_role("tab", name="Kontozuweisung")).to_have_count(0)

    # The right token: "Verbindung testen" reaches sevDesk and saves nothing; the start date
    # typed meanwhile is not live either.
    page.get_by_role("tab", name="Eigenschaften").click()
    page.get_by_label("Startdatum").fill("2020-01-01")
    page.get_by_role("tab", name="API").click()
    page.get_by_label("API Key").fill(GOOD_TOKEN)
    page.get_by_role("button", name="Verbindung testen").click()
    expect(page.get_by_text("Mit sevDesk verbunden")).to_be_visible()
    expect(page.get_by_text("Nur getestet: Es wurde nichts gespeichert.")).to_be_visible()
    expect(page.get_by_role("tab", name="Kontozuweisung")).to_have_count(0)
    stored = Connection.objects.get()
    assert stored.api_token == WRONG_TOKEN and stored.start_date.isoformat() == "2026-01-01"

    # "Speichern" stores what is in the form; the saved token reached sevDesk: third tab.
    page.get_by_role("tab", name="Eigenschaften").click()
    page.get_by_label("Startdatum").fill("2026-01-01")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_text("Die Verbindung wurde gespeichert.")).to_be_visible()
    page.get_by_role("tab", name="Kontozuweisung").click()

    # A new offline account, created from the screen, receives PayPal's payments.
    page.locator("#new-offline-account summary").click()
    page.locator("#new-offline-account").get_by_label("Name").fill("PayPal (Billbee)")
    page.get_by_label("Buchungskonto").fill("1361")
    page.get_by_role("button", name="Offline-Konto anlegen").click()
    expect(
        page.get_by_text("Offline-Konto „PayPal (Billbee)“ in sevDesk angelegt.")
    ).to_be_visible()
    page.get_by_role("tab", name="Kontozuweisung").click()
    page.select_option("#id_method_3", label="PayPal (Billbee) (1361)")
    page.locator("#save-assignments").click()
    expect(page.get_by_text("Die Kontozuweisung wurde gespeichert.")).to_be_visible()

    # Reload: everything is as set.
    page.reload()
    page.get_by_role("tab", name="Eigenschaften").click()
    expect(page.locator("#connection-form").get_by_label("Name", exact=True)).to_have_value(
        "Hauptshop"
    )
    expect(page.get_by_label("Versendet")).to_be_checked()
    page.get_by_role("tab", name="Kontozuweisung").click()
    new_account = CheckAccount.objects.get(name="PayPal (Billbee)")
    expect(page.locator("#id_method_3")).to_have_value(str(new_account.pk))
    bank = page.locator("#id_method_3 option", has_text="Geschäftskonto")
    expect(bank).to_be_disabled()
    expect(page.locator("body")).not_to_contain_text(GOOD_TOKEN)
    connection = Connection.objects.get()
    assert connection.status == Connection.Status.OK
    assert re.fullmatch(r"[0-9a-f]{32}", connection.api_token)
    assignment = AccountAssignment.objects.get(connection=connection)
    assert (assignment.payment_method, assignment.check_account_id) == (3, new_account.pk)

    # Revenue accounts: read from sevDesk when the token was accepted, 4400 for 19 %; shipping
    # at 19 % gets its own account, kept after a reload.
    page.get_by_role("tab", name="Kontozuweisung").click()
    revenue = page.locator("#erloeskonten")
    expect(revenue.get_by_role("heading", name="Erlöskonten")).to_be_visible()
    goods_19 = revenue.locator('select[name="revenue:goods:1:19.00"]')
    expect(goods_19.locator("option:checked")).to_have_text("4400 Erlöse 19 % USt")
    revenue.locator('select[name="revenue:shipping:1:19.00"]').select_option(
        label="4400 Erlöse 19 % USt"
    )
    page.get_by_role("button", name="Erlöskonten speichern").click()
    expect(page.get_by_text("Die Erlöskonten wurden gespeichert.")).to_be_visible()
    page.reload()
    page.get_by_role("tab", name="Kontozuweisung").click()
    shipping_19 = page.locator('select[name="revenue:shipping:1:19.00"]')
    expect(shipping_19.locator("option:checked")).to_have_text("4400 Erlöse 19 % USt")
    shipping = RevenueAccountAssignment.objects.get(connection=connection, kind="shipping")
    assert (shipping.tax_rule, shipping.account_number) == (1, "4400")
