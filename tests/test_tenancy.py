"""A member of merchant A must never see or change merchant B's objects.

The tests walk the URL configuration: every URL that takes an id is tried with an object of
another merchant, so a URL added later is covered without touching this file. A view that
takes an id must name its model (``model`` on the class-based view or the view function), and
``tests.urlwalk.own_object`` must know how to make one for a given merchant.

Forms carry the merchant they were rendered for: one rendered for A and submitted after the
user switched to B (in another tab) is refused, whatever URL it posts to.
"""

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve, reverse

from connections.models import Connection
from exports.models import OrderExport
from merchants.models import MerchantAccount
from merchants.permissions import NOT_MERCHANT_DATA, SIGNED_ENDPOINTS
from orders.models import BillbeeAccount
from sandbox.sevdesk.services import sandbox_account_create
from tests.connections_factories import GOOD_TOKEN, ConnectionFactory
from tests.factories import MembershipFactory, MerchantAccountFactory
from tests.orders_factories import BillbeeAccountFactory, OrderFactory, ShopFactory
from tests.urlwalk import forms_on, iter_routes, own_object, tenant_model_of, url_of, writes_in

# billbee_webhook: Billbee calls it without a login; the signature is checked instead
# (tests/test_billbee_webhooks.py).
PUBLIC_URL_NAMES = {"login", "health", "set_language", "favicon"} | SIGNED_ENDPOINTS

ROUTES_WITH_IDS = [
    route for route in iter_routes() if route.params and route.name not in SIGNED_ENDPOINTS
]
ROUTES_WITHOUT_IDS = [route for route in iter_routes() if not route.params]


def test_the_walk_finds_the_urls_that_take_ids():
    assert "switch_merchant" in {route.name for route in ROUTES_WITH_IDS}


@pytest.mark.parametrize("route", ROUTES_WITH_IDS, ids=lambda route: route.name)
def test_member_of_a_gets_404_or_403_on_merchant_b_objects(route, member_client):
    model = tenant_model_of(route.callback)
    assert model is not None, f"{route.pattern}: the view must name the model its id refers to"
    other_merchant = MerchantAccountFactory()
    foreign = own_object(model, other_merchant)
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
    own = own_object(model, merchant)
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


# --- Forms carry the merchant they were rendered for -----------------------------------------


@pytest.fixture
def two_merchants(db, sandbox_http):
    """A user who owns A and B, working in A; A has one of everything the pages show."""
    in_a = MembershipFactory(merchant__name="A Laden")
    in_b = MembershipFactory(user=in_a.user, merchant__name="B Handel")
    sandbox_account_create(name="sevDesk von A", token=GOOD_TOKEN)
    shop = ShopFactory(merchant=in_a.merchant)
    ConnectionFactory(merchant=in_a.merchant, shops=[shop])
    BillbeeAccountFactory(merchant=in_a.merchant)
    OrderFactory(merchant=in_a.merchant, shop=shop, payment_method=3)
    return in_a.user, in_a.merchant, in_b.merchant


def _logged_in(client, user, merchant):
    client.force_login(user)
    client.post(reverse("switch_merchant", args=[merchant.pk]), {"next": "/"})
    return client


def _post_forms_of_every_page(client, merchant):
    """(page, form) for each POST form of every page the walk reaches, as `merchant` sees it.

    The merchant switch of the top bar is left out: its script sets the action when a merchant
    is chosen.
    """
    found = []
    for route in iter_routes():
        if route.name in PUBLIC_URL_NAMES | {"logout"}:
            continue
        response = client.get(url_of(route, merchant))
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        page = response.request["PATH_INFO"]
        for form in forms_on(response.content.decode()):
            if form.method == "post" and form.id != "merchant-switch":
                found.append((page, form))
    return found


def _route_name(path: str) -> str | None:
    try:
        return resolve(path.split("?")[0]).view_name
    except Resolver404:
        return None


def test_every_post_form_carries_the_merchant_it_was_rendered_for(client, two_merchants):
    user, merchant_a, _merchant_b = two_merchants
    _logged_in(client, user, merchant_a)

    forms = _post_forms_of_every_page(client, merchant_a)

    actions = {_route_name(form.action or page) for page, form in forms}
    assert {"orders:billbee_account", "connections:connection_edit"} <= actions
    assert {"accounts_mapping:assignments_save", "exports:manual_export"} <= actions
    missing = [
        (page, form.action)
        for page, form in forms
        if ("merchant_id", str(merchant_a.pk)) not in form.fields
    ]
    assert missing == []


