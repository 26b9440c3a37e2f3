"""The export engine against the sandbox sevDesk: outcomes, messages and exactly-once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from accounts_mapping.services import Assignment, account_assignments_save
from connections.models import Connection
from exports import delivery, services
from exports.models import ExportRun, OrderExport
from sandbox.sevdesk.models import Voucher, VoucherPayment
from sandbox.sevdesk.services import fault_inject
from tests.exports_fixtures import (
    invoiced_order,
    rate_limits_clear,
    run_export,
    sevdesk_check_account,
)


def vouchers(account):
    return Voucher.objects.filter(account=account)


def payments(account):
    return VoucherPayment.objects.filter(voucher__account=account)


def german(message) -> str:
    with translation.override("de"):
        return str(message)


def due_now(export):
    """Let the backoff time pass."""
    OrderExport.objects.filter(pk=export.pk).update(next_attempt_at=timezone.now())


def test_a_paid_order_becomes_one_paid_voucher_with_its_pdf(
    connection, merchant, shop, sevdesk_account, offline_account
):
    order = invoiced_order(merchant, shop)

    run = run_export(connection)

    export = OrderExport.objects.get(order=order)
    assert export.status == OrderExport.Status.PAID
    voucher = vouchers(sevdesk_account).get()
    assert export.voucher_id == voucher.pk
    assert voucher.description == "RE-2026-0001"
    assert voucher.sum_gross == Decimal("119.00")
    assert voucher.file.content.read().startswith(b"%PDF-")
    payment = payments(sevdesk_account).get()
    assert (payment.amount, payment.check_account_id) == (Decimal("119.00"), offline_account.pk)
    assert (run.status, run.done, run.failed) == (ExportRun.Status.FINISHED, 1, 0)


def test_a_paid_order_of_a_known_customer_takes_three_sevdesk_calls(
    connection, merchant, shop, sandbox_http
):
    invoiced_order(merchant, shop, 1)
    second = invoiced_order(merchant, shop, 2)

    run_export(connection)

    # upload the PDF, save the voucher, book the payment; run-wide lookups go to the first
    assert OrderExport.objects.get(order=second).request_count == 3


def test_when_sevdesk_reconciles_the_voucher_stays_open(
    connection, merchant, shop, sevdesk_account
):
    connection.payment_reconciliation = Connection.PaymentReconciliation.SEVDESK
    connection.save()
    order = invoiced_order(merchant, shop)

    run_export(connection)

    assert OrderExport.objects.get(order=order).status == OrderExport.Status.DONE
    assert vouchers(sevdesk_account).get().status == 100
    assert not payments(sevdesk_account).exists()


def test_a_lost_response_after_saving_does_not_create_a_second_voucher(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop)
    fault_inject(account=sevdesk_account, kind="lose_response", path_contains="saveVoucher")

    run_export(connection)
    export = OrderExport.objects.get(order=order)
    assert export.status == OrderExport.Status.RETRY
    assert vouchers(sevdesk_account).count() == 1  # it did reach sevDesk
    due_now(export)
    run_export(connection)

    export.refresh_from_db()
    assert export.status == OrderExport.Status.PAID
    assert vouchers(sevdesk_account).count() == 1
    assert export.voucher_id == vouchers(sevdesk_account).get().pk
    assert payments(sevdesk_account).count() == 1


def test_a_lost_response_after_booking_does_not_book_twice(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop)
    fault_inject(account=sevdesk_account, kind="lose_response", path_contains="bookAmount")

    run_export(connection)
    export = OrderExport.objects.get(order=order)
    due_now(export)
    run_export(connection)

    export.refresh_from_db()
    assert export.status == OrderExport.Status.PAID
    assert payments(sevdesk_account).count() == 1
    assert vouchers(sevdesk_account).count() == 1


def test_an_internal_server_error_is_retried_and_then_succeeds(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop)
    fault_inject(account=sevdesk_account, kind="http_500", path_contains="saveVoucher")

    run_export(connection)
    export = OrderExport.objects.get(order=order)
    assert export.status == OrderExport.Status.RETRY
    assert (
        german(export.message) == "Bestellung konnte nicht exportiert werden: Internal Server Error"
    )
    assert export.next_attempt_at > timezone.now()
    assert not vouchers(sevdesk_account).exists()
    run_export(connection)  # too early: the backoff time has not passed
    assert not vouchers(sevdesk_account).exists()
    due_now(export)
    run_export(connection)

    export.refresh_from_db()
    assert export.status == OrderExport.Status.PAID
    assert vouchers(sevdesk_account).count() == 1


def test_a_sevdesk_outage_pauses_the_connection_after_a_few_orders(
    connection, merchant, shop, sevdesk_account
):
    for number in range(1, 6):
        invoiced_order(merchant, shop, number)
    fault_inject(account=sevdesk_account, kind="http_500", count=100)

    run = run_export(connection)

    assert run.status == ExportRun.Status.FINISHED  # every order was handed out and counted
    assert OrderExport.objects.filter(attempt_count=1).count() == 3
    # the other two were set aside without an attempt while the connection pauses
    assert OrderExport.objects.filter(attempt_count=0, status=OrderExport.Status.RETRY).count() == 2
    connection.refresh_from_db()
    assert connection.is_paused


def test_a_worker_killed_between_voucher_and_payment_ends_with_one_of_each(
    connection, merchant, shop, sevdesk_account, monkeypatch
):
    order = invoiced_order(merchant, shop)

    def killed(**kwargs):
        raise SystemExit("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(delivery, "payment_book", killed)
        with pytest.raises(SystemExit):
            run_export(connection)
    export = OrderExport.objects.get(order=order)
    assert (export.status, export.voucher_id is not None) == (OrderExport.Status.IN_PROGRESS, True)
    run_export(connection)  # the claim is still fresh: nobody touches it
    assert payments(sevdesk_account).count() == 0
    OrderExport.objects.filter(pk=export.pk).update(claimed_at=timezone.now() - timedelta(hours=2))
    Connection.objects.filter(pk=connection.pk).update(export_lease_until=None)
    run_export(connection)

    export.refresh_from_db()
    assert export.status == OrderExport.Status.PAID
    assert vouchers(sevdesk_account).count() == 1
    assert payments(sevdesk_account).count() == 1


def test_a_worker_killed_right_after_booking_does_not_book_again(
    connection, merchant, shop, sevdesk_account, monkeypatch
):
    order = invoiced_order(merchant, shop)
    real_payment_book = delivery.payment_book

    def book_then_die(**kwargs):
        real_payment_book(**kwargs)
        raise SystemExit("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(delivery, "payment_book", book_then_die)
        with pytest.raises(SystemExit):
            run_export(connection)
    OrderExport.objects.filter(order=order).update(claimed_at=timezone.now() - timedelta(hours=2))
    Connection.objects.filter(pk=connection.pk).update(export_lease_until=None)
    run_export(connection)

    assert OrderExport.objects.get(order=order).status == OrderExport.Status.PAID
    assert payments(sevdesk_account).count() == 1


def test_the_same_task_delivered_twice_exports_once(
    connection, merchant, shop, sevdesk_account, eager_tasks
):
    from exports.tasks import run_connection, run_manual

    order = invoiced_order(merchant, shop)
    run_connection(connection.pk)
    run_connection(connection.pk)
    manual = services.export_run_create(
        connection=connection, kind=ExportRun.Kind.MANUAL, order_ids=[order.pk]
    )
    run_manual(manual.pk)
    run_manual(manual.pk)

    assert vouchers(sevdesk_account).count() == 1
    assert payments(sevdesk_account).count() == 1
    assert ExportRun.objects.get(pk=manual.pk).status == ExportRun.Status.FINISHED


def test_a_run_does_not_start_while_another_run_of_the_connection_holds_the_lease(
    connection, merchant, shop, sevdesk_account
):
    invoiced_order(merchant, shop)
    Connection.objects.filter(pk=connection.pk).update(
        export_lease_until=timezone.now() + timedelta(minutes=5)
    )

    run = run_export(connection)

    assert run.status == ExportRun.Status.STOPPED
    assert not vouchers(sevdesk_account).exists()


def test_a_rejected_token_stops_everything_until_it_is_changed(
    connection, merchant, shop, sevdesk_account, sandbox_http, django_capture_on_commit_callbacks
):
    first = invoiced_order(merchant, shop, 1)
    invoiced_order(merchant, shop, 2)
    fault_inject(account=sevdesk_account, kind="http_401")

    run = run_export(connection)

    connection.refresh_from_db()
    assert connection.status == Connection.Status.TOKEN_REJECTED
    assert connection.token_rejected_at is not None
    assert (run.status, run.failed) == (ExportRun.Status.FINISHED, 2)
    export = OrderExport.objects.get(order=first)
    assert export.status == OrderExport.Status.RETRY
    assert export.problem == OrderExport.Problem.AUTHENTICATION
    assert (
        german(export.message)
        == "Bestellung konnte nicht exportiert werden: Authentication required"
    )
    sent = len(sandbox_http.sent)
    assert run_export(connection).status == ExportRun.Status.STOPPED
    run_export(connection, kind=ExportRun.Kind.MANUAL, orders=[first])
    assert len(sandbox_http.sent) == sent  # nothing more with that token

    from connections.services import connection_save

    with django_capture_on_commit_callbacks(execute=True):
        connection_save(connection=connection, shops=[shop], token="b" * 32)
    assert OrderExport.objects.get(order=first).status == OrderExport.Status.PENDING


def test_a_rate_limit_defers_the_export_without_sleeping_or_using_an_attempt(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop)
    fault_inject(
        account=sevdesk_account, kind="http_429", retry_after=2, path_contains="saveVoucher"
    )

    run_export(connection)

    export = OrderExport.objects.get(order=order)
    assert (export.status, export.attempt_count) == (OrderExport.Status.RETRY, 0)
    assert 0 < (export.next_attempt_at - timezone.now()).total_seconds() <= 2
    OrderExport.objects.filter(pk=export.pk).update(next_attempt_at=timezone.now())
    rate_limits_clear()
    run_export(connection)
    assert OrderExport.objects.get(order=order).status == OrderExport.Status.PAID
    assert vouchers(sevdesk_account).count() == 1


def test_without_an_assigned_account_the_voucher_stays_open_until_one_is_assigned(
    connection, merchant, shop, sevdesk_account, offline_account, django_capture_on_commit_callbacks
):
    order = invoiced_order(merchant, shop, payment_method=31)  # credit card: not assigned

    run_export(connection)
    export = OrderExport.objects.get(order=order)
    assert export.status == OrderExport.Status.VOUCHER_CREATED
    assert export.problem == OrderExport.Problem.NO_ACCOUNT
    assert not payments(sevdesk_account).exists()
    with django_capture_on_commit_callbacks(execute=True):
        account_assignments_save(
            connection=connection,
            assignments=[Assignment(payment_method=31, check_account_id=offline_account.pk)],
            accounts=[sevdesk_check_account(offline_account)],
        )
    run_export(connection)

    export.refresh_from_db()
    assert export.status == OrderExport.Status.PAID
    assert vouchers(sevdesk_account).count() == 1
    assert payments(sevdesk_account).count() == 1


def test_unassigned_payments_go_to_the_standard_account_when_asked(
    connection, merchant, shop, sevdesk_account, offline_account
):
    connection.book_unassigned_as_standard = True
    connection.save()
    connection.account_assignments.update(payment_method=None)  # PayPal's row becomes standard
    order = invoiced_order(merchant, shop, payment_method=31)

    run_export(connection)

    assert OrderExport.objects.get(order=order).status == OrderExport.Status.PAID
    assert payments(sevdesk_account).get().check_account_id == offline_account.pk


def test_payments_are_never_booked_to_a_bank_account(connection, merchant, shop, sevdesk_account):
    from sandbox.sevdesk.models import CheckAccount

    bank = CheckAccount.objects.get(account=sevdesk_account, type="online")
    connection.account_assignments.update(check_account_id=bank.pk)  # e.g. tampered with
    order = invoiced_order(merchant, shop)

    run_export(connection)

    export = OrderExport.objects.get(order=order)
    assert export.status == OrderExport.Status.NEEDS_ACTION
    assert not payments(sevdesk_account).exists()


def test_full_customers_get_one_contact_each(connection, merchant, shop, sevdesk_account):
    from sandbox.sevdesk.models import Contact

    connection.create_full_customers = True
    connection.save()
    for number in (1, 2):
        invoiced_order(
            merchant,
            shop,
            number,
            customer_billbee_id=77,
            customer_number="K-77",
            invoice_address={"first_name": "Erika", "last_name": "Mustermann"},
        )

    run_export(connection)

    contact = Contact.objects.get(account=sevdesk_account)
    assert (contact.surename, contact.familyname) == ("Erika", "Mustermann")
    assert set(vouchers(sevdesk_account).values_list("supplier", flat=True)) == {contact.pk}


def test_the_success_message_writes_the_amount_the_german_way(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(
        merchant, shop, total_gross=Decimal("1234.50"), paid_amount=Decimal("1234.50")
    )

    with translation.override("de"):
        run_export(connection)

    message = OrderExport.objects.get(order=order).message
    assert message.endswith("Zahlung über 1.234,50 EUR gebucht.")
