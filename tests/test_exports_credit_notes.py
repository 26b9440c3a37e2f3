"""Credit notes: the books follow the money back. A Billbee credit note becomes a revenue
voucher of its own with negative positions on the original's revenue accounts, rate by rate,
and its refund is booked once, from the offline account the original payment went to.

Every test runs the real export against the in-process sandbox sevDesk (each request checked
against sevDesk's spec) and asserts what left and what sevDesk holds.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts_mapping.models import RevenueAccountAssignment
from exports.models import Booking, OrderExport
from orders.enums import ORDER_CANCELLED
from orders.models import BillbeeDocument, Payment
from sandbox.sevdesk.models import Voucher, VoucherPayment
from tests.exports_fixtures import invoiced_order, run_export

D = Decimal
REFUNDED_AT = datetime(2026, 3, 20, 14, 0, tzinfo=UTC)  # 20.03.2026, 15:00 in Berlin


def credit_note(order, *, gross="-59.50", vat="-9.50", pay_date=REFUNDED_AT, **changes):
    """Billbee's credit note for part of the order: one of two teapots back."""
    values = {
        "merchant": order.merchant,
        "order": order,
        "billbee_order_id": order.billbee_id,
        "type": BillbeeDocument.Type.CREDIT_NOTE,
        "number": f"{order.invoice_number}-GS",
        "invoice_date": REFUNDED_AT,
        "pay_date": pay_date,
        "currency": "EUR",
        "total_net": D(gross) - D(vat),
        "total_gross": D(gross),
        "vat_mode": 0,
        "payment_type_id": order.payment_method,
        "positions": [
            {"billbee_id": None, "total_gross": gross, "total_vat": vat, "vat_rate": "19"}
        ],
        "fees": [],
        "synced_at": timezone.now(),
    }
    values.update(changes)
    return BillbeeDocument.objects.create(**values)


def booked_order(connection, merchant, shop):
    order = invoiced_order(merchant, shop)
    run_export(connection)
    assert OrderExport.objects.get(order=order, document=None).status == OrderExport.Status.PAID
    return order


def bookings_sent(sandbox_http) -> list[dict]:
    return [
        json.loads(request.body)
        for request in sandbox_http.sent
        if "bookAmount" in request.url and request.method == "PUT"
    ]


def saves_sent(sandbox_http) -> list[dict]:
    return [
        json.loads(request.body)
        for request in sandbox_http.sent
        if request.url.endswith("/Voucher/Factory/saveVoucher")
    ]


def credit_note_export(document) -> OrderExport:
    return OrderExport.objects.get(document=document)


def test_a_partial_refund_is_a_voucher_of_its_own_with_the_credited_amounts_and_its_refund(
    connection, merchant, shop, sevdesk_account, offline_account, sandbox_http
):
    order = booked_order(connection, merchant, shop)
    invoice_voucher = Voucher.objects.get(account=sevdesk_account)
    note = credit_note(order)
    before = len(sandbox_http.sent)

    run_export(connection)

    export = credit_note_export(note)
    assert export.status == OrderExport.Status.PAID, export.message
    assert export.message == (
        f"Gutschrift RE-2026-0001-GS als Beleg {export.voucher_id} an sevDesk übertragen; "
        "Erstattung über 59,50 EUR gebucht."
    )
    (save,) = saves_sent_since(sandbox_http, before)
    voucher_head = save["voucher"]
    assert voucher_head["description"] == "RE-2026-0001-GS"
    assert voucher_head["creditDebit"] == "D" and voucher_head["voucherType"] == "VOU"
    assert voucher_head["taxRule"]["id"] == "1"
    (position,) = save["voucherPosSave"]
    assert position["sumGross"] == -59.5 and position["taxRate"] == 19
    invoice_account = invoice_voucher.positions.get().revenue_account.account_datev_id
    assert position["accountDatev"]["id"] == invoice_account  # the original's revenue account
    assert (
        position["comment"]
        == "Gutschrift zu RE-2026-0001, ohne PDF (Billbee bietet keins): Umsatz 19 %"
    )
    assert "filename" not in save  # Billbee offers no credit note PDF
    (refund,) = bookings_sent(sandbox_http)[1:]
    assert refund["amount"] == -59.5
    assert refund["type"] == "FULL_PAYMENT"
    assert refund["checkAccount"]["id"] == offline_account.pk  # where PayPal's payment went
    assert refund["date"].startswith("2026-03-20")
    voucher = Voucher.objects.get(pk=export.voucher_id)
    assert (voucher.sum_gross, voucher.sum_tax) == (D("-59.50"), D("-9.50"))
    assert voucher.status == Voucher.Status.PAID
    invoice_voucher.refresh_from_db()
    assert (invoice_voucher.status, invoice_voucher.sum_gross) == (Voucher.Status.PAID, D("119.00"))


