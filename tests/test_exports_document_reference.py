"""The export books what Billbee's invoice list states for the invoice (the document mirror),
waits a little for the list where it is behind, and falls back to the order's lines where
Billbee lists nothing for the invoice."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from exports.models import OrderExport
from orders.models import BillbeeAccount, BillbeeDocument, OrderItem
from sandbox.sevdesk.models import Voucher
from tests.exports_fixtures import invoiced_order, run_export
from tests.orders_factories import BillbeeAccountFactory

D = Decimal


def two_rate_order(merchant, shop, **overrides):
    """119.00 at 19 % and 107.00 at 7 %, shipping 5.90 without a rate on the order."""
    order = invoiced_order(
        merchant,
        shop,
        total_gross=D("231.90"),
        paid_amount=D("231.90"),
        shipping_cost=D("5.90"),
        **overrides,
    )
    order.items.filter(position=1).update(total_price=D("119.00"), tax_amount=D("19.00"))
    OrderItem.objects.create(
        merchant=merchant,
        order=order,
        position=2,
        title="Tee",
        quantity=1,
        total_price=D("107.00"),
        tax_amount=D("7.00"),
        tax_index=2,
    )
    return order


def invoice_entry(order, **changes) -> BillbeeDocument:
    """Billbee's list entry: shipping is charged at 19 % (Billbee's fee, not split)."""
    values = {
        "merchant": order.merchant,
        "order": order,
        "billbee_order_id": order.billbee_id,
        "type": BillbeeDocument.Type.INVOICE,
        "number": order.invoice_number,
        "invoice_date": order.invoice_date,
        "currency": "EUR",
        "total_net": D("205.96"),
        "total_gross": D("231.90"),
        "vat_mode": 0,
        "positions": [
            {"billbee_id": None, "total_gross": "119.00", "total_vat": "19.00", "vat_rate": "19"},
            {"billbee_id": None, "total_gross": "107.00", "total_vat": "7.00", "vat_rate": "7"},
        ],
        "fees": [
            {"type": "ShipCost", "gross": "5.90", "net": "4.96", "vat": "0.94", "vat_rate": "19"}
        ],
        "synced_at": timezone.now(),
    }
    values.update(changes)
    return BillbeeDocument.objects.create(**values)


def gross_by_rate(voucher: Voucher) -> dict:
    sums: dict = {}
    for position in voucher.positions.all():
        sums[position.tax_rate] = sums.get(position.tax_rate, D(0)) + position.sum_gross
    return sums


def test_the_voucher_books_shipping_at_the_rate_billbees_invoice_states(
    connection, merchant, shop, sevdesk_account
):
    order = two_rate_order(merchant, shop)
    invoice_entry(order)

    run_export(connection)

    voucher = Voucher.objects.get(account=sevdesk_account)
    assert gross_by_rate(voucher) == {D("19.00"): D("124.90"), D("7.00"): D("107.00")}
    tax = {p.tax_rate: p.sum_tax for p in voucher.positions.all()}
    assert tax[D("19.00")] == D("19.94")  # 19.00 + 0.94, as the invoice states


def test_without_a_list_entry_the_orders_lines_split_shipping_by_the_goods(
    connection, merchant, shop, sevdesk_account
):
    two_rate_order(merchant, shop)  # the invoice list was never read

    run_export(connection)

    voucher = Voucher.objects.get(account=sevdesk_account)
    # 5.90 split 119 : 107 → 3.11 and 2.79
    assert gross_by_rate(voucher) == {D("19.00"): D("122.11"), D("7.00"): D("109.79")}


def test_an_invoice_newer_than_the_last_list_read_waits_without_using_an_attempt(
    connection, merchant, shop, sevdesk_account
):
    now = timezone.now()
    BillbeeAccountFactory(merchant=merchant, documents_synced_at=now - timedelta(minutes=5))
    order = two_rate_order(merchant, shop, invoice_date=now - timedelta(minutes=1))

    run_export(connection)

    export = OrderExport.objects.get(order=order)
    assert export.status == OrderExport.Status.RETRY
    assert export.attempt_count == 0
    assert "Rechnungsliste" in export.message
    assert not Voucher.objects.filter(account=sevdesk_account).exists()

    # the next read lists it: the export goes on with the invoice's figures
    BillbeeAccount.objects.filter(merchant=merchant).update(documents_synced_at=timezone.now())
    invoice_entry(order)
    OrderExport.objects.filter(pk=export.pk).update(next_attempt_at=now)
    run_export(connection)

    voucher = Voucher.objects.get(account=sevdesk_account)
    assert gross_by_rate(voucher) == {D("19.00"): D("124.90"), D("7.00"): D("107.00")}


def test_an_invoice_the_list_never_shows_is_booked_from_the_order_after_the_wait(
    connection, merchant, shop, sevdesk_account
):
    now = timezone.now()
    BillbeeAccountFactory(merchant=merchant, documents_synced_at=now - timedelta(hours=2))
    order = two_rate_order(merchant, shop, invoice_date=now - timedelta(hours=1))

    run_export(connection)

    assert OrderExport.objects.get(order=order).voucher_id is not None


def test_a_shipping_account_chosen_by_the_merchant_gets_its_own_position(
    connection, merchant, shop, sevdesk_account
):
    from accounts_mapping.models import RevenueAccountAssignment

    order = two_rate_order(merchant, shop)
    invoice_entry(order)
    run_export(connection)  # reads sevDesk's revenue guidance into the connection's accounts
    goods = RevenueAccountAssignment.objects.get(connection=connection, kind="goods", tax_rate=19)
    RevenueAccountAssignment.objects.create(
        merchant=merchant, connection=connection, tax_rule=1, tax_rate=19, kind="shipping",
        account_datev_id=goods.account_datev_id, account_number=goods.account_number,
        account_name=goods.account_name,
    )  # fmt: skip
    second = two_rate_order(merchant, shop, number=2)
    invoice_entry(second)

    run_export(connection)

    voucher = Voucher.objects.get(account=sevdesk_account, description=second.invoice_number)
    booked = sorted((p.comment, p.sum_gross) for p in voucher.positions.all())
    assert booked == [
        ("Umsatz 19 %", D("119.00")),
        ("Umsatz 7 %", D("107.00")),
        ("Versand 19 %", D("5.90")),
    ]
