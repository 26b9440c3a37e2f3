"""The order screens after the merchant's walk-through (issue #15): a sevDesk column per
connection, search and filters together, the total, "Alle" in every filter, the vouchers on the
order page, Billbee's names in the user's language, dates without double full stops, favicon."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from exports.models import OrderExport
from orders import selectors
from orders.enums import order_state_name, payment_type_name
from orders.models import BillbeeDocument, Payment
from tests.connections_factories import ConnectionFactory
from tests.orders_factories import OrderFactory, ShopFactory

LIST = reverse("orders:order_list")
ENGLISH = {"accept-language": "en"}


def listed(response) -> list[str]:
    return [order.order_number for order in response.context["orders"]]


def export(connection, order, status, **values) -> OrderExport:
    return OrderExport.objects.create(
        merchant=order.merchant, connection=connection, order=order, status=status, **values
    )


def credit_note(order) -> BillbeeDocument:
    return BillbeeDocument.objects.create(
        merchant=order.merchant,
        order=order,
        billbee_order_id=order.billbee_id,
        type=BillbeeDocument.Type.CREDIT_NOTE,
        number="GS-2026-4",
        currency="EUR",
        total_net=Decimal("-10.00"),
        total_gross=Decimal("-11.90"),
        synced_at=timezone.now(),
    )


class _Fields(HTMLParser):
    """The fields each GET form of a page submits: {form id: {name: value}}; a field outside
    its form (``form="…"``) counts for that form, as a browser sends it."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._form: str | None = None
        self._select: tuple[str | None, str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = attrs.get("id") or f"form{len(self.forms)}"
            self.forms.setdefault(self._form, {})
        owner = attrs.get("form") or self._form
        sent = attrs.get("type") not in {"checkbox", "submit"} or "checked" in attrs
        if tag == "input" and attrs.get("name") and owner and sent:
            self.forms.setdefault(owner, {})[attrs["name"]] = attrs.get("value") or ""
        if tag == "select" and owner:
            self._select = (owner, attrs.get("name"))
        if tag == "option" and self._select and "selected" in attrs:
            owner, name = self._select
            self.forms.setdefault(owner, {})[name] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        if tag == "select":
            self._select = None


def submitted_with(page: str, field: str) -> dict[str, str]:
    """What the form that holds `field` sends."""
    parser = _Fields()
    parser.feed(page)
    (fields,) = [f for f in parser.forms.values() if field in f]
    return fields


def options_of(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select)


# --- sevDesk column ---------------------------------------------------------------------------


def test_list_shows_one_sevdesk_column_per_active_connection_with_the_invoice_export_status(
    member_client, merchant
):
    main = ConnectionFactory(merchant=merchant, name="Hauptshop")
    second = ConnectionFactory(merchant=merchant, name="Zweitshop")
    ConnectionFactory(merchant=merchant, name="Alt", is_active=False)
    ConnectionFactory(name="Fremd")  # another merchant's
    paid = OrderFactory(merchant=merchant, order_number="A-1")
    failing = OrderFactory(merchant=merchant, order_number="A-2")
    export(main, paid, OrderExport.Status.PAID)
    export(second, failing, OrderExport.Status.NEEDS_ACTION)
    # A credit note's export is not the order's status.
    export(main, failing, OrderExport.Status.DONE, document=credit_note(failing))

    response = member_client.get(LIST)
    page = response.content.decode()

    headers = re.findall(r'<th class="sevdesk-column"[^>]*>([^<]*)</th>', page)
    assert headers == ["Hauptshop", "Zweitshop"]
    rows = {
        o.order_number: [b and b.status for b in o.sevdesk_badges] for o in listed_orders(response)
    }
    assert rows == {"A-1": ["paid", None], "A-2": [None, "needs_action"]}
    assert 'class="status status-paid" title="Beleg angelegt und bezahlt">Bezahlt<' in page
    assert ">Handlungsbedarf<" in page


def listed_orders(response):
    return list(response.context["orders"])


def test_sevdesk_column_leaves_out_soft_deleted_connections(member_client, merchant):
    from connections.models import Connection

    if not any(f.name == "deleted_at" for f in Connection._meta.get_fields()):
        pytest.skip("connections have no soft delete yet")
    ConnectionFactory(merchant=merchant, name="Bleibt")
    ConnectionFactory(merchant=merchant, name="Gelöscht", deleted_at=timezone.now())
    OrderFactory(merchant=merchant)

    page = member_client.get(LIST).content.decode()

    assert re.findall(r'<th class="sevdesk-column"[^>]*>([^<]*)</th>', page) == ["Bleibt"]


def _queries_for_the_list(client) -> int:
    with CaptureQueriesContext(db_connection) as queries:
        response = client.get(LIST)
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_sevdesk_column_costs_the_same_queries_for_1_or_30_orders(member_client, merchant):
    connections = [ConnectionFactory(merchant=merchant) for _ in range(2)]
    orders = [OrderFactory(merchant=merchant)]
    for sevdesk in connections:
        export(sevdesk, orders[0], OrderExport.Status.DONE)
    one = _queries_for_the_list(member_client)

    for _ in range(29):
        order = OrderFactory(merchant=merchant)
        for sevdesk in connections:
            export(sevdesk, order, OrderExport.Status.RETRY)
    thirty = _queries_for_the_list(member_client)

    assert one == thirty
    response = member_client.get(LIST)
    assert sum(len([b for b in o.sevdesk_badges if b]) for o in response.context["orders"]) == 60


# --- Search and filters together -------------------------------------------------------------


def test_search_keeps_the_sidebar_filters_and_the_filters_keep_the_search(member_client, merchant):
    OrderFactory(merchant=merchant, order_number="WEB-1", state=4, customer_name="Erika")
    OrderFactory(merchant=merchant, order_number="WEB-2", state=3, customer_name="Erika")
    OrderFactory(merchant=merchant, order_number="WEB-3", state=4, customer_name="Max")

    response = member_client.get(LIST, {"q": "Erika", "state": "4", "paid": "no"})
    page = response.content.decode()

    assert listed(response) == ["WEB-1"]
    # Searching again sends the filters along, filtering again sends the search along: the
    # search box and the sidebar are one form.
    assert submitted_with(page, "q") == submitted_with(page, "state")
    sent = submitted_with(page, "q")
    assert sent["q"] == "Erika" and sent["state"] == "4" and sent["paid"] == "no"


# --- Total -------------------------------------------------------------------------------------


def test_list_shows_how_many_orders_match(member_client, merchant):
    for state in (4, 4, 4, 3):
        OrderFactory(merchant=merchant, state=state)

    everything = member_client.get(LIST).content.decode()
    shipped = member_client.get(LIST, {"state": "4"}).content.decode()
    english = member_client.get(LIST, {"state": "4"}, headers=ENGLISH).content.decode()

    assert '<span class="muted order-total" id="order-total">4 Bestellungen</span>' in everything
    assert ">3 Bestellungen<" in shipped
    assert ">3 orders<" in english


def test_total_beyond_the_exact_count_says_more_than(member_client, merchant, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_EXACT_UP_TO", 3)
    monkeypatch.setattr("orders.views.ORDERS_PER_PAGE", 2)
    for _ in range(5):
        OrderFactory(merchant=merchant)

    monkeypatch.setattr(selectors, "_planner_estimate", lambda orders: 0)  # as on SQLite
    page = member_client.get(LIST).content.decode()
    monkeypatch.setattr(selectors, "_planner_estimate", lambda orders: 12_345)
    estimated = member_client.get(LIST).content.decode()
    last = member_client.get(LIST, {"page": 3})

    assert ">mehr als 3 Bestellungen<" in page
    assert ">ca. 12.300 Bestellungen<" in estimated
    assert ">5 Bestellungen<" in last.content.decode()  # the last page counts itself


@pytest.mark.skipif(db_connection.vendor != "postgresql", reason="PostgreSQL's planner only")
def test_planner_estimate_reads_postgresqls_row_estimate(merchant):
    for state in (4, 4, 3):
        OrderFactory(merchant=merchant, state=state)
    with db_connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")

    estimate = selectors._planner_estimate(
        selectors.orders_filtered(merchant=merchant, filters=selectors.OrderFilters(state=4))
    )

    assert 1 <= estimate <= 3


def test_total_above_ten_thousand_is_grouped_and_estimates_are_rounded():
    assert selectors._rounded(12_345) == 12_300
    assert selectors._rounded(987) == 987
    total = selectors.OrderTotal(number=12_300, estimated=True)
    from django.template import Context, Template

    template = Template(
        '{% load i18n %}{% with shown=total.number|floatformat:"0g" %}'
        "{% blocktranslate %}about {{ shown }} orders{% endblocktranslate %}{% endwith %}"
    )
    with translation.override("de"):
        assert template.render(Context({"total": total})) == "ca. 12.300 Bestellungen"
    with translation.override("en"):
        assert template.render(Context({"total": total})) == "about 12,300 orders"


# --- "Alle" ------------------------------------------------------------------------------------


def test_every_filter_offers_alle_first(member_client, merchant):
    ShopFactory(merchant=merchant, name="Mein Shop")

    page = member_client.get(LIST).content.decode()

    for name in ("shop", "state", "invoice", "paid", "export_status"):
        assert options_of(page, name)[0] == "Alle", name
    assert "---------" not in page


# --- Order page ---------------------------------------------------------------------------------


def test_order_page_lists_its_vouchers_per_connection_with_links_and_credit_notes(
    member_client, merchant, settings
):
    settings.SEVDESK_API_BASE_URL = "https://my.sevdesk.de/api/v1"
    settings.SEVDESK_APP_URL = "https://my.sevdesk.de"
    main = ConnectionFactory(merchant=merchant, name="Hauptshop")
    second = ConnectionFactory(merchant=merchant, name="Zweitshop")
    order = OrderFactory(merchant=merchant, invoice_number="RE-7")
    export(main, order, OrderExport.Status.PAID, voucher_id=4711, message="Beleg 4711 angelegt.")
    export(
        main,
        order,
        OrderExport.Status.DONE,
        voucher_id=4712,
        document=credit_note(order),
        message="Gutschrift gebucht.",
    )
    export(second, order, OrderExport.Status.NEEDS_ACTION, message="Kein Offline-Konto.")

    page = member_client.get(reverse("orders:order_detail", args=[order.pk])).content.decode()
    table = re.search(r'<table class="list" id="sevdesk-exports">.*?</table>', page, re.S).group(0)
    rows = re.findall(r'<tr class="sevdesk-export">(.*?)</tr>', table, re.S)

    assert len(rows) == 3
    assert (
        "Hauptshop" in rows[0] and "Rechnung RE-7" in rows[0] and "Beleg 4711 angelegt." in rows[0]
    )
    assert 'href="https://my.sevdesk.de/#/ex/detail/id/4711"' in rows[0]
    assert "Gutschrift GS-2026-4" in rows[1] and "#/ex/detail/id/4712" in rows[1]
    assert "Zweitshop" in rows[2] and "Fehlgeschlagen" in rows[2] and "voucher-link" not in rows[2]


def test_order_page_without_exports_says_so(member_client, merchant):
    order = OrderFactory(merchant=merchant)

    page = member_client.get(reverse("orders:order_detail", args=[order.pk])).content.decode()

    assert "Noch nicht an sevDesk exportiert." in page


# --- English ------------------------------------------------------------------------------------


def test_order_states_and_payment_methods_are_german_by_default_and_english_in_english():
    assert order_state_name(3) == "Zahlung erhalten"
    assert payment_type_name(1) == "Banküberweisung"
    assert order_state_name(42) == "Unbekannt (42)"
    with translation.override("en"):
        assert order_state_name(3) == "Payment received"
        assert order_state_name(4) == "Shipped"
        assert payment_type_name(1) == "Bank transfer"
        assert payment_type_name(3) == "PayPal"
        assert order_state_name(42) == "Unknown (42)"


def test_order_screens_show_the_state_in_the_users_language(member_client, merchant):
    order = OrderFactory(merchant=merchant, state=4)
    detail = reverse("orders:order_detail", args=[order.pk])

    german_list = member_client.get(LIST).content.decode()
    english_list = member_client.get(LIST, headers=ENGLISH).content.decode()
    english_detail = member_client.get(detail, headers=ENGLISH).content.decode()

    assert "<td>Versendet</td>" in german_list
    assert "<td>Shipped</td>" in english_list and "Versendet" not in english_list
    assert "<td>Shipped</td>" in english_detail
    assert options_of(english_list, "state")[:2] == ["All", "Ordered"]


def test_order_page_names_the_payment_method_in_the_users_language(member_client, merchant):
    order = OrderFactory(merchant=merchant, payment_method=1)
    Payment.objects.create(
        merchant=merchant, order=order, payment_type=59, amount=Decimal("119.00")
    )
    detail = reverse("orders:order_detail", args=[order.pk])

    german = member_client.get(detail).content.decode()
    english = member_client.get(detail, headers=ENGLISH).content.decode()

    assert '<td id="payment-method">Banküberweisung</td>' in german
    assert "<td>Vorkasse</td>" in german
    assert '<td id="payment-method">Bank transfer</td>' in english
    assert "<td>Prepayment</td>" in english and "Vorkasse" not in english


def _text(page: str) -> str:
    body = re.sub(r"<(script|style|pre)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


@pytest.mark.parametrize("headers", [{}, ENGLISH], ids=["de", "en"])
def test_dates_in_the_order_screens_have_no_double_full_stop(member_client, merchant, headers):
    day = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
    main = ConnectionFactory(merchant=merchant, name="Hauptshop", start_date=date(2026, 1, 1))
    order = OrderFactory(
        merchant=merchant, invoice_number="RE-1", invoice_date=day, paid_at=day, shipped_at=day
    )
    export(
        main,
        order,
        OrderExport.Status.RETRY,
        exported_at=day,
        message="sevDesk antwortet nicht; nächster Versuch am 03.12.2026.",
    )

    pages = [
        member_client.get(LIST, headers=headers).content.decode(),
        member_client.get(
            reverse("orders:order_detail", args=[order.pk]), headers=headers
        ).content.decode(),
        member_client.get(reverse("orders:billbee_account"), headers=headers).content.decode(),
    ]

    for page in pages:
        assert not re.search(r"\w\.\.(?!\.)", _text(page)), re.findall(
            r".{30}\.\..{5}", _text(page)
        )


# --- Favicon --------------------------------------------------------------------------------


def test_pages_link_an_svg_favicon_and_favicon_ico_answers_without_login(client, db):
    login = client.get(reverse("login")).content.decode()
    icon = client.get("/favicon.ico")

    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in login
    assert icon.status_code == 302 and icon["Location"] == "/static/favicon.svg"


def test_favicon_file_is_an_svg():
    from django.contrib.staticfiles import finders

    path = finders.find("favicon.svg")
    assert path and Path(path).read_text().startswith("<svg")
