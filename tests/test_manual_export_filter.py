""" "Export all orders matching the filter": the filter travels, never one field per order."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from exports import views as export_views
from exports.models import ExportRun
from orders.models import Order
from tests.orders_factories import OrderFactory, ShopFactory
from tests.urlwalk import forms_on

MANY = 2_000


@pytest.fixture
def shops(merchant):
    return ShopFactory(merchant=merchant, name="Laden"), ShopFactory(merchant=merchant)


@pytest.fixture
def many_orders(merchant, shops):
    """2,000 orders of one shop, and a few of another that the filter leaves out."""
    shop, other = shops
    start = datetime(2026, 3, 1, tzinfo=UTC)
    Order.objects.bulk_create(
        OrderFactory.build(
            merchant=merchant, shop=shop if n < MANY else other, billbee_id=900_000 + n,
            order_number=f"B-{n:05d}", order_date=start + timedelta(minutes=n),
        )
        for n in range(MANY + 5)
    )  # fmt: skip
    return Order.objects.filter(shop=shop).order_by("pk")


@pytest.fixture
def connection(merchant):
    from tests.connections_factories import ConnectionFactory

    return ConnectionFactory(merchant=merchant)


def test_a_filter_of_2000_orders_starts_one_run_with_all_of_them(
    member_client, merchant, shops, many_orders, connection, monkeypatch
):
    monkeypatch.setattr(export_views.run_manual, "delay", lambda run_id: None)
    query = f"shop={shops[0].pk}&paid=&invoice="
    order_list = member_client.get(reverse("orders:order_list") + "?" + query).content.decode()
    (list_form,) = [f for f in forms_on(order_list) if f.action == reverse("exports:manual_export")]

    confirm = member_client.post(reverse("exports:manual_export"), list_form.data(all_matching="1"))
    assert confirm.status_code == 200
    assert "2000 Bestellungen werden direkt an sevDesk" in confirm.content.decode()
    (confirm_form,) = [
        f for f in forms_on(confirm.content.decode()) if f.id == "manual-export-form"
    ]
    started = member_client.post(
        reverse("exports:manual_export"),
        confirm_form.data(confirm="1", connection=str(connection.pk)),
    )

    assert started.status_code == 302  # not Django's 400 for more than 1,000 fields
    assert len(confirm_form.fields) < 10  # the filter travels, not 2,000 order ids
    run = ExportRun.objects.get()
    assert started["Location"] == reverse("exports:run_progress", args=[run.pk])
    assert run.order_ids == list(many_orders.values_list("pk", flat=True))
    assert run.total == MANY
    progress = member_client.get(reverse("exports:run_progress", args=[run.pk]))
    assert progress.status_code == 200
    data = member_client.get(
        reverse("exports:run_progress", args=[run.pk]), headers={"accept": "application/json"}
    ).json()
    assert (data["total"], len(data["orders"]), data["not_listed"]) == (MANY, 500, MANY - 500)


def test_one_hidden_field_per_order_would_have_been_refused(member_client, merchant, many_orders):
    """What the confirmation page sent before: Django refuses more than 1,000 fields."""
    ids = list(many_orders.values_list("pk", flat=True))

    response = member_client.post(reverse("exports:manual_export"), {"order": ids})

    assert response.status_code == 400


def test_more_orders_than_the_limit_are_refused_with_a_message(
    member_client, merchant, many_orders, connection, monkeypatch
):
    monkeypatch.setattr(export_views, "MANUAL_EXPORT_LIMIT", 1_000)

    response = member_client.post(
        reverse("exports:manual_export"),
        {"all_matching": "1", "query": "", "confirm": "1", "connection": connection.pk},
    )

    assert response.status_code == 200
    assert not ExportRun.objects.exists()
    message = response.context["too_many"]
    assert "2.005 Bestellungen" in message and "1.000" in message
    assert 'id="start-export"' not in response.content.decode()


def test_the_documented_limit_is_fifty_thousand():
    assert export_views.MANUAL_EXPORT_LIMIT == 50_000


def test_an_unreadable_filter_exports_nothing_rather_than_everything(
    member_client, merchant, many_orders, connection
):
    response = member_client.post(
        reverse("exports:manual_export"),
        {"all_matching": "1", "query": "shop=99999999", "confirm": "1",
         "connection": connection.pk},
    )  # fmt: skip

    assert response.status_code == 400
    assert not ExportRun.objects.exists()


def test_orders_ticked_on_the_list_still_travel_as_ids(member_client, merchant, connection):
    orders = OrderFactory.create_batch(3, merchant=merchant)

    confirm = member_client.post(
        reverse("exports:manual_export"), {"order": [o.pk for o in orders]}
    )

    (form,) = [f for f in forms_on(confirm.content.decode()) if f.id == "manual-export-form"]
    assert sorted(int(v) for v in form.data()["order"]) == sorted(o.pk for o in orders)
    assert "all_matching" not in form.data()
