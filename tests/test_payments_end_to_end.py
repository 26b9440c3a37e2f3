"""Payments end to end: the sandbox Billbee records them, the sync mirrors them, the export
books each once in the sandbox sevDesk (both sides checked against the specs on the way).

Gift card at checkout, the rest paid by PayPal days later: the first sync and export book the
gift card as a part (the voucher is "partially paid", 750); the next sync brings the PayPal
payment and the next export books it as the full payment (1000).
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from accounts_mapping.models import AccountAssignment
from exports.models import OrderExport
from orders.models import Order, Shop
from orders.services import billbee_account_save, orders_sync
from sandbox.billbee.models import SandboxOrder
from sandbox.billbee.services import account_get_or_create, order_payment_add, orders_generate
from sandbox.sevdesk.models import CheckAccount, Voucher, VoucherPayment
from tests.connections_factories import ConnectionFactory
from tests.exports_fixtures import SANDBOX_TOKEN, run_export
from tests.factories import MerchantAccountFactory

D = Decimal
GIFT_CARD, PAYPAL = 6, 3


@pytest.fixture
def billbee(db, sandbox_http):
    sandbox, _created = account_get_or_create(name="Payments")
    orders_generate(account=sandbox, count=40, seed=11, start=datetime(2026, 10, 1, tzinfo=UTC))
    account = billbee_account_save(
        merchant=MerchantAccountFactory(),
        username=sandbox.username,
        api_key=sandbox.api_key,
        api_password=sandbox.api_password,
        sync_since=date(2026, 9, 1),
    )
    return sandbox, account


def gift_card_then_paypal(sandbox) -> SandboxOrder:
    """An invoiced order as Billbee holds it after a gift card paid part of it."""
    order = sandbox.orders.filter(invoice_date__isnull=False, data__VatMode=0).order_by("pk")[0]
    total = D(order.data["TotalCost"])
    gift = (total / 4).quantize(D("0.01"))
    order.data["Payments"] = []
    order.data["PaidAmount"] = "0"
    order.data["PaymentMethod"] = PAYPAL
    order.save()
    order_payment_add(
        order=order,
        amount=gift,
        payment_type=GIFT_CARD,
        when=order.paid_at,
        mark_paid=True,  # the shop marked it paid, as a marketplace order is
    )
    return order


def test_a_gift_card_then_a_later_paypal_payment_are_each_booked_once(
    billbee, sevdesk_account, sandbox_http
):
    sandbox, account = billbee
    order_in_billbee = gift_card_then_paypal(sandbox)
    orders_sync(account=account)
    merchant = account.merchant
    gift_account = CheckAccount.objects.create(
        account=sevdesk_account, name="Gutscheine", type="offline", accounting_number="1461"
    )
    paypal_account = CheckAccount.objects.get(
        account=sevdesk_account, type="offline", name__contains="PayPal"
    )
    connection = ConnectionFactory(
        merchant=merchant,
        shops=list(Shop.objects.for_merchant(merchant)),
        api_token=SANDBOX_TOKEN,
        api_token_last4=SANDBOX_TOKEN[-4:],
        order_states=list(range(1, 20)),
        start_date=date(2026, 1, 1),
    )
    for method, check_account in ((GIFT_CARD, gift_account), (PAYPAL, paypal_account)):
        AccountAssignment.objects.create(
            merchant=merchant,
            connection=connection,
            payment_method=method,
            check_account_id=check_account.pk,
            check_account_name=check_account.name,
        )
    mirrored = Order.objects.for_merchant(merchant).get(billbee_id=order_in_billbee.billbee_id)
    gross = D(order_in_billbee.data["TotalCost"]).quantize(D("0.01"))
    gift = mirrored.payments.get().amount.quantize(D("0.01"))

    run_export(connection, kind="manual", orders=[mirrored])

    export = OrderExport.objects.get(connection=connection, order=mirrored)
    voucher = Voucher.objects.get(account=sevdesk_account, pk=export.voucher_id)
    assert (voucher.status, voucher.paid_amount) == (750, gift)
    assert export.status == OrderExport.Status.VOUCHER_CREATED

    # three days later the customer pays the rest with PayPal; the next sync sees it
    order_payment_add(
        order=order_in_billbee,
        amount=gross - gift,
        payment_type=PAYPAL,
        when=order_in_billbee.paid_at + timedelta(days=3),
    )
    orders_sync(account=account)
    run_export(connection)

    voucher.refresh_from_db()
    assert (voucher.status, voucher.paid_amount) == (1000, gross)
    payments = VoucherPayment.objects.filter(voucher=voucher).order_by("id")
    assert [(p.check_account_id, p.amount, p.type) for p in payments] == [
        (gift_account.pk, gift, "N"),
        (paypal_account.pk, gross - gift, "FULL_PAYMENT"),
    ]
    export.refresh_from_db()
    assert export.status == OrderExport.Status.PAID

    run_export(connection)  # nothing new: nothing more booked
    assert VoucherPayment.objects.filter(voucher=voucher).count() == 2
