"""The export engine off the happy path: one test per defect reproduced on the first engine.

Each test names the defect it would have caught. They run against the in-process sandbox
sevDesk (every request and answer checked against sevDesk's spec on the way).
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone, translation

from connections.models import Connection
from connections.services import connection_test, connection_token_recheck
from connections.sevdesk_client import SevdeskClient, SevdeskTemporaryError
from exports import delivery, services
from exports.models import Booking, ExportAttempt, ExportRun, OrderExport
from orders.billbee_client import BillbeeRateLimited
from sandbox.sevdesk.models import Voucher, VoucherPayment
from sandbox.sevdesk.services import fault_inject
from tests.connections_factories import ConnectionFactory
from tests.exports_fixtures import SANDBOX_TOKEN, invoice_pdf_store, invoiced_order, run_export
from tests.orders_factories import ShopFactory


def vouchers(account):
    return Voucher.objects.filter(account=account)


def german(message) -> str:
    with translation.override("de"):
        return str(message)


def due_now(*exports):
    OrderExport.objects.filter(pk__in=[e.pk for e in exports]).update(
        next_attempt_at=timezone.now()
    )


def pause_passes(connection) -> None:
    """The time of an outage pause goes by: the connection and what it set aside are due."""
    Connection.objects.filter(pk=connection.pk).update(paused_until=None)
    OrderExport.objects.filter(
        connection=connection, status=OrderExport.Status.RETRY, attempt_count=0
    ).update(next_attempt_at=timezone.now())


def export_of(order, connection=None) -> OrderExport:
    rows = OrderExport.objects.filter(order=order)
    if connection is not None:
        rows = rows.filter(connection=connection)
    return rows.get()


# 1. Invoice number changes between attempts → two vouchers.


def test_a_changed_invoice_number_after_a_lost_answer_never_makes_a_second_voucher(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop, 1)
    fault_inject(account=sevdesk_account, kind="lose_response", path_contains="saveVoucher")
    run_export(connection)
    export = export_of(order)
    assert export.status == OrderExport.Status.RETRY
    assert vouchers(sevdesk_account).count() == 1  # the save did arrive

    order.invoice_number = "RE-2026-0999"  # the next sync brings a new number
    order.save()
    due_now(export)
    run_export(connection)

    assert vouchers(sevdesk_account).count() == 1
    export.refresh_from_db()
    assert export.voucher_id == vouchers(sevdesk_account).get().pk
    assert export.status == OrderExport.Status.NEEDS_ACTION
    assert export.problem == OrderExport.Problem.INVOICE_CHANGED
    assert "Rechnung in Billbee geändert" in german(export.message)


def test_an_invoice_changed_after_export_gets_needs_action_not_a_second_voucher(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop, 1)
    run_export(connection)
    assert export_of(order).status == OrderExport.Status.PAID
    order.total_gross = Decimal("129.00")
    order.save()

    run_export(connection)

    export = export_of(order)
    assert export.problem == OrderExport.Problem.INVOICE_CHANGED
    assert vouchers(sevdesk_account).count() == 1


def test_a_retry_resends_the_frozen_payload(connection, merchant, shop, sevdesk_account):
    order = invoiced_order(merchant, shop, 1)
    fault_inject(account=sevdesk_account, kind="http_500", path_contains="saveVoucher")
    run_export(connection)
    export = export_of(order)
    frozen = export.frozen_payload
    assert frozen["voucher"]["description"] == "RE-2026-0001"
    assert len(export.frozen_payload_sha256) == 64
    assert (export.voucher_description, export.voucher_gross) == ("RE-2026-0001", Decimal("119.00"))

    due_now(export)
    run_export(connection)

    voucher = vouchers(sevdesk_account).get()
    assert voucher.description == frozen["voucher"]["description"]
    assert export_of(order).status == OrderExport.Status.PAID


# 2. Same invoice number on two orders → the second adopts the first's voucher.


def test_a_second_order_with_the_same_invoice_number_gets_its_own_voucher(
    connection, merchant, shop, sevdesk_account
):
    first = invoiced_order(merchant, shop, 1)
    run_export(connection)
    second = invoiced_order(merchant, shop, 2, invoice_number="RE-2026-0001")
    fault_inject(account=sevdesk_account, kind="http_500", path_contains="saveVoucher")
    run_export(connection)
    export = export_of(second)
    assert export.status == OrderExport.Status.RETRY

    due_now(export)
    run_export(connection)

    export.refresh_from_db()
    assert vouchers(sevdesk_account).count() == 2
    assert export.status == OrderExport.Status.PAID
    assert export.voucher_id != export_of(first).voucher_id


def test_two_unknown_vouchers_matching_a_lost_save_are_not_adopted(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop, 1)
    fault_inject(account=sevdesk_account, kind="lose_response", path_contains="saveVoucher")
    run_export(connection)
    existing = vouchers(sevdesk_account).get()
    copy = Voucher.objects.get(pk=existing.pk)
    copy.pk = None
    copy.save()  # someone else's identical voucher, entered by hand
    export = export_of(order)
    due_now(export)

    run_export(connection)

    export.refresh_from_db()
    assert export.status == OrderExport.Status.NEEDS_ACTION
    assert export.problem == OrderExport.Problem.AMBIGUOUS
    assert str(existing.pk) in export.message and str(copy.pk) in export.message
    assert vouchers(sevdesk_account).count() == 2


# 3. Two connections, same sevDesk account, overlapping shops → every order booked twice.


def test_a_document_is_booked_once_per_sevdesk_account_whichever_connection_sends_it(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop, 1)
    run_export(connection)
    second = ConnectionFactory(
        merchant=merchant, shops=[shop], api_token=SANDBOX_TOKEN, order_states=[3, 4, 7],
        start_date=connection.start_date, name="Zweite Verbindung",
    )  # fmt: skip

    run_export(second)

    assert vouchers(sevdesk_account).count() == 1
    export = export_of(order, second)
    assert export.status == OrderExport.Status.NEEDS_ACTION
    assert export.problem == OrderExport.Problem.ALREADY_BOOKED
    assert connection.name in export.message
    assert Booking.objects.get().export == export_of(order, connection)


def test_saving_a_second_connection_into_the_same_sevdesk_account_with_a_shared_shop_is_refused(
    connection, merchant, shop, sevdesk_account
):
    from connections.services import connection_overlap

    connection_test(connection=connection)
    connection.refresh_from_db()
    other = Connection(merchant=merchant, name="Zweite", start_date=connection.start_date)

    clash = connection_overlap(
        connection=other,
        shops=[shop],
        include_manual_orders=False,
        sevdesk_client_id=connection.sevdesk_client_id,
    )
    assert clash == connection
    other_shop = ShopFactory(merchant=merchant, name="Anderer Shop")
    assert (
        connection_overlap(
            connection=other,
            shops=[other_shop],
            include_manual_orders=False,
            sevdesk_client_id=connection.sevdesk_client_id,
        )
        is None
    )


# 4. Starvation behind orders that always fail.


def test_orders_that_always_fail_never_starve_the_others(
    connection, merchant, shop, sevdesk_account, monkeypatch
):
    failing = [invoiced_order(merchant, shop, n) for n in (1, 2, 3)]
    others = [invoiced_order(merchant, shop, n) for n in range(4, 11)]
    broken = {o.invoice_number for o in failing}
    real_save = SevdeskClient.save_voucher

    def save_voucher(self, payload):
        if payload["voucher"]["description"] in broken:
            raise SevdeskTemporaryError("Internal Server Error")
        return real_save(self, payload)

    monkeypatch.setattr(SevdeskClient, "save_voucher", save_voucher)

    for _ in range(3):  # an outage pause may set the rest aside: it ends, and they go
        run_export(connection)
        pause_passes(connection)

    assert {export_of(o).status for o in others} == {OrderExport.Status.PAID}
    assert {export_of(o).status for o in failing} == {OrderExport.Status.RETRY}


def test_attempts_are_capped_then_needs_action_with_the_last_error(
    connection, merchant, shop, sevdesk_account, monkeypatch
):
    order = invoiced_order(merchant, shop, 1)
    monkeypatch.setattr(
        SevdeskClient,
        "save_voucher",
        lambda self, payload: (_ for _ in ()).throw(SevdeskTemporaryError("Bad Gateway")),
    )
    for _ in range(delivery.MAX_ATTEMPTS + 2):
        pause_passes(connection)
        due_now(*OrderExport.objects.all())
        run_export(connection)

    export = export_of(order)
    assert export.status == OrderExport.Status.NEEDS_ACTION
    assert export.problem == OrderExport.Problem.TOO_MANY_ATTEMPTS
    assert export.attempt_count == delivery.MAX_ATTEMPTS
    assert "Internal Server Error" in german(export.message)


def test_three_orders_failing_within_a_minute_pause_the_connection_visibly(
    connection, merchant, shop, sevdesk_account
):
    orders = [invoiced_order(merchant, shop, n) for n in range(1, 6)]
    fault_inject(account=sevdesk_account, kind="http_500", count=3, path_contains="saveVoucher")

    run_export(connection)

    connection.refresh_from_db()
    assert connection.is_paused
    assert "pausiert" in german(connection.pause_reason) or "pauses" in connection.pause_reason
    untouched = [o for o in orders[3:]]
    assert all(export_of(o).attempt_count == 0 for o in untouched)
    assert {export_of(o).next_attempt_at for o in untouched} == {connection.paused_until}
    pause_passes(connection)
    run_export(connection)
    assert all(export_of(o).status == OrderExport.Status.PAID for o in untouched)
    connection.refresh_from_db()
    assert connection.outage_pauses == 0 and not connection.is_paused


# 5. Stuck for ever: killed between voucher and payment, then the order changed state.


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: nothing after it runs, no except clause catches it."""


