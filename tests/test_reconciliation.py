"""The reconciliation report: Billbee's documents of a month next to what sevDesk holds,
read back from the in-process sandbox sevDesk (each request and answer checked against
sevDesk's spec), with the deviations planted in the sandbox directly."""

import csv
import datetime
import io
from datetime import UTC
from decimal import Decimal

import pytest
from django.utils import timezone

from connections.models import Connection
from exports.models import OrderExport
from orders.models import BillbeeDocument, OrderItem
from reconciliation import tasks
from reconciliation.downloads import german_amount, report_csv, report_pdf
from reconciliation.models import ReconciliationReport
from reconciliation.selectors import latest_monthly_report_for
from reconciliation.services import (
    monthly_reports_schedule,
    previous_month,
    reconciliation_report_create,
    reconciliation_run,
)
from sandbox.sevdesk.models import Voucher
from tests.connections_factories import ConnectionFactory
from tests.exports_fixtures import invoiced_order, run_export

D = Decimal
MARCH = (datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))


def invoice_entry(order, positions=None, fees=()) -> BillbeeDocument:
    """Billbee's invoice list entry of the order (one 19 % position by default)."""
    positions = positions or [{"total_gross": str(order.total_gross), "vat_rate": "19"}]
    return BillbeeDocument.objects.create(
        merchant=order.merchant,
        order=order,
        billbee_order_id=order.billbee_id,
        type=BillbeeDocument.Type.INVOICE,
        number=order.invoice_number,
        invoice_date=order.invoice_date,
        currency="EUR",
        total_net=order.total_gross / D("1.19"),
        total_gross=order.total_gross,
        vat_mode=0,
        positions=[{"billbee_id": None, **p} for p in positions],
        fees=list(fees),
        synced_at=timezone.now(),
    )


def two_rate_order(merchant, shop, number):
    """119.00 at 19 % and 107.00 at 7 %, shipping 5.90 at 19 %: 231.90."""
    order = invoiced_order(
        merchant, shop, number, total_gross=D("231.90"), paid_amount=D("231.90"),
        shipping_cost=D("5.90"),
    )  # fmt: skip
    OrderItem.objects.create(
        merchant=merchant, order=order, position=2, title="Tee", quantity=1,
        total_price=D("107.00"), tax_amount=D("7.00"), tax_index=2,
    )  # fmt: skip
    invoice_entry(
        order,
        positions=[
            {"total_gross": "119.00", "vat_rate": "19"},
            {"total_gross": "107.00", "vat_rate": "7"},
        ],
        fees=[{"type": "ShipCost", "gross": "5.90", "vat_rate": "19"}],
    )
    return order


def voucher_of(order) -> Voucher:
    export = OrderExport.objects.get(order=order, document=None)
    return Voucher.objects.get(pk=export.voucher_id)


def planted_voucher(account, description, gross, day=datetime.date(2026, 3, 10), **fields):
    values = {"status": 100, "credit_debit": "D", "sum_gross": gross, "sum_net": gross} | fields
    return Voucher.objects.create(
        account=account, description=description, voucher_date=day, **values
    )


@pytest.fixture
def planted_month(connection, merchant, shop, sevdesk_account):
    """Seven invoices of March, six of them exported, then sevDesk changed behind our back."""
    orders = {}
    for number in (1, 2, 3, 4, 6, 7):
        orders[number] = invoiced_order(merchant, shop, number)
        invoice_entry(orders[number])
    orders[5] = two_rate_order(merchant, shop, 5)
    orders[6].paid_at = None  # no payment date yet: waits, not exported
    orders[6].save(update_fields=["paid_at"])
    run_export(connection)
    assert OrderExport.objects.get(order=orders[6]).voucher_id is None

    voucher_of(orders[1]).delete()  # missing in sevDesk
    planted_voucher(sevdesk_account, "RE-2026-0002", D("119.00"))  # a second one: duplicate
    Voucher.objects.filter(pk=voucher_of(orders[3]).pk).update(sum_gross=D("118.00"))  # amount
    Voucher.objects.filter(pk=voucher_of(orders[4]).pk).update(
        voucher_date=datetime.date(2026, 3, 5)
    )  # date
    Voucher.objects.filter(pk=voucher_of(orders[5]).pk).update(paid_amount=D("100.00"))  # payment
    planted_voucher(sevdesk_account, "RE-2026-9999", D("1234.56"))  # unknown to Billbee
    planted_voucher(sevdesk_account, "RE-2026-0100", D("5.00"), day=datetime.date(2026, 4, 1))
    planted_voucher(sevdesk_account, "Einkauf", D("9.00"), credit_debit="C")  # an expense
    return orders


