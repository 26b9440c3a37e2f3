"""An order cancelled in Billbee after its voucher was booked: never a silent reversal, never a
change to the booked voucher; without Billbee's credit note or cancellation invoice the export
asks the merchant to create one."""

from decimal import Decimal

from django.utils import timezone

from exports.models import OrderExport
from orders.enums import ORDER_CANCELLED
from orders.models import BillbeeDocument
from sandbox.sevdesk.models import Voucher
from tests.exports_fixtures import invoiced_order, run_export
from tests.orders_factories import OrderFactory

D = Decimal


def booked_then_cancelled(connection, merchant, shop):
    order = invoiced_order(merchant, shop)
    run_export(connection)
    export = OrderExport.objects.get(order=order)
    assert export.status == OrderExport.Status.PAID
    order.state = ORDER_CANCELLED
    order.save()
    return order, export


def credit_note(of, **changes):
    values = {
        "merchant": of.merchant,
        "order": of,
        "billbee_order_id": of.billbee_id,
        "type": BillbeeDocument.Type.CREDIT_NOTE,
        "number": f"{of.invoice_number}-GS",
        "invoice_date": timezone.now(),
        "currency": "EUR",
        "total_net": D("-100.00"),
        "total_gross": D("-119.00"),
        "vat_mode": 0,
        "synced_at": timezone.now(),
    }
    values.update(changes)
    return BillbeeDocument.objects.create(**values)


def test_cancelled_after_export_without_a_credit_note_needs_action_and_the_voucher_stays(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    _order, export = booked_then_cancelled(connection, merchant, shop)
    voucher = Voucher.objects.get(account=sevdesk_account)
    sent_before = len(sandbox_http.sent)

    run_export(connection)
    run_export(connection)  # and again: still the same, nothing sent

    export.refresh_from_db()
    assert export.status == OrderExport.Status.NEEDS_ACTION
    assert export.problem == OrderExport.Problem.CANCELLED_AFTER_EXPORT
    assert export.message.startswith(
        "Handlungsbedarf: Bestellung storniert, aber in Billbee keine Gutschrift/Stornorechnung "
        "– bitte in Billbee erzeugen."
    )
    assert str(voucher.pk) in export.message
    assert [r for r in sandbox_http.sent[sent_before:] if r.method != "GET"] == []
    voucher.refresh_from_db()
    assert (voucher.status, voucher.sum_gross) == (Voucher.Status.PAID, D("119.00"))


def test_a_credit_note_in_billbee_is_not_a_missing_one(connection, merchant, shop, sevdesk_account):
    order, export = booked_then_cancelled(connection, merchant, shop)
    credit_note(order)

    run_export(connection)

    export.refresh_from_db()
    assert export.problem != OrderExport.Problem.CANCELLED_AFTER_EXPORT


def test_a_credit_note_known_only_by_its_gs_number_counts(
    connection, merchant, shop, sevdesk_account
):
    order, export = booked_then_cancelled(connection, merchant, shop)
    credit_note(order, order=None, billbee_order_id=None, number=f"{order.order_number}-GS")

    run_export(connection)

    export.refresh_from_db()
    assert export.problem != OrderExport.Problem.CANCELLED_AFTER_EXPORT


def test_a_cancellation_invoice_on_the_cancellation_order_counts(
    connection, merchant, shop, sevdesk_account
):
    order, export = booked_then_cancelled(connection, merchant, shop)
    cancellation_order = OrderFactory(
        merchant=merchant, raw={"BillBeeParentOrderId": order.billbee_id}
    )
    credit_note(
        order,
        order=cancellation_order,
        billbee_order_id=cancellation_order.billbee_id,
        type=BillbeeDocument.Type.INVOICE,
        number="RE-2026-9001",
    )

    run_export(connection)
    export.refresh_from_db()
    assert export.problem == OrderExport.Problem.CANCELLED_AFTER_EXPORT  # not booked yet

    OrderExport.objects.create(  # the cancellation order's invoice booked through the connection
        merchant=merchant,
        connection=connection,
        order=cancellation_order,
        status=OrderExport.Status.DONE,
        voucher_id=999,
    )
    OrderExport.objects.filter(pk=export.pk).update(
        status=OrderExport.Status.PAID, problem=OrderExport.Problem.NONE
    )
    run_export(connection)

    export.refresh_from_db()
    assert export.problem != OrderExport.Problem.CANCELLED_AFTER_EXPORT


def test_a_credit_note_of_another_order_does_not_count(connection, merchant, shop, sevdesk_account):
    _order, export = booked_then_cancelled(connection, merchant, shop)
    other = OrderFactory(merchant=merchant)
    credit_note(other, number="RE-OTHER-GS")

    run_export(connection)

    export.refresh_from_db()
    assert export.problem == OrderExport.Problem.CANCELLED_AFTER_EXPORT