def test_an_export_killed_between_voucher_and_payment_is_finished_whatever_the_state_now(
    connection, merchant, shop, sevdesk_account, monkeypatch
):
    order = invoiced_order(merchant, shop, 1)

    def killed(**kwargs):
        raise WorkerKilled

    with monkeypatch.context() as patch, pytest.raises(WorkerKilled):
        patch.setattr(delivery, "payment_book", killed)
        run_export(connection)
    export = export_of(order)
    assert export.status == OrderExport.Status.IN_PROGRESS and export.voucher_id
    order.state = 1  # "Bestellt": no longer one of the connection's states
    order.save()
    OrderExport.objects.filter(pk=export.pk).update(claimed_at=timezone.now() - timedelta(hours=1))

    assert services.exports_reap()["requeued"] == 1
    run_export(connection)

    export.refresh_from_db()
    assert export.status == OrderExport.Status.PAID
    assert vouchers(sevdesk_account).count() == 1
    assert VoucherPayment.objects.count() == 1


def test_the_reaper_ends_a_run_whose_workers_died(connection, merchant, shop):
    run = services.export_run_create(connection=connection, kind=ExportRun.Kind.SCHEDULED)
    ExportRun.objects.filter(pk=run.pk).update(
        status=ExportRun.Status.RUNNING, total=5, done=2,
        updated_at=timezone.now() - timedelta(hours=2),
    )  # fmt: skip

    services.exports_reap()

    run.refresh_from_db()
    assert run.status == ExportRun.Status.FAILED
    assert "3" in run.message and "5" in run.message


