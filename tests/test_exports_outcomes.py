"""What the merchant reads about each export: the rule that failed, "voucher created - payment
open" as its own outcome everywhere, retry buttons only where a retry helps, and no attempts
used by re-exports with nothing to send."""

import pytest
from django.urls import reverse

from exports.models import ExportAttempt, ExportRun, OrderExport
from exports.selectors import outcome_counts
from tests.exports_fixtures import invoiced_order, run_export

BESTELLT = 1


def _export(connection, order) -> OrderExport:
    return OrderExport.objects.get(connection=connection, order=order, document=None)


def test_the_skip_message_names_every_rule_that_failed(merchant, shop, connection):
    connection.start_date = connection.start_date.replace(year=2027)
    connection.save()
    order = invoiced_order(merchant, shop, state=BESTELLT)

    run_export(connection, kind=ExportRun.Kind.MANUAL, orders=[order])

    message = _export(connection, order).message
    assert message.startswith("Nicht übertragen: ")
    assert "Aktueller Status „Bestellt“ gehört nicht zu den gewählten Auftragsstatus" in message
    assert "(Reiter Eigenschaften)" in message
    assert "Belegdatum vor dem Startdatum 01.01.2027" in message
    assert "ist einer der Status" not in message


def test_a_voucher_with_its_payment_open_is_its_own_outcome_in_run_tiles_and_log(
    member_client, merchant, shop, connection
):
    paid = invoiced_order(merchant, shop, 1)
    unassigned = invoiced_order(merchant, shop, 2, payment_method=1)  # no account for it

    run = run_export(connection, kind=ExportRun.Kind.MANUAL, orders=[paid, unassigned])

    assert _export(connection, unassigned).status == OrderExport.Status.VOUCHER_CREATED
    assert (run.done, run.payment_open, run.failed, run.skipped) == (1, 1, 0, 0)
    assert run.status == ExportRun.Status.FINISHED
    counts = outcome_counts(connection)
    assert (counts["exported"], counts["payment_open"], counts["needs_action"]) == (1, 1, 0)
    progress = member_client.get(reverse("exports:run_progress", args=[run.pk]))
    page = progress.content.decode()
    assert 'id="count-payment-open">1<' in page
    assert 'id="count-failed">0<' in page
    assert "?tab=accounts" in page
    log = reverse("exports:connection_export_log", args=[connection.pk])
    listed = member_client.get(log, {"outcome": "payment_open"}).content.decode()
    assert unassigned.invoice_number in listed and paid.invoice_number not in listed
    assert 'id="count-payment-open">1<' in member_client.get(log).content.decode()


def test_the_log_refuses_an_unknown_outcome(member_client, connection):
    log = reverse("exports:connection_export_log", args=[connection.pk])
    assert member_client.get(log, {"outcome": "everything"}).status_code == 400
    assert member_client.get(log, {"period": "year"}).status_code == 400


@pytest.mark.parametrize("state, kind", [(3, "finished"), (BESTELLT, "not eligible")])
def test_a_manual_re_export_with_nothing_to_send_uses_no_attempt(
    merchant, shop, connection, state, kind
):
    order = invoiced_order(merchant, shop, state=state)
    run_export(connection, kind=ExportRun.Kind.MANUAL, orders=[order])
    before = _export(connection, order)
    attempts = ExportAttempt.objects.filter(export=before).count()

    run_export(connection, kind=ExportRun.Kind.MANUAL, orders=[order])
    run_export(connection, kind=ExportRun.Kind.MANUAL, orders=[order])

    after = _export(connection, order)
    assert after.attempt_count == before.attempt_count, kind
    assert ExportAttempt.objects.filter(export=after).count() == attempts, kind


@pytest.mark.parametrize(
    "status, problem, label",
    [
        (OrderExport.Status.RETRY, OrderExport.Problem.TEMPORARY, "Jetzt senden"),
        (OrderExport.Status.NEEDS_ACTION, OrderExport.Problem.REJECTED, "Erneut senden"),
        (OrderExport.Status.NEEDS_ACTION, OrderExport.Problem.OSS, None),
        (OrderExport.Status.NEEDS_ACTION, OrderExport.Problem.CANCELLED_AFTER_EXPORT, None),
        (OrderExport.Status.SKIPPED, OrderExport.Problem.WAITING_FOR_INVOICE, None),
        (OrderExport.Status.SKIPPED, OrderExport.Problem.NOT_ELIGIBLE, None),
        (OrderExport.Status.VOUCHER_CREATED, OrderExport.Problem.NO_ACCOUNT, None),
        (OrderExport.Status.PAID, OrderExport.Problem.NONE, None),
    ],
)
def test_a_retry_is_offered_only_where_it_helps_and_says_what_it_does(
    member_client, merchant, shop, connection, status, problem, label
):
    order = invoiced_order(merchant, shop)
    export = OrderExport.objects.create(
        merchant=merchant, connection=connection, order=order, status=status, problem=problem
    )
    log = reverse("exports:connection_export_log", args=[connection.pk])

    page = member_client.get(log).content.decode()
    response = member_client.post(reverse("exports:order_export_retry", args=[export.pk]))

    export.refresh_from_db()
    if label:
        assert f">{label}</button>" in page
        assert export.status == OrderExport.Status.PENDING
    else:
        assert 'class="link retry"' not in page
        assert export.status == status  # refused: nothing changed
        assert response.status_code == 302