def run_march(connection) -> ReconciliationReport:
    report = reconciliation_report_create(connection=connection, start=MARCH[0], end=MARCH[1])
    return reconciliation_run(report.pk)


def rows_by_number(report) -> dict:
    return {row.number: row for row in report.rows.all()}


def test_each_planted_deviation_is_flagged_on_its_row(connection, planted_month, sandbox_http):
    report = run_march(connection)

    assert report.status == ReconciliationReport.Status.DONE, report.message
    rows = rows_by_number(report)
    assert {number: row.flags for number, row in rows.items()} == {
        "RE-2026-0001": ["missing"],
        "RE-2026-0002": ["duplicate"],
        "RE-2026-0003": ["amount"],
        "RE-2026-0004": ["date"],
        "RE-2026-0005": ["payment"],
        "RE-2026-0006": ["not_exported"],
        "RE-2026-0007": [],
        "RE-2026-9999": ["unknown"],
    }
    assert "Zahldatum" in rows["RE-2026-0006"].note  # the export's reason
    assert rows["RE-2026-0002"].voucher_id == voucher_of(planted_month[2]).pk  # ours matched
    assert len(rows["RE-2026-0002"].other_voucher_ids) == 1
    assert (rows["RE-2026-0003"].billbee_gross, rows["RE-2026-0003"].voucher_gross) == (
        D("119.00"),
        D("118.00"),
    )
    assert rows["RE-2026-0004"].voucher_date == datetime.date(2026, 3, 5)
    assert rows["RE-2026-0004"].billbee_date == datetime.date(2026, 3, 2)
    assert (rows["RE-2026-0005"].voucher_paid, rows["RE-2026-0005"].expected_paid) == (
        D("100.00"),
        D("231.90"),
    )
    assert report.deviations == 7
    assert report.summary["flags"]["unknown"] == 1
    assert (report.documents, report.vouchers_read, report.pages_read) == (7, 7, 1)


def test_the_flagged_rows_come_first(connection, planted_month):
    report = run_march(connection)

    numbers = [row.number for row in report.rows.all()]
    assert numbers[-1] == "RE-2026-0007"  # the one that agrees


def test_totals_per_rate_split_only_vouchers_provably_ours(connection, planted_month):
    report = run_march(connection)

    rates = {line["rate"]: line for line in report.summary["rates"]}
    # Billbee: six times 119.00 and 124.90 at 19 %, 107.00 at 7 %
    assert rates["19"]["billbee"] == "838.90"
    assert rates["7"]["billbee"] == "107.00"
    # sevDesk: ours and unchanged (2, 4, 5, 7) by what we sent; the duplicate, the changed
    # voucher 3 and the unknown one under "unknown"
    assert rates["19"]["sevdesk"] == "481.90"
    assert rates["7"]["sevdesk"] == "107.00"
    assert rates["unknown"] == {
        "rate": "unknown", "billbee": None, "sevdesk": "1471.56", "difference": "1471.56"
    }  # fmt: skip
    assert report.summary["billbee_total"] == "945.90"
    assert report.summary["sevdesk_total"] == "2060.46"


def test_sevdesk_is_read_in_pages_and_never_written(connection, planted_month, sandbox_http):
    before = len(sandbox_http.sent)

    run_march(connection)

    sent = sandbox_http.sent[before:]
    assert [request.method for request in sent] == ["GET"]
    assert "/Voucher?" in sent[0].url
    assert "creditDebit=D" in sent[0].url and "limit=1000" in sent[0].url


def test_2500_vouchers_take_three_calls(connection, sevdesk_account, sandbox_http):
    Voucher.objects.bulk_create(
        Voucher(
            account=sevdesk_account,
            description=f"X-{n:05d}",
            voucher_date=datetime.date(2026, 3, 15),
            status=100,
            credit_debit="D",
            sum_gross=D("10.00"),
        )
        for n in range(2500)
    )
    before = sandbox_http.count("/Voucher", "GET")

    report = run_march(connection)

    assert sandbox_http.count("/Voucher", "GET") - before == 3
    assert (report.status, report.pages_read, report.vouchers_read) == ("done", 3, 2500)
    assert report.summary["flags"]["unknown"] == 2500
    assert report.summary["sevdesk_total"] == "25000.00"


