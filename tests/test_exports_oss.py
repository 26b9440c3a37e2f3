"""OSS distance sales through the whole export: never sent, "needs action", counted."""

from decimal import Decimal

import pytest
from django.urls import reverse

from exports.models import OrderExport
from sandbox.sevdesk.models import Voucher
from tests.exports_fixtures import invoiced_order, run_export

D = Decimal
OSS_GERMAN = "Handlungsbedarf: OSS-Fernverkauf – sevDesk erlaubt OSS-Steuerregeln nicht für Belege."


@pytest.mark.parametrize(("rate", "gross"), [("20", "120.00"), ("5.5", "105.50"), ("9", "109.00")])
def test_a_distance_sale_is_never_sent_and_needs_action_with_the_oss_message(
    connection, merchant, shop, sevdesk_account, sandbox_http, rate, gross
):
    # an Austrian / French / Dutch consumer: Billbee's regular rate is the buyer's country's
    order = invoiced_order(
        merchant, shop, 1, tax_rate_regular=D(rate), total_gross=D(gross), paid_amount=D(gross)
    )
    order.items.update(tax_amount=D(gross) * D(rate) / (100 + D(rate)))

    run_export(connection)

    export = OrderExport.objects.get(order=order)
    assert export.status == OrderExport.Status.NEEDS_ACTION
    assert export.problem == OrderExport.Problem.OSS
    assert export.message.startswith(OSS_GERMAN)
    assert "OSS" in export.hint
    assert not Voucher.objects.filter(account=sevdesk_account).exists()
    assert not [r for r in sandbox_http.sent if r.method in ("POST", "PUT")]


def test_billbees_distance_sale_tag_is_an_oss_sale_even_at_19_percent(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop, 1, tags=["Fernverkauf"])

    run_export(connection)

    export = OrderExport.objects.get(order=order)
    assert (export.status, export.problem) == (
        OrderExport.Status.NEEDS_ACTION,
        OrderExport.Problem.OSS,
    )
    assert not Voucher.objects.filter(account=sevdesk_account).exists()


def test_the_export_log_counts_oss_sales_and_open_payments(
    connection, merchant, shop, sevdesk_account, member_client
):
    invoiced_order(merchant, shop, 1, tax_rate_regular=D(20), total_gross=D("120.00"))
    invoiced_order(merchant, shop, 2, payment_method=6)  # a gift card: no account assigned
    run_export(connection)

    page = member_client.get(reverse("exports:connection_export_log", args=[connection.pk]))

    html = page.content.decode()
    assert '<strong id="count-oss">1</strong>' in html
    assert '<strong id="count-payment-open">1</strong>' in html
    assert f'href="{connection.get_absolute_url()}?tab=accounts"' in html