# 6. Time limits, and crashed runs recorded "finished".


def test_a_soft_time_limit_ends_the_export_cleanly_for_a_retry(
    connection, merchant, shop, sevdesk_account, monkeypatch
):
    order = invoiced_order(merchant, shop, 1)

    def slow(self, payload):
        raise SoftTimeLimitExceeded

    monkeypatch.setattr(SevdeskClient, "save_voucher", slow)

    run = run_export(connection)

    export = export_of(order)
    assert export.status == OrderExport.Status.RETRY  # not "needs action": it may go on
    assert export.voucher_save_sent_at is not None  # so the retry looks in sevDesk first
    assert run.status == ExportRun.Status.FINISHED
    assert (run.total, run.failed) == (1, 1)


def test_a_run_that_crashes_ends_failed_with_the_reason(connection, monkeypatch):
    def crash(connection):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_scheduled_exports", crash)

    run = run_export(connection)

    assert run.status == ExportRun.Status.FAILED
    assert "database went away" in run.message


# 7. A 401 that clears up.


def test_a_401_pauses_the_connection_and_a_successful_recheck_resumes_every_export(
    connection, merchant, shop, sevdesk_account, django_capture_on_commit_callbacks
):
    orders = [invoiced_order(merchant, shop, n) for n in (1, 2)]
    fault_inject(account=sevdesk_account, kind="http_401")
    run = run_export(connection)
    connection.refresh_from_db()
    assert connection.token_rejected_at is not None
    assert connection.token_recheck_at - connection.token_rejected_at == timedelta(minutes=1)
    assert run.status == ExportRun.Status.FINISHED and run.processed == 2
    assert {export_of(o).problem for o in orders} == {OrderExport.Problem.AUTHENTICATION}
    assert all(export_of(o).attempt_count == 0 for o in orders)  # a 401 uses no attempt

    with django_capture_on_commit_callbacks(execute=True):
        assert connection_token_recheck(connection=connection) is True

    assert {export_of(o).status for o in orders} == {OrderExport.Status.PENDING}
    run_export(connection)
    assert {export_of(o).status for o in orders} == {OrderExport.Status.PAID}