def test_a_rejected_token_fails_the_report_with_a_message(merchant, shop, sandbox_http):
    connection = ConnectionFactory(
        merchant=merchant, shops=[shop], api_token="f" * 32, start_date=datetime.date(2026, 1, 1)
    )

    report = run_march(connection)

    assert report.status == ReconciliationReport.Status.FAILED
    assert "abgelehnt" in report.message and "API" in report.message
    assert report.finished_at is not None and not report.rows.exists()


@pytest.mark.parametrize(
    ("status", "words"),
    [(503, "nicht erreichbar"), (429, "weniger Anfragen")],
)
def test_an_outage_or_throttling_fails_the_report_with_a_message(
    connection, sandbox_http, responses_passthrough, status, words
):
    import responses

    responses_passthrough.add(
        responses.GET,
        f"{connection_base_url()}/Voucher",
        status=status,
        json={"error": {"message": "busy"}},
        headers={"Retry-After": "30"} if status == 429 else {},
    )

    report = run_march(connection)

    assert report.status == ReconciliationReport.Status.FAILED
    assert words in report.message


def connection_base_url() -> str:
    from django.conf import settings

    return settings.SEVDESK_API_BASE_URL


@pytest.fixture
def responses_passthrough(sandbox_http, settings):
    """sevDesk's answers mocked with `responses` (the sandbox adapter set aside)."""
    import responses

    settings.SEVDESK_API_BASE_URL = "https://my.sevdesk.de/api/v1"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_a_report_runs_once(connection, planted_month, sandbox_http):
    report = run_march(connection)
    before = len(sandbox_http.sent)

    again = reconciliation_run(report.pk)

    assert again.status == "done" and len(sandbox_http.sent) == before


def test_documents_of_other_shops_and_months_stay_out(connection, merchant, shop, sevdesk_account):
    from tests.orders_factories import ShopFactory

    other_shop = ShopFactory(merchant=merchant, name="Amazon")
    foreign = invoiced_order(merchant, other_shop, 40)
    invoice_entry(foreign)
    april = invoiced_order(
        merchant, shop, 41, invoice_date=datetime.datetime(2026, 4, 1, 10, tzinfo=UTC)
    )
    invoice_entry(april)
    # 31.03., 23:30 in Berlin is still March (UTC says 21:30)
    late = invoiced_order(
        merchant, shop, 42, invoice_date=datetime.datetime(2026, 3, 31, 21, 30, tzinfo=UTC)
    )
    invoice_entry(late)

    report = run_march(connection)

    assert set(rows_by_number(report)) == {"RE-2026-0042"}


def test_credit_notes_are_matched_by_their_number(connection, merchant, shop, sevdesk_account):
    order = invoiced_order(merchant, shop, 8)
    invoice_entry(order)
    BillbeeDocument.objects.create(
        merchant=merchant, order=order, billbee_order_id=order.billbee_id,
        type=BillbeeDocument.Type.CREDIT_NOTE, number="RE-2026-0008-GS",
        invoice_date=datetime.datetime(2026, 3, 20, 10, tzinfo=UTC), currency="EUR",
        total_net=D("-50.00"), total_gross=D("-59.50"), vat_mode=0,
        positions=[{"total_gross": "-59.50", "vat_rate": "19"}], synced_at=timezone.now(),
    )  # fmt: skip
    planted_voucher(sevdesk_account, "RE-2026-0008", D("119.00"), day=datetime.date(2026, 3, 2))
    planted_voucher(sevdesk_account, "RE-2026-0008-GS", D("-59.50"), day=datetime.date(2026, 3, 20))

    report = run_march(connection)

    rows = rows_by_number(report)
    assert rows["RE-2026-0008-GS"].document_type == "creditnote"
    assert rows["RE-2026-0008-GS"].voucher_gross == D("-59.50")
    assert "amount" not in rows["RE-2026-0008-GS"].flags
    rates = {line["rate"]: line for line in report.summary["rates"]}
    assert rates["19"]["billbee"] == "59.50"


