"""The manual export from the order list, its progress page, and the export log."""

import pytest
from django.urls import reverse

from exports.models import ExportRun, OrderExport
from exports.tasks import run_manual
from sandbox.sevdesk.models import Voucher
from tests.exports_fixtures import invoiced_order, run_export


@pytest.fixture
def english(member_client):
    member_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return member_client


def test_the_order_list_offers_the_export_of_the_chosen_orders(english, connection, merchant, shop):
    order = invoiced_order(merchant, shop)

    page = english.get(reverse("orders:order_list")).content.decode()

    assert f'name="order" value="{order.pk}"' in page
    assert "Export to sevDesk" in page


def test_choosing_orders_asks_for_the_connection_and_the_tag_first(
    english, connection, merchant, shop
):
    orders = [invoiced_order(merchant, shop, n) for n in (1, 2)]

    response = english.post(reverse("exports:manual_export"), {"order": [o.pk for o in orders]})

    assert response.status_code == 200
    assert list(response.context["orders"]) == orders
    assert not ExportRun.objects.exists()
    assert "Tag exported orders with “sevDesk”" in response.content.decode()


def test_confirming_starts_a_background_run_and_shows_its_progress(
    english,
    connection,
    merchant,
    shop,
    django_capture_on_commit_callbacks,
    monkeypatch,
    eager_tasks,
):
    order = invoiced_order(merchant, shop)
    queued = []
    monkeypatch.setattr(run_manual, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        response = english.post(
            reverse("exports:manual_export"),
            {"order": [order.pk], "connection": connection.pk, "confirm": "1"},
        )

    run = ExportRun.objects.get()
    assert response["Location"] == reverse("exports:run_progress", args=[run.pk])
    assert (run.kind, run.order_ids, run.tag_orders) == ("manual", [order.pk], False)
    assert queued == [run.pk]
    run_manual(run.pk)
    progress = english.get(reverse("exports:run_progress", args=[run.pk]) + "?format=json").json()
    assert (progress["finished"], progress["done"], progress["failed"]) == (True, 1, 0)
    assert progress["orders"][0]["invoice_number"] == order.invoice_number
    assert Voucher.objects.count() == 1


def test_all_orders_matching_the_filter_can_be_exported(english, connection, merchant, shop):
    paid = invoiced_order(merchant, shop, 1)
    invoiced_order(merchant, shop, 2, paid_at=None)

    response = english.post(
        reverse("exports:manual_export"), {"all_matching": "1", "query": "paid=yes"}
    )

    assert list(response.context["orders"]) == [paid]


def test_orders_of_another_merchant_cannot_be_smuggled_in(english, connection, merchant, shop):
    from tests.orders_factories import OrderFactory

    foreign = OrderFactory()

    response = english.post(reverse("exports:manual_export"), {"order": [foreign.pk]})

    assert list(response.context["orders"]) == []


def test_the_export_log_counts_and_retries(english, connection, merchant, shop, sevdesk_account):
    ok = invoiced_order(merchant, shop, 1)
    waiting = invoiced_order(merchant, shop, 2, invoice_number="", invoice_date=None)
    failing = invoiced_order(merchant, shop, 3)
    run_export(connection)
    OrderExport.objects.filter(order=failing).update(
        status=OrderExport.Status.NEEDS_ACTION, message="Order could not be exported: nope"
    )

    page = english.get(reverse("exports:connection_export_log", args=[connection.pk]))

    counts = page.context["counts"]
    assert (counts.exported_today, counts.failing, counts.waiting_for_invoice) == (1, 1, 1)
    body = page.content.decode()
    assert "Order could not be exported: nope" in body
    assert ok.invoice_number in body and str(waiting) in body
    export = OrderExport.objects.get(order=failing)
    english.post(reverse("exports:order_export_retry", args=[export.pk]))
    export.refresh_from_db()
    assert export.status == OrderExport.Status.PENDING


def test_the_order_list_filters_by_export_status(english, connection, merchant, shop):
    exported = invoiced_order(merchant, shop, 1)
    never = invoiced_order(merchant, shop, 2, state=8)
    run_export(connection)

    paid = english.get(reverse("orders:order_list") + "?export_status=paid").context["orders"]
    none = english.get(reverse("orders:order_list") + "?export_status=none").context["orders"]

    assert list(paid) == [exported]
    assert list(none) == [never]


def test_the_connection_list_shows_last_export_open_errors_and_next_run(
    english, connection, merchant, shop
):
    invoiced_order(merchant, shop, 1)
    failing = invoiced_order(merchant, shop, 2)
    run_export(connection)
    OrderExport.objects.filter(order=failing).update(status=OrderExport.Status.NEEDS_ACTION)

    response = english.get(reverse("connections:connection_list"))

    row = response.context["connections"][0]
    assert row.open_errors == 1
    assert row.last_export_at is not None
    assert response.context["next_run"] is not None  # the schedule exists after migrate
    assert 'id="next-run"' in response.content.decode()
