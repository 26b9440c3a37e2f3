"""The order list (filters, search, pagination), one order, and its invoice PDF."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import InvoiceDocument
from orders.services import order_upsert
from tests.orders_factories import (
    BillbeeAccountFactory,
    FakeBillbee,
    InvoiceDocumentFactory,
    OrderFactory,
    ShopFactory,
    billbee_order,
)

LIST = reverse("orders:order_list")


def listed(response) -> list[str]:
    return [order.order_number for order in response.context["orders"]]


def test_list_shows_the_merchants_orders_newest_first(member_client, merchant):
    older = OrderFactory(merchant=merchant, order_date=datetime(2026, 1, 1, tzinfo=UTC))
    newer = OrderFactory(merchant=merchant, order_date=datetime(2026, 2, 1, tzinfo=UTC))
    OrderFactory()  # another merchant's

    response = member_client.get(LIST)

    assert response.status_code == 200
    assert listed(response) == [newer.order_number, older.order_number]
    assert "Zahlung erhalten" in response.content.decode()  # the state's name, not its id


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "4"}, ["shipped"]),
        ({"invoice": "yes"}, ["invoiced"]),
        ({"invoice": "no"}, ["shipped", "tagged", "plain"]),
        ({"paid": "yes"}, ["invoiced"]),
        ({"paid": "no"}, ["shipped", "tagged", "plain"]),
        ({"tag": "sevDesk"}, ["tagged"]),
    ],
)
def test_sidebar_filters_narrow_the_list(member_client, merchant, query, expected):
    day = datetime(2026, 3, 1, tzinfo=UTC)
    OrderFactory(merchant=merchant, order_number="plain", order_date=day)
    OrderFactory(merchant=merchant, order_number="tagged", tags=["sevDesk"], order_date=day)
    OrderFactory(merchant=merchant, order_number="shipped", state=4, order_date=day)
    OrderFactory(
        merchant=merchant,
        order_number="invoiced",
        invoice_number="RE-1",
        invoice_date=day,
        paid_at=day,
        order_date=day,
    )

    response = member_client.get(LIST, query)

    assert sorted(listed(response)) == sorted(expected)


def test_shop_filter_offers_only_own_shops_and_narrows_the_list(member_client, merchant):
    shop = ShopFactory(merchant=merchant)
    foreign_shop = ShopFactory()
    OrderFactory(merchant=merchant, order_number="in-shop", shop=shop)
    OrderFactory(merchant=merchant, order_number="elsewhere")

    response = member_client.get(LIST, {"shop": shop.pk})
    foreign = member_client.get(LIST, {"shop": foreign_shop.pk})

    assert listed(response) == ["in-shop"]
    assert sorted(listed(foreign)) == ["elsewhere", "in-shop"]  # invalid choice: ignored


@pytest.mark.parametrize("term", ["WEB-0042", "RE-2026-7", "mustermann", "erika@"])
def test_search_finds_by_order_number_invoice_number_customer_name_or_email(
    member_client, merchant, term
):
    OrderFactory(
        merchant=merchant,
        order_number="WEB-0042",
        invoice_number="RE-2026-7",
        customer_name="Erika Mustermann",
        customer_email="erika@example.com",
    )
    OrderFactory(
        merchant=merchant, order_number="other", customer_name="Max", customer_email="m@x.de"
    )

    response = member_client.get(LIST, {"q": term})

    assert listed(response) == ["WEB-0042"]


def test_pagination_pages_through_without_counting_the_table(member_client, merchant):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(120):
        OrderFactory(merchant=merchant, order_number=f"N{n:03d}", order_date=start + timedelta(n))

    with CaptureQueriesContext(connection) as queries:
        first = member_client.get(LIST)
    # Read before the next request: Django empties the query log when a request starts.
    counts = [q["sql"].upper() for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    with CaptureQueriesContext(connection) as queries:
        third = member_client.get(LIST, {"page": 3})
    third_counts = [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]

    assert listed(first)[:2] == ["N119", "N118"] and len(listed(first)) == 50
    assert first.context["has_next"] and not first.context["has_previous"]
    assert listed(third) == [f"N{n:03d}" for n in range(19, -1, -1)]
    assert not third.context["has_next"] and third.context["has_previous"]
    # The total is counted up to a bound, never over the whole table; the last page knows it.
    assert counts and all("LIMIT 10001" in sql for sql in counts)
    assert third_counts == []
    assert first.context["total"].number == third.context["total"].number == 120


def test_pagination_links_keep_the_filters(member_client, merchant):
    for _ in range(51):
        OrderFactory(merchant=merchant, state=4)

    page = member_client.get(LIST, {"state": "4"}).content.decode()

    assert "?state=4&amp;page=2" in page


def test_detail_shows_items_payments_address_and_raw_document(member_client, merchant):
    order, _created = order_upsert(merchant=merchant, billbee_order=billbee_order())

    response = member_client.get(reverse("orders:order_detail", args=[order.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Teekanne" in page and f"PP-{order.billbee_id}" in page and "10115 Berlin" in page
    assert "123.9500000000000000000000001" in page  # the raw document, exact
    assert reverse("orders:order_invoice_pdf", args=[order.pk]) in page


def test_another_merchants_order_is_not_found(member_client):
    foreign = OrderFactory()

    detail = member_client.get(reverse("orders:order_detail", args=[foreign.pk]))
    pdf = member_client.get(reverse("orders:order_invoice_pdf", args=[foreign.pk]))

    assert (detail.status_code, pdf.status_code) == (404, 404)


def test_invoice_pdf_download_serves_the_stored_file(member_client, merchant):
    document = InvoiceDocumentFactory(
        order__merchant=merchant, order__invoice_date=datetime(2026, 3, 1, tzinfo=UTC)
    )

    response = member_client.get(reverse("orders:order_invoice_pdf", args=[document.order.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="RE-1.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == b"%PDF-1.4 stored"


def test_invoice_pdf_is_fetched_from_billbee_once_then_served_from_storage(
    member_client, merchant, monkeypatch
):
    BillbeeAccountFactory(merchant=merchant)
    fake = FakeBillbee()
    remote = billbee_order()
    fake.put(remote)
    fake.pdfs[remote.billbee_id] = b"%PDF-1.7 from billbee"
    monkeypatch.setattr("orders.services.billbee_client_for", lambda account: fake)
    order, _created = order_upsert(merchant=merchant, billbee_order=remote)
    url = reverse("orders:order_invoice_pdf", args=[order.pk])

    bodies = [b"".join(member_client.get(url).streaming_content) for _ in range(2)]

    assert bodies == [b"%PDF-1.7 from billbee"] * 2
    assert [call["op"] for call in fake.calls] == ["get_invoice_pdf"]
    document = InvoiceDocument.objects.get(order=order)
    assert document.file.name.startswith(f"invoices/{merchant.pk}/")


def test_invoice_pdf_of_an_order_without_invoice_explains_instead_of_asking_billbee(
    member_client, merchant
):
    order = OrderFactory(merchant=merchant)

    response = member_client.get(reverse("orders:order_invoice_pdf", args=[order.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("orders:order_detail", args=[order.pk])
    assert "noch keine Rechnung" in response.content.decode()
