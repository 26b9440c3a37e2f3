"""A member of merchant A must never see or change merchant B's objects.

The tests walk the URL configuration: every URL that takes an id is tried with an object of
another merchant, so a URL added later is covered without touching this file. A view that
takes an id must name its model (``model`` on the class-based view or the view function), and
``OWNED_BY`` below must know how to make one for a given merchant.
"""

import pytest
from django.urls import reverse

from connections.models import Connection
from exports.models import ExportRun, OrderExport
from merchants.models import MerchantAccount
from orders.models import Order
from tests.connections_factories import ConnectionFactory
from tests.factories import MembershipFactory, MerchantAccountFactory
from tests.orders_factories import OrderFactory
from tests.urlwalk import iter_routes, tenant_model_of

# model -> function(merchant) returning an instance owned by that merchant
OWNED_BY = {
    MerchantAccount: lambda merchant: merchant,
    Order: lambda merchant: OrderFactory(merchant=merchant),
    Connection: lambda merchant: ConnectionFactory(merchant=merchant),
    OrderExport: lambda merchant: OrderExport.objects.create(
        merchant=merchant,
        connection=ConnectionFactory(merchant=merchant),
        order=OrderFactory(merchant=merchant),
        status=OrderExport.Status.NEEDS_ACTION,
    ),
    ExportRun: lambda merchant: ExportRun.objects.create(
        merchant=merchant, connection=ConnectionFactory(merchant=merchant), kind="manual"
    ),
}

PUBLIC_URL_NAMES = {"login", "health", "set_language"}

ROUTES_WITH_IDS = [route for route in iter_routes() if route.params]
ROUTES_WITHOUT_IDS = [route for route in iter_routes() if not route.params]


def test_the_walk_finds_the_urls_that_take_ids():
    assert "switch_merchant" in {route.name for route in ROUTES_WITH_IDS}


@pytest.mark.parametrize("route", ROUTES_WITH_IDS, ids=lambda route: route.name)
def test_member_of_a_gets_404_or_403_on_merchant_b_objects(route, member_client):
    model = tenant_model_of(route.callback)
    assert model is not None, f"{route.pattern}: the view must name the model its id refers to"
    assert model in OWNED_BY, f"{route.pattern}: add {model.__name__} to OWNED_BY in this test"
    other_merchant = MerchantAccountFactory()
    foreign = OWNED_BY[model](other_merchant)
    url = reverse(route.name, kwargs={param: foreign.pk for param in route.params})

    responses = {
        "GET": member_client.get(url).status_code,
        "POST": member_client.post(url).status_code,
    }

    # 405 only means the method is not offered at all; every method offered must refuse.
    assert all(code in (403, 404, 405) for code in responses.values()), (url, responses)
    assert any(code in (403, 404) for code in responses.values()), (url, responses)


@pytest.mark.parametrize("route", ROUTES_WITH_IDS, ids=lambda route: route.name)
def test_member_can_reach_own_objects_through_the_same_urls(route, member_client, merchant):
    """The counterpart: the 404s above come from tenancy, not from broken URLs."""
    model = tenant_model_of(route.callback)
    own = OWNED_BY[model](merchant)
    url = reverse(route.name, kwargs={param: own.pk for param in route.params})

    responses = [member_client.get(url).status_code, member_client.post(url).status_code]

    assert any(code in (200, 302) for code in responses), (url, responses)


PRIVATE_ROUTES = [
    route for route in ROUTES_WITHOUT_IDS + ROUTES_WITH_IDS if route.name not in PUBLIC_URL_NAMES
]


@pytest.mark.parametrize("route", PRIVATE_ROUTES, ids=lambda route: route.name)
def test_every_page_but_login_and_health_needs_a_login(route, client, db):
    url = reverse(route.name, kwargs={param: 1 for param in route.params})

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_user_sees_only_the_merchant_accounts_they_belong_to(client):
    mine = MembershipFactory()
    MembershipFactory()  # someone else's merchant
    client.force_login(mine.user)

    page = client.get("/").content.decode()

    assert mine.merchant.name in page
    assert MerchantAccount.objects.exclude(pk=mine.merchant.pk).get().name not in page


@pytest.mark.django_db
def test_switching_to_a_merchant_one_belongs_to_changes_the_current_merchant(client):
    first = MembershipFactory()
    second = MembershipFactory(user=first.user)
    client.force_login(first.user)

    client.post(reverse("switch_merchant", args=[second.merchant.pk]), {"next": "/"})

    assert client.get("/").context["current_merchant"] == second.merchant