def test_a_form_rendered_for_one_merchant_and_sent_from_another_is_refused(client, two_merchants):
    """The stale tab: every form of A's pages, sent after switching to B, writes nothing."""
    user, merchant_a, merchant_b = two_merchants
    _logged_in(client, user, merchant_a)
    forms = [
        (page, form)
        for page, form in _post_forms_of_every_page(client, merchant_a)
        if _route_name(form.action or page) not in NOT_MERCHANT_DATA
    ]
    _logged_in(client, user, merchant_b)

    answers = []
    for page, form in forms:
        with CaptureQueriesContext(db) as queries:
            response = client.post(form.action or page, form.data())
        answers.append((form.action or page, response.status_code, writes_in(queries)))

    assert answers and all(status == 409 and not writes for _url, status, writes in answers), [
        answer for answer in answers if answer[1] != 409 or answer[2]
    ]


def test_the_same_forms_sent_from_the_merchant_they_belong_to_are_accepted(client, two_merchants):
    """The counterpart: the 409s above come from the switch, not from the forms."""
    user, merchant_a, _merchant_b = two_merchants
    _logged_in(client, user, merchant_a)
    forms = [
        (page, form)
        for page, form in _post_forms_of_every_page(client, merchant_a)
        if _route_name(form.action or page) not in NOT_MERCHANT_DATA
    ]

    statuses = {form.action or page: client.post(form.action or page, form.data()).status_code
                for page, form in forms}  # fmt: skip

    assert statuses and all(status in (200, 302) for status in statuses.values()), statuses


def test_a_stale_billbee_form_does_not_give_b_the_credentials_of_a(client, two_merchants):
    user, merchant_a, merchant_b = two_merchants
    _logged_in(client, user, merchant_a)
    page = client.get(reverse("orders:billbee_account")).content.decode()
    (form,) = [form for form in forms_on(page) if "username" in dict(form.fields)]
    _logged_in(client, user, merchant_b)  # in another tab

    response = client.post(
        reverse("orders:billbee_account"),
        form.data(api_key="key-of-a", username="user-of-a", api_password="secret-of-a",
                  action="save"),
    )  # fmt: skip

    assert response.status_code == 409
    body = response.content.decode()
    assert "„A Laden“" in body and "„B Handel“" in body and "nichts gespeichert" in body
    assert not BillbeeAccount.objects.filter(merchant=merchant_b).exists()
    assert client.get("/").context["current_merchant"] == merchant_b  # no silent switch


def test_a_stale_connection_form_creates_no_connection_in_b(client, two_merchants):
    user, merchant_a, merchant_b = two_merchants
    _logged_in(client, user, merchant_a)
    page = client.get(reverse("connections:connection_create")).content.decode()
    (form,) = [form for form in forms_on(page) if form.id == "connection-form"]
    _logged_in(client, user, merchant_b)

    response = client.post(
        reverse("connections:connection_create"),
        form.data(name="Von A", start_date="2026-01-01", order_states=["3"],
                  api_token=GOOD_TOKEN, include_manual_orders="on", action="save"),
    )  # fmt: skip

    assert response.status_code == 409
    assert not Connection.objects.filter(merchant=merchant_b).exists()


def test_a_stale_retry_is_refused(client, two_merchants):
    user, merchant_a, merchant_b = two_merchants
    export = own_object(OrderExport, merchant_b)
    _logged_in(client, user, merchant_b)

    response = client.post(
        reverse("exports:order_export_retry", args=[export.pk]), {"merchant_id": merchant_a.pk}
    )

    assert response.status_code == 409
    export.refresh_from_db()
    assert export.status == OrderExport.Status.NEEDS_ACTION


def test_the_merchant_switch_works_from_any_tab(client, two_merchants):
    user, merchant_a, merchant_b = two_merchants
    _logged_in(client, user, merchant_b)

    response = client.post(
        reverse("switch_merchant", args=[merchant_a.pk]),
        {"next": "/", "merchant_id": merchant_b.pk + 1000},
    )

    assert response.status_code == 302
    assert client.get("/").context["current_merchant"] == merchant_a


def test_the_refusal_offers_to_switch_back(client, two_merchants):
    user, merchant_a, merchant_b = two_merchants
    _logged_in(client, user, merchant_b)

    response = client.post(
        reverse("orders:billbee_account"),
        {"merchant_id": merchant_a.pk, "username": "x"},
        HTTP_REFERER="http://testserver/orders/billbee/",
    )

    assert response.status_code == 409
    assert reverse("switch_merchant", args=[merchant_a.pk]) in response.content.decode()
    assert 'value="http://testserver/orders/billbee/"' in response.content.decode()