def saves_sent_since(sandbox_http, index: int) -> list[dict]:
    return [
        json.loads(request.body)
        for request in sandbox_http.sent[index:]
        if request.url.endswith("/Voucher/Factory/saveVoucher")
    ]


def test_a_credit_note_is_booked_once_however_often_it_is_seen(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    order = booked_order(connection, merchant, shop)
    note = credit_note(order)
    run_export(connection)
    note.synced_at = timezone.now()  # the next document sync brings it again
    note.save()

    run_export(connection)
    run_export(connection)

    assert len(saves_sent(sandbox_http)) == 2  # the invoice, the credit note
    assert Voucher.objects.filter(account=sevdesk_account).count() == 2
    assert (
        VoucherPayment.objects.filter(voucher_id=credit_note_export(note).voucher_id).count() == 1
    )
    assert Booking.objects.filter(document_key="creditnote:RE-2026-0001-GS").count() == 1


def test_a_cancelled_order_with_its_full_credit_note_is_reversed_by_that_credit_note(
    connection, merchant, shop, sevdesk_account
):
    order = booked_order(connection, merchant, shop)
    order.state = ORDER_CANCELLED
    order.save()
    note = credit_note(order, gross="-119.00", vat="-19.00")

    run_export(connection)

    invoice_export = OrderExport.objects.get(order=order, document=None)
    assert invoice_export.status == OrderExport.Status.PAID  # untouched, not "needs action"
    export = credit_note_export(note)
    assert export.status == OrderExport.Status.PAID
    assert Voucher.objects.get(pk=export.voucher_id).sum_gross == D("-119.00")


def test_a_refund_in_billbees_payments_goes_to_the_credit_note_not_the_invoice(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    order = invoiced_order(merchant, shop)
    Payment.objects.create(
        merchant=merchant, order=order, billbee_id=989, pay_date=order.paid_at,
        payment_type=order.payment_method, amount=D("119.00"),
    )  # fmt: skip
    run_export(connection)
    Payment.objects.create(
        merchant=merchant, order=order, billbee_id=990, pay_date=REFUNDED_AT,
        payment_type=order.payment_method, amount=D("-59.50"),
    )  # fmt: skip
    order.paid_amount = D("59.50")
    order.save()
    note = credit_note(order, pay_date=None)  # the date comes from Billbee's refund payment

    run_export(connection)

    invoice_export = OrderExport.objects.get(order=order, document=None)
    assert invoice_export.status == OrderExport.Status.PAID, invoice_export.message
    (refund,) = bookings_sent(sandbox_http)[1:]
    assert (refund["amount"], refund["date"][:10]) == (-59.5, "2026-03-20")
    assert credit_note_export(note).status == OrderExport.Status.PAID


def test_a_credit_note_without_a_booked_original_waits_and_says_why(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    order = invoiced_order(merchant, shop, invoice_date=datetime(2025, 12, 30, tzinfo=UTC))
    note = credit_note(order)  # the invoice predates the start date; the credit note does not

    run_export(connection)

    export = credit_note_export(note)
    assert export.status == OrderExport.Status.SKIPPED
    assert export.problem == OrderExport.Problem.ORIGINAL_NOT_BOOKED
    assert export.attempt_count == 0
    assert "RE-2026-0001-GS" in export.message and "RE-2026-0001" in export.message
    assert saves_sent(sandbox_http) == []

    connection.book_unlinked_credit_notes = True
    connection.save()
    run_export(connection)

    export.refresh_from_db()
    assert export.status == OrderExport.Status.PAID, export.message
    assert Voucher.objects.get(pk=export.voucher_id).sum_gross == D("-59.50")


def test_a_credit_note_dated_before_the_start_date_is_never_queued(connection, merchant, shop):
    order = invoiced_order(merchant, shop)
    credit_note(order, invoice_date=datetime(2025, 12, 30, tzinfo=UTC))

    run_export(connection)

    assert not OrderExport.objects.filter(document__isnull=False).exists()


def test_a_credit_note_of_a_shop_of_another_connection_is_not_queued(
    connection, merchant, sevdesk_account
):
    from tests.orders_factories import ShopFactory

    order = invoiced_order(merchant, ShopFactory(merchant=merchant, name="Anderer Shop"))
    credit_note(order)

    run_export(connection)

    assert not OrderExport.objects.filter(document__isnull=False).exists()


def test_without_a_refund_date_the_refund_stays_open_until_billbee_dates_it(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    order = booked_order(connection, merchant, shop)
    note = credit_note(order, pay_date=None)

    run_export(connection)

    export = credit_note_export(note)
    assert (export.status, export.problem) == (
        OrderExport.Status.VOUCHER_CREATED,
        OrderExport.Problem.REFUND_OPEN,
    )
    assert len(bookings_sent(sandbox_http)) == 1  # the invoice's payment only

    note.pay_date = REFUNDED_AT
    note.save()
    run_export(connection)

    export.refresh_from_db()
    assert export.status == OrderExport.Status.PAID
    assert len(bookings_sent(sandbox_http)) == 2


def test_when_sevdesk_reconciles_payments_the_credit_note_is_sent_open(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    connection.payment_reconciliation = "sevdesk"
    connection.save()
    order = booked_order_open(connection, merchant, shop)
    note = credit_note(order)

    run_export(connection)

    export = credit_note_export(note)
    assert export.status == OrderExport.Status.DONE
    assert bookings_sent(sandbox_http) == []
    assert Voucher.objects.get(pk=export.voucher_id).status == Voucher.Status.OPEN


def booked_order_open(connection, merchant, shop):
    order = invoiced_order(merchant, shop)
    run_export(connection)
    assert OrderExport.objects.get(order=order, document=None).status == OrderExport.Status.DONE
    return order


def test_a_lost_answer_to_the_credit_notes_save_is_adopted_not_sent_twice(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    from sandbox.sevdesk.services import fault_inject

    order = booked_order(connection, merchant, shop)
    note = credit_note(order)
    fault_inject(
        account=sevdesk_account, kind="lose_response", path_contains="Voucher/Factory/saveVoucher"
    )

    run_export(connection)
    export = credit_note_export(note)
    OrderExport.objects.filter(pk=export.pk).update(next_attempt_at=None)
    run_export(connection)

    export.refresh_from_db()
    assert export.status == OrderExport.Status.PAID, export.message
    vouchers = Voucher.objects.filter(account=sevdesk_account, description="RE-2026-0001-GS")
    assert vouchers.count() == 1
    assert export.voucher_id == vouchers.get().pk


@pytest.mark.parametrize("kind", ["shipping"])
def test_shipping_credited_goes_to_the_shipping_account_the_merchant_chose(
    kind, connection, merchant, shop, sevdesk_account, sandbox_http
):
    order = booked_order(connection, merchant, shop)
    goods = RevenueAccountAssignment.objects.get(connection=connection, kind="goods", tax_rate=19)
    RevenueAccountAssignment.objects.create(
        merchant=merchant, connection=connection, tax_rule=1, tax_rate=19, kind=kind,
        account_datev_id=goods.account_datev_id, account_number=goods.account_number,
        account_name=goods.account_name,
    )  # fmt: skip
    note = credit_note(
        order,
        gross="-59.50",
        fees=[{"type": "ShipCost", "gross": "-4.90", "net": "-4.12", "vat": "-0.78",
               "vat_rate": "19"}],
        positions=[{"billbee_id": None, "total_gross": "-54.60", "total_vat": "-8.72",
                    "vat_rate": "19"}],
    )  # fmt: skip
    before = len(sandbox_http.sent)

    run_export(connection)

    (save,) = saves_sent_since(sandbox_http, before)
    comments = sorted(p["comment"] for p in save["voucherPosSave"])
    assert comments == [
        "Gutschrift zu RE-2026-0001, ohne PDF (Billbee bietet keins): Umsatz 19 %",
        "Gutschrift zu RE-2026-0001, ohne PDF (Billbee bietet keins): Versand 19 %",
    ]
    assert sorted(p["sumGross"] for p in save["voucherPosSave"]) == [-54.6, -4.9]
    assert credit_note_export(note).status == OrderExport.Status.PAID