def test_a_token_still_rejected_is_rechecked_three_times_then_waits_for_the_merchant(
    connection, merchant, shop, sevdesk_account, django_capture_on_commit_callbacks
):
    order = invoiced_order(merchant, shop, 1)
    fault_inject(account=sevdesk_account, kind="http_401", count=10)
    run_export(connection)
    connection.refresh_from_db()
    rejected_at = connection.token_rejected_at

    for after in (5, 15, None):
        assert connection_token_recheck(connection=connection) is False
        connection.refresh_from_db()
        expected = rejected_at + timedelta(minutes=after) if after else None
        assert connection.token_recheck_at == expected

    from sandbox.sevdesk.services import faults_clear

    faults_clear(account=sevdesk_account)
    with django_capture_on_commit_callbacks(execute=True):
        assert connection_test(connection=connection).ok  # "Verbindung testen", same token
    assert export_of(order).status == OrderExport.Status.PENDING


# 8. Waiting orders burn retries.


def test_an_order_waiting_for_its_invoice_uses_no_attempt_however_often_runs_come(
    connection, merchant, shop, sevdesk_account
):
    order = invoiced_order(merchant, shop, 1, invoice_number="", invoice_date=None)

    for _ in range(5):
        run_export(connection)

    export = export_of(order)
    assert export.status == OrderExport.Status.SKIPPED
    assert export.problem == OrderExport.Problem.WAITING_FOR_INVOICE
    assert export.attempt_count == 0
    assert not ExportAttempt.objects.exists()
    order.invoice_number, order.invoice_date = "RE-2026-0001", order.paid_at
    order.save()
    invoice_pdf_store(order)
    run_export(connection)
    export.refresh_from_db()
    assert (export.status, export.attempt_count) == (OrderExport.Status.PAID, 1)


def test_old_attempts_are_pruned(connection, merchant, shop, sevdesk_account):
    order = invoiced_order(merchant, shop, 1)
    run_export(connection)
    attempt = ExportAttempt.objects.get()
    ExportAttempt.objects.create(
        export=attempt.export, started_at=timezone.now() - timedelta(days=91)
    )

    assert services.export_attempts_prune() == 1
    assert ExportAttempt.objects.get() == attempt
    assert export_of(order).status == OrderExport.Status.PAID


# 9. Run summaries undercount; Billbee 429 on the PDF; sevDesk's Retry-After forgotten.


def test_the_order_that_met_a_401_is_counted_in_the_run(
    connection, merchant, shop, sevdesk_account
):
    invoiced_order(merchant, shop, 1)
    fault_inject(account=sevdesk_account, kind="http_401")

    run = run_export(connection)

    assert (run.total, run.failed, run.processed) == (1, 1, 1)


def test_a_billbee_rate_limit_on_the_pdf_is_a_retry_not_needs_action(
    connection, merchant, shop, sevdesk_account, monkeypatch
):
    order = invoiced_order(merchant, shop, 1)

    def limited(**kwargs):
        raise BillbeeRateLimited(retry_after=30)

    monkeypatch.setattr(delivery, "invoice_pdf_fetch", limited)

    run_export(connection)

    export = export_of(order)
    assert export.status == OrderExport.Status.RETRY
    assert export.attempt_count == 0
    wait = (export.next_attempt_at - timezone.now()).total_seconds()
    assert 20 < wait <= 30


def test_failed_attempts_record_the_http_status_and_an_excerpt(
    connection, merchant, shop, sevdesk_account
):
    invoiced_order(merchant, shop, 1)
    fault_inject(account=sevdesk_account, kind="http_500", path_contains="saveVoucher")

    run_export(connection)

    attempt = ExportAttempt.objects.get()
    assert attempt.http_status == 500
    assert attempt.temporary is True
    assert attempt.status_after == OrderExport.Status.RETRY


# 10. Manual orders (no shop).


