"""Credit notes end to end: the sandbox Billbee issues one, the syncs mirror the order and the
invoice list, the export books a voucher of its own and its refund in the sandbox sevDesk (both
sides' requests checked against the specs on the way).

An order is exported and paid; the customer returns one item and Billbee issues a credit note
for it with shipping. After the next sync the credit note is a voucher with the credited
amounts rate by rate, its refund booked once from the clearing account the payment went to;
the two vouchers together hold, per rate, what the merchant kept.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from accounts_mapping.models import AccountAssignment
from exports.models import OrderExport
from orders.models import BillbeeDocument, Order, Shop
from orders.services import billbee_account_save, documents_sync, orders_sync
from sandbox.billbee.invoices import credit_note_entry, invoice_list_entry
from sandbox.billbee.services import account_get_or_create, order_credit_note_issue, orders_generate
from sandbox.sevdesk.models import CheckAccount, Voucher, VoucherPayment
from sandbox.sevdesk.services import fault_inject
from tests.connections_factories import ConnectionFactory
from tests.exports_fixtures import SANDBOX_TOKEN, rate_limits_clear, run_export
from tests.factories import MerchantAccountFactory

D = Decimal
PAYPAL = 3


@pytest.fixture
def billbee(db, sandbox_http):
    sandbox, _created = account_get_or_create(name="Returns")
    orders_generate(account=sandbox, count=60, seed=21, start=datetime(2026, 10, 1, tzinfo=UTC))
    account = billbee_account_save(
        merchant=MerchantAccountFactory(),
        username=sandbox.username,
        api_key=sandbox.api_key,
        api_password=sandbox.api_password,
        sync_since=date(2026, 9, 1),
    )
    return sandbox, account


def a_two_item_paypal_order(sandbox):
    """An invoiced, fully paid PayPal order under normal VAT with two items and shipping."""
    for order in sandbox.orders.filter(invoice_date__isnull=False, paid_at__isnull=False):
        data = order.data
        items = [i for i in data["OrderItems"] if not i.get("IsCoupon")]
        if (
            data["VatMode"] == 0
            and len(items) == len(data["OrderItems"]) >= 2
            and D(data["ShippingCost"]) > 0
            and not D(data.get("AdjustmentCost") or 0)
        ):
            data["PaymentMethod"] = PAYPAL
            data["Payments"] = []
            data["PaidAmount"] = data["TotalCost"]
            order.save()
            return order
    pytest.fail("the generator made no suitable order")


def connection_for(merchant, check_account):
    connection = ConnectionFactory(
        merchant=merchant,
        shops=list(Shop.objects.for_merchant(merchant)),
        api_token=SANDBOX_TOKEN,
        api_token_last4=SANDBOX_TOKEN[-4:],
        order_states=list(range(1, 20)),
        start_date=date(2026, 1, 1),
    )
    AccountAssignment.objects.create(
        merchant=merchant,
        connection=connection,
        payment_method=PAYPAL,
        check_account_id=check_account.pk,
        check_account_name=check_account.name,
    )
    return connection


def sync(account):
    """Orders, then the invoice list; a minute later each time (Billbee's invoice throttle)."""
    rate_limits_clear()
    orders_sync(account=account)
    documents_sync(account=account)


def per_rate(voucher) -> dict[Decimal, Decimal]:
    sums: dict[Decimal, Decimal] = {}
    for position in voucher.positions.all():
        sums[position.tax_rate] = sums.get(position.tax_rate, D(0)) + position.sum_gross
    return sums


def test_a_returned_item_is_credited_rate_by_rate_and_refunded_once(
    billbee, sevdesk_account, sandbox_http
):
    sandbox, account = billbee
    in_billbee = a_two_item_paypal_order(sandbox)
    sync(account)
    merchant = account.merchant
    paypal = CheckAccount.objects.get(
        account=sevdesk_account, type="offline", name__contains="PayPal"
    )
    connection = connection_for(merchant, paypal)
    mirrored = Order.objects.for_merchant(merchant).get(billbee_id=in_billbee.billbee_id)
    run_export(connection, kind="manual", orders=[mirrored])
    invoice_export = OrderExport.objects.get(order=mirrored, document=None)
    assert invoice_export.status == OrderExport.Status.PAID, invoice_export.message
    invoice_voucher = Voucher.objects.get(pk=invoice_export.voucher_id)

    # the customer sends the first item back; Billbee credits it and the shipping
    order_credit_note_issue(order=in_billbee, items=[0], shipping=True)
    sync(account)
    note = BillbeeDocument.objects.get(type="creditnote")
    # the refund's answer is lost once: the refund must still be booked exactly once
    fault_inject(account=sevdesk_account, kind="lose_response", path_contains="bookAmount")
    run_export(connection)
    credit_export = OrderExport.objects.get(document=note)
    OrderExport.objects.filter(pk=credit_export.pk).update(next_attempt_at=None)
    run_export(connection)

    credit_export.refresh_from_db()
    assert credit_export.status == OrderExport.Status.PAID, credit_export.message
    credit_voucher = Voucher.objects.get(pk=credit_export.voucher_id)
    assert credit_voucher.description == note.number == f"{mirrored.invoice_number}-GS"
    # what Billbee lists, computed here from the sandbox's own documents
    invoice_entry = invoice_list_entry(in_billbee, include_positions=True)
    in_billbee.refresh_from_db()
    credit_entry = credit_note_entry(in_billbee, include_positions=True)
    assert credit_voucher.sum_gross == credit_entry["TotalGross"] < 0
    kept: dict[Decimal, Decimal] = {}
    for row in invoice_entry["Positions"][1:]:  # the items kept
        kept[row["VatRate"]] = kept.get(row["VatRate"], D(0)) + row["TotalGrossValue"]
    together = per_rate(invoice_voucher)
    for rate, amount in per_rate(credit_voucher).items():
        together[rate] = together.get(rate, D(0)) + amount
    assert {rate: total for rate, total in together.items() if total} == {
        D(rate).quantize(D("0.01")): D(total).quantize(D("0.01"))
        for rate, total in kept.items()
        if total
    }
    refunds = VoucherPayment.objects.filter(voucher=credit_voucher)
    assert [(r.check_account_id, r.amount) for r in refunds] == [
        (paypal.pk, credit_voucher.sum_gross)
    ]
    assert credit_voucher.status == Voucher.Status.PAID
    invoice_voucher.refresh_from_db()
    assert invoice_voucher.status == Voucher.Status.PAID  # never changed

    sync(account)
    run_export(connection)  # nothing new: nothing more booked
    assert VoucherPayment.objects.filter(voucher=credit_voucher).count() == 1
    for description in (mirrored.invoice_number, note.number):
        assert Voucher.objects.filter(account=sevdesk_account, description=description).count() == 1