def test_payments_are_not_compared_where_sevdesk_reconciles(connection, planted_month):
    Connection.objects.filter(pk=connection.pk).update(
        payment_reconciliation=Connection.PaymentReconciliation.SEVDESK
    )
    connection.refresh_from_db()

    report = run_march(connection)

    assert rows_by_number(report)["RE-2026-0005"].flags == []


# --- Downloads -----------------------------------------------------------------------------


def test_the_csv_reads_back_with_german_numbers_and_dates(connection, planted_month):
    report = run_march(connection)

    content = report_csv(report)

    assert content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    header, rows = table[0], {line[0]: dict(zip(table[0], line, strict=True)) for line in table[1:]}
    assert header[:4] == ["Nummer", "Typ", "Belegdatum (Billbee)", "Brutto (Billbee)"]
    unknown = rows["RE-2026-9999"]
    assert unknown["Brutto (sevDesk)"] == "1.234,56"
    assert unknown["Abweichungen"] == "In sevDesk, in Billbee unbekannt"
    amount = rows["RE-2026-0003"]
    assert (amount["Brutto (Billbee)"], amount["Brutto (sevDesk)"]) == ("119,00", "118,00")
    assert amount["Belegdatum (Billbee)"] == "02.03.2026"
    assert rows["RE-2026-0006"]["Export"] == "Übersprungen"
    assert len(rows) == 8


def test_the_pdf_is_a_pdf(connection, planted_month):
    report = run_march(connection)

    assert report_pdf(report).startswith(b"%PDF")


def test_german_amounts():
    assert german_amount(D("1234567.5")) == "1.234.567,50"
    assert german_amount(D("-0.5")) == "-0,50"
    assert german_amount(None) == ""


# --- The monthly schedule ------------------------------------------------------------------


def test_the_monthly_report_waits_for_the_third_then_is_made_once(connection, monkeypatch):
    ConnectionFactory(merchant=connection.merchant, is_active=False)
    later = ConnectionFactory(merchant=connection.merchant, start_date=datetime.date(2026, 5, 1))

    assert monthly_reports_schedule(today=datetime.date(2026, 4, 2)) == []
    (report_id,) = monthly_reports_schedule(today=datetime.date(2026, 4, 3))
    assert monthly_reports_schedule(today=datetime.date(2026, 4, 4)) == []

    report = ReconciliationReport.objects.get(pk=report_id)
    assert (report.connection, report.kind) == (connection, "monthly")
    assert (report.period_start, report.period_end) == MARCH
    assert ReconciliationReport.objects.count() == 1
    assert latest_monthly_report_for(connection) == report
    assert latest_monthly_report_for(later) is None


def test_a_failed_monthly_report_is_tried_again_three_times_in_all(connection):
    (report_id,) = monthly_reports_schedule(today=datetime.date(2026, 4, 3))
    for attempt in range(1, 4):
        ReconciliationReport.objects.filter(pk=report_id).update(status="failed", attempts=attempt)
        again = monthly_reports_schedule(today=datetime.date(2026, 4, 4))
        assert again == ([report_id] if attempt < 3 else [])


def test_the_daily_task_runs_the_new_reports(connection, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.run_report, "delay", sent.append)
    monkeypatch.setattr(timezone, "localdate", lambda: datetime.date(2026, 4, 3))

    tasks.schedule_monthly()
    tasks.schedule_monthly()

    assert sent == [ReconciliationReport.objects.get().pk]


def test_previous_month_across_the_year():
    assert previous_month(datetime.date(2027, 1, 3)) == (
        datetime.date(2026, 12, 1),
        datetime.date(2026, 12, 31),
    )
    assert previous_month(datetime.date(2028, 3, 31))[1] == datetime.date(2028, 2, 29)


def test_the_schedule_is_declared():
    from core.schedules import declared_schedules

    assert "reconciliation.schedule_monthly" in {s.task for s in declared_schedules()}


# --- Pages ---------------------------------------------------------------------------------