def test_manual_orders_are_exported_when_the_connection_includes_them(
    connection, merchant, shop, sevdesk_account
):
    manual = invoiced_order(merchant, None, 1)
    run_export(connection)
    assert not OrderExport.objects.filter(order=manual, status="paid").exists()

    connection.include_manual_orders = True
    connection.save()
    run_export(connection)

    assert export_of(manual).status == OrderExport.Status.PAID


# sevDesk bookkeeping 1.0 is gone: a clear message at the connection test, no failed exports.


def test_a_bookkeeping_1_0_account_is_refused_at_the_connection_test(
    connection, merchant, shop, sevdesk_account
):
    sevdesk_account.bookkeeping_version = "1.0"
    sevdesk_account.save()

    result = connection_test(connection=connection)

    connection.refresh_from_db()
    assert not result.ok
    assert connection.status == Connection.Status.UNSUPPORTED
    assert "1.0" in result.message and "2.0" in result.message
    assert not connection.reached_sevdesk  # no account assignment
    invoiced_order(merchant, shop, 1)
    run = run_export(connection)
    assert run.status == ExportRun.Status.STOPPED and "1.0" in run.message
    assert not OrderExport.objects.exists()  # not one failed export


def test_a_retry_after_from_sevdesk_holds_back_every_export_of_that_token(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    first, second = invoiced_order(merchant, shop, 1), invoiced_order(merchant, shop, 2)
    fault_inject(
        account=sevdesk_account, kind="http_429", retry_after=120, path_contains="saveVoucher"
    )

    run_export(connection)

    saves = sandbox_http.count("saveVoucher")
    assert saves == 1  # the second order did not even try
    for order in (first, second):
        export = export_of(order)
        assert (export.status, export.attempt_count) == (OrderExport.Status.RETRY, 0)
        assert 100 < (export.next_attempt_at - timezone.now()).total_seconds() <= 120


def test_the_order_list_shows_orders_that_no_connection_sends(
    member_client, connection, merchant, shop
):
    from django.urls import reverse

    sent = invoiced_order(merchant, shop, 1)
    manual = invoiced_order(merchant, None, 2)
    elsewhere = invoiced_order(merchant, ShopFactory(merchant=merchant, name="Anderer"), 3)

    def flagged() -> set[str]:
        page = member_client.get(reverse("orders:order_list")).context
        return {o.invoice_number for o in page["orders"] if o.pk in page["outside_connections"]}

    assert flagged() == {manual.invoice_number, elsewhere.invoice_number}
    connection.include_manual_orders = True
    connection.save()
    assert flagged() == {elsewhere.invoice_number}
    assert sent.invoice_number not in flagged()


# What left: the request bodies, not only the outcome.


def bodies(sandbox_http, path_part: str) -> list[dict]:
    return [
        json.loads(request.body)
        for request in sandbox_http.sent
        if path_part in request.url and request.body and request.method in ("POST", "PUT")
    ]


def test_a_retry_sends_the_same_voucher_body_as_the_first_save(
    connection, merchant, shop, sevdesk_account, sandbox_http
):
    order = invoiced_order(merchant, shop, 1)
    fault_inject(account=sevdesk_account, kind="http_500", path_contains="saveVoucher")
    run_export(connection)
    order.customer_name = "Jemand Anderes"  # the mirror changes; the voucher sent must not
    order.save()
    due_now(export_of(order))

    run_export(connection)

    first, second = bodies(sandbox_http, "saveVoucher")
    assert {**first, "filename": None} == {**second, "filename": None}
    assert second["voucher"]["description"] == "RE-2026-0001"
    assert second["voucher"]["supplierName"] == first["voucher"]["supplierName"]
    assert [p["sumGross"] for p in second["voucherPosSave"]] == [119.0]


@pytest.mark.parametrize(("paid", "payment_type"), [("119.00", "FULL_PAYMENT"), ("50.00", "N")])
def test_the_payment_is_booked_with_its_amount_type_date_and_offline_account(
    connection, merchant, shop, sevdesk_account, offline_account, sandbox_http, paid, payment_type
):
    invoiced_order(merchant, shop, 1, paid_amount=Decimal(paid))

    run_export(connection)

    [booking] = bodies(sandbox_http, "bookAmount")
    assert booking["amount"] == float(paid)
    assert booking["type"] == payment_type
    assert booking["date"] == "2026-03-02T00:00:00+01:00"  # PayedAt 09:30 UTC, a Berlin day
    assert booking["checkAccount"] == {"id": offline_account.pk, "objectName": "CheckAccount"}
