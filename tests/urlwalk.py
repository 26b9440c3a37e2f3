"""Walk the URL configuration, so that tests cover every URL, including ones added later."""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.urls import URLPattern, URLResolver, get_resolver, reverse

# URLs outside tenancy (merchants.permissions says why): the admin and the sandbox APIs.
from merchants.permissions import UNTENANTED_NAMESPACES


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    pattern: str  # the route with its converters, e.g. "merchants/<int:pk>/switch/"
    callback: object
    params: tuple[str, ...]


def _join(prefix: str, pattern) -> str:
    return prefix + str(pattern.pattern)


def iter_routes(resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace]))
            if (entry.namespace or "") in UNTENANTED_NAMESPACES:
                continue
            yield from iter_routes(entry, _join(prefix, entry), inner)
        elif isinstance(entry, URLPattern):
            converters = getattr(entry.pattern, "converters", {})
            name = ":".join(filter(None, [namespace, entry.name or ""]))
            yield Route(name, _join(prefix, entry), entry.callback, tuple(converters))


def tenant_model_of(callback):
    """The model whose id the URL carries: a CBV's ``model``, or a view function's ``model``."""
    view_class = getattr(callback, "view_class", None)
    return getattr(view_class, "model", None) or getattr(callback, "model", None)


def own_object(model, merchant):
    """An instance of `model` that belongs to `merchant` (every model a URL's id names)."""
    from connections.models import Connection
    from exports.models import ExportRun, OrderExport
    from merchants.models import MerchantAccount
    from orders.models import Order
    from reconciliation.models import ReconciliationReport
    from tests.connections_factories import ConnectionFactory
    from tests.orders_factories import OrderFactory

    makers = {
        MerchantAccount: lambda: merchant,
        Order: lambda: OrderFactory(merchant=merchant),
        Connection: lambda: ConnectionFactory(merchant=merchant),
        OrderExport: lambda: OrderExport.objects.create(
            merchant=merchant,
            connection=ConnectionFactory(merchant=merchant),
            order=OrderFactory(merchant=merchant),
            status=OrderExport.Status.NEEDS_ACTION,
        ),
        ExportRun: lambda: ExportRun.objects.create(
            merchant=merchant, connection=ConnectionFactory(merchant=merchant), kind="manual"
        ),
        ReconciliationReport: lambda: ReconciliationReport.objects.create(
            merchant=merchant,
            connection=ConnectionFactory(merchant=merchant),
            kind="manual",
            period_start="2026-03-01",
            period_end="2026-03-31",
        ),
    }
    assert model in makers, f"add {model.__name__} to tests.urlwalk.own_object"
    return makers[model]()


def url_of(route: Route, merchant, pk: int | None = None) -> str:
    """The route's URL, its id naming an object of `merchant` (or `pk` as given)."""
    if not route.params:
        return reverse(route.name)
    if pk is None:
        pk = own_object(tenant_model_of(route.callback), merchant).pk
    return reverse(route.name, kwargs={param: pk for param in route.params})


# --- Forms on a page ---------------------------------------------------------------------


@dataclass
class Form:
    method: str
    action: str
    id: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)  # (name, value) as submitted
    unchecked: list[tuple[str, str]] = field(default_factory=list)  # boxes left unticked
    buttons: list[tuple[str, str]] = field(default_factory=list)  # named submit buttons

    @property
    def names(self) -> set[str]:
        """Every name the form can send: its fields, unticked boxes and buttons."""
        return {name for name, _value in self.fields + self.unchecked + self.buttons}

    def data(self, *, tick_all: bool = False, **overrides) -> dict[str, list[str]]:
        values: dict[str, list[str]] = {}
        for name, value in self.fields + (self.unchecked if tick_all else []):
            values.setdefault(name, []).append(value)
        for name, value in overrides.items():
            values[name] = value if isinstance(value, list) else [value]
        return values


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            method, action = (attrs.get("method") or "get").lower(), attrs.get("action") or ""
            self._form = Form(method, action, attrs.get("id") or "")
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "option" and self._select and "disabled" not in attrs:
            if self._select_value is None or "selected" in attrs:
                self._select_value = attrs.get("value", "")
        elif not attrs.get("name"):
            return
        elif tag == "input":
            self._input(attrs)
        elif tag == "button" and (attrs.get("type") or "submit") == "submit":
            self._form.buttons.append((attrs["name"], attrs.get("value") or ""))
        elif tag == "select":
            self._select, self._select_value = attrs["name"], None
        elif tag == "textarea":
            self._textarea = attrs["name"]

    def _input(self, attrs):
        kind = (attrs.get("type") or "text").lower()
        pair = (attrs["name"], attrs.get("value") or ("on" if kind == "checkbox" else ""))
        if kind in ("submit", "image"):
            self._form.buttons.append(pair)
        elif kind in ("checkbox", "radio") and "checked" not in attrs:
            self._form.unchecked.append(pair)
        elif kind not in ("button", "reset"):
            self._form.fields.append(pair)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._form is not None and self._select:
            self._form.fields.append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "textarea" and self._form is not None and self._textarea:
            self._form.fields.append((self._textarea, ""))
            self._textarea = None


def forms_on(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


# --- What a request wrote ------------------------------------------------------------------

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def writes_in(queries) -> list[str]:
    """The statements of a `CaptureQueriesContext` that changed data (the session aside)."""
    return [
        query["sql"]
        for query in queries.captured_queries
        if WRITE.match(query["sql"]) and "django_session" not in query["sql"]
    ]