def test_check_now_creates_a_report_and_shows_it(
    member_client, connection, planted_month, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tasks.run_report, "delay", reconciliation_run)
    url = f"/reconciliation/connections/{connection.pk}/"
    assert "Abstimmung" in member_client.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(url, {"period": "month", "month": "2026-03"})

    report = ReconciliationReport.objects.get()
    assert response.status_code == 302
    assert response.url == f"/reconciliation/reports/{report.pk}/"
    page = member_client.get(response.url).content.decode()
    assert "Fehlt in sevDesk" in page and "Mehrere Belege mit dieser Nummer" in page
    only = member_client.get(response.url + "?only=deviations").content.decode()
    assert 'data-number="RE-2026-0007"' in page and 'data-number="RE-2026-0007"' not in only
    progress = member_client.get(response.url + "?format=json").json()
    assert progress["finished"] and progress["deviations"] == 7
    csv_response = member_client.get(f"/reconciliation/reports/{report.pk}/csv/")
    assert csv_response["Content-Type"].startswith("text/csv")
    assert "abstimmung-2026-03-01-2026-03-31.csv" in csv_response["Content-Disposition"]
    assert member_client.get(f"/reconciliation/reports/{report.pk}/pdf/").content[:4] == b"%PDF"


def test_a_period_from_to(member_client, connection, monkeypatch):
    monkeypatch.setattr(tasks.run_report, "delay", lambda pk: None)
    url = f"/reconciliation/connections/{connection.pk}/"

    member_client.post(url, {"period": "range", "date_from": "2026-03-10", "date_to": "2026-03-20"})
    bad = member_client.post(
        url, {"period": "range", "date_from": "2026-03-20", "date_to": "2026-03-10"}
    )

    report = ReconciliationReport.objects.get()
    assert (report.period_start, report.period_end, report.kind) == (
        datetime.date(2026, 3, 10),
        datetime.date(2026, 3, 20),
        "manual",
    )
    assert bad.status_code == 200 and "endet vor seinem Beginn" in bad.content.decode()


def test_another_merchants_report_is_not_found(member_client, connection):
    other = ConnectionFactory()
    report = reconciliation_report_create(connection=other, start=MARCH[0], end=MARCH[1])

    assert member_client.get(f"/reconciliation/reports/{report.pk}/").status_code == 404
    assert member_client.get(f"/reconciliation/reports/{report.pk}/csv/").status_code == 404
    assert member_client.get(f"/reconciliation/connections/{other.pk}/").status_code == 404


def test_the_export_log_links_to_the_reconciliation(member_client, connection):
    page = member_client.get(f"/exports/connections/{connection.pk}/").content.decode()

    assert f'href="/reconciliation/connections/{connection.pk}/"' in page


def test_the_totals_table_speaks_german(member_client, connection, planted_month):
    report = run_march(connection)

    page = member_client.get(f"/reconciliation/reports/{report.pk}/").content.decode()

    assert '<tr data-rate="19"><td>19 %</td><td>838,90</td><td>481,90</td><td>-357,00</td>' in page
    assert '<tr data-rate="unknown"><td>unbekannt</td><td>–</td><td>1.471,56</td>' in page


def test_a_failed_report_shows_why(member_client, merchant, shop, sandbox_http):
    connection = ConnectionFactory(merchant=merchant, shops=[shop], api_token="f" * 32)
    report = run_march(connection)

    page = member_client.get(f"/reconciliation/reports/{report.pk}/").content.decode()

    assert "Fehlgeschlagen" in page and "API-Token der Verbindung abgelehnt" in page
    assert 'id="download-csv"' not in page


def test_a_member_sees_the_reports_but_only_owners_start_one(
    plain_member_client, connection, planted_month
):
    report = run_march(connection)
    url = f"/reconciliation/connections/{connection.pk}/"

    assert plain_member_client.get(f"/reconciliation/reports/{report.pk}/").status_code == 200
    assert plain_member_client.get(url).status_code == 200
    # Every POST is owner-only unless merchants.permissions.MEMBER_MAY_POST names it.
    assert plain_member_client.post(url, {"period": "month", "month": "2026-03"}).status_code == 403
    assert ReconciliationReport.objects.count() == 1


def test_an_answer_that_ignores_the_offset_ends_the_report_instead_of_looping(
    connection, responses_passthrough
):
    import responses

    page = [
        {"id": str(n), "description": f"X-{n}", "status": "100", "sumGross": "1.00",
         "voucherDate": "2026-03-10T00:00:00+01:00", "paidAmount": 0}
        for n in range(1, 1001)
    ]  # fmt: skip
    responses_passthrough.add(
        responses.GET, f"{connection_base_url()}/Voucher", json={"objects": page}
    )

    report = run_march(connection)

    assert report.status == ReconciliationReport.Status.FAILED
    assert "nicht erreichbar" in report.message
    assert len(responses_passthrough.calls) == 2
