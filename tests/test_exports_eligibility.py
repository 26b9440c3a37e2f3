"""Which orders a connection sends, and the messages for the ones it cannot send yet."""

from datetime import UTC, date, datetime

import pytest
from django.utils import translation

from connections.models import Connection
from exports.models import ExportRun, OrderExport
from exports.selectors import connection_orders, eligibility
from sandbox.sevdesk.models import Voucher
from tests.exports_fixtures import invoiced_order, run_export
from tests.orders_factories import ShopFactory


def german(message) -> str:
    with translation.override("de"):
        return str(message)


def outcome(order):
    return OrderExport.objects.filter(order=order).first()


def test_an_order_of_another_shop_is_not_sent(connection, merchant, sevdesk_account):
    other_shop = ShopFactory(merchant=merchant, name="Amazon DE")
    order = invoiced_order(merchant, other_shop)

    run_export(connection)

    assert order not in connection_orders(connection=connection)
    assert outcome(order) is None
    assert not Voucher.objects.exists()


def test_only_the_current_state_counts(connection, merchant, shop, sevdesk_account):
    cancelled = invoiced_order(merchant, shop, 1, state=8)
    shipped = invoiced_order(merchant, shop, 2, state=4)

    run_export(connection)

    assert outcome(cancelled) is None
    assert outcome(shipped).status == OrderExport.Status.PAID


@pytest.mark.parametrize(
    ("basis", "before_start"),
    [
        (
            Connection.VoucherDateBasis.INVOICE_DATE,
            {"invoice_date": datetime(2025, 12, 31, 22, 59, tzinfo=UTC)},
        ),
        (Connection.VoucherDateBasis.PAYMENT_DATE, {"paid_at": datetime(2025, 12, 20, tzinfo=UTC)}),
        (Connection.VoucherDateBasis.ORDER_DATE, {"order_date": datetime(2025, 12, 1, tzinfo=UTC)}),
    ],
)
def test_orders_whose_voucher_date_is_before_the_start_date_are_never_sent(
    basis, before_start, connection, merchant, shop, sevdesk_account
):
    connection.voucher_date_basis = basis
    connection.start_date = date(2026, 1, 1)
    connection.save()
    order = invoiced_order(merchant, shop, **before_start)

    run_export(connection)
    run_export(connection, kind=ExportRun.Kind.MANUAL, orders=[order])

    assert not Voucher.objects.exists()
    assert outcome(order).status == OrderExport.Status.SKIPPED
    assert outcome(order).problem == OrderExport.Problem.NOT_ELIGIBLE


def test_the_start_date_is_a_german_calendar_day(connection, merchant, shop, sevdesk_account):
    connection.start_date = date(2026, 1, 1)
    connection.save()
    # 23:30 UTC on New Year's Eve is already 1 January in Berlin.
    order = invoiced_order(merchant, shop, invoice_date=datetime(2025, 12, 31, 23, 30, tzinfo=UTC))

    run_export(connection)

    assert outcome(order).status == OrderExport.Status.PAID


def test_an_order_without_invoice_waits_visibly_in_the_scheduled_run(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop, invoice_number="", invoice_date=None)

    run_export(connection)

    export = outcome(order)
    assert (export.status, export.problem) == (
        OrderExport.Status.SKIPPED,
        OrderExport.Problem.WAITING_FOR_INVOICE,
    )
    assert german(export.message) == "Wartet auf Rechnung."
    assert not Voucher.objects.exists()


def test_the_manual_export_of_an_order_without_invoice_says_so_in_the_known_words(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop, invoice_number="", invoice_date=None)

    with translation.override("de"):
        run_export(connection, kind=ExportRun.Kind.MANUAL, orders=[order])

    assert outcome(order).message == (
        "Bestellung konnte nicht exportiert werden: This order has no invoice date. "
        "Could not upload to sevDesk."
    )


def test_the_manual_export_of_an_order_without_payment_date_says_so_in_the_known_words(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop, paid_at=None, paid_amount=0)

    with translation.override("de"):
        run = run_export(connection, kind=ExportRun.Kind.MANUAL, orders=[order])

    assert outcome(order).message == (
        "Hochladen zu Buchhaltungssystem fehlgeschlagen – Bestellung konnte nicht exportiert "
        "werden: This order has no payment date. Could not upload to sevDesk."
    )
    assert run.skipped == 1
    assert not Voucher.objects.exists()


def test_a_waiting_order_is_exported_once_its_invoice_arrives(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop, paid_at=None, paid_amount=0)
    run_export(connection)
    assert outcome(order).problem == OrderExport.Problem.WAITING_FOR_PAYMENT

    order.paid_at = datetime(2026, 3, 3, tzinfo=UTC)
    order.paid_amount = order.total_gross
    order.save()
    run_export(connection)

    assert outcome(order).status == OrderExport.Status.PAID
    assert Voucher.objects.count() == 1


def test_each_rule_is_explained_for_one_order(connection, merchant, shop):
    order = invoiced_order(merchant, shop, state=8, paid_at=None)

    reasons = {reason.rule: reason.ok for reason in eligibility(connection=connection, order=order)}

    assert reasons == {
        "shop": True,
        "state": False,
        "start_date": True,
        "invoice": True,
        "payment": False,
    }


def test_a_chosen_order_that_breaks_rules_names_every_broken_rule_as_broken(
    connection, merchant, sevdesk_account
):
    # chosen by hand: another shop and a state the connection does not send
    other_shop = ShopFactory(merchant=merchant, name="Amazon DE")
    order = invoiced_order(merchant, other_shop, 1, state=1)

    run_export(connection, kind=ExportRun.Kind.MANUAL, orders=[order])

    export = outcome(order)
    assert export.status == OrderExport.Status.SKIPPED
    assert export.message == (
        "Nicht übertragen: Shop „Amazon DE“ gehört nicht zu den gewählten Shops (Reiter "
        "Eigenschaften); Aktueller Status „Bestellt“ gehört nicht zu den gewählten "
        "Auftragsstatus (Reiter Eigenschaften)"
    )
    assert not Voucher.objects.exists()


def test_an_order_cancelled_before_its_export_is_never_sent_and_the_log_says_why(
    connection, merchant, shop, sevdesk_account
):
    # waiting for its payment, then cancelled in Billbee
    order = invoiced_order(merchant, shop, 1, paid_at=None)
    run_export(connection)
    assert outcome(order).problem == OrderExport.Problem.WAITING_FOR_PAYMENT
    order.state = 8
    order.save()

    run_export(connection)
    run_export(connection, kind=ExportRun.Kind.MANUAL, orders=[order])  # chosen by hand, too

    export = outcome(order)
    assert (export.status, export.problem) == (
        OrderExport.Status.SKIPPED,
        OrderExport.Problem.CANCELLED,
    )
    assert export.message == (
        "Nicht übertragen: Der Auftrag wurde in Billbee storniert, bevor ein Beleg angelegt "
        "wurde; es wird nichts gebucht."
    )
    assert export.attempt_count == 0
    assert not Voucher.objects.exists()
