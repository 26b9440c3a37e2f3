"""Walk the URL configuration, so that tests cover every URL, including ones added later."""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# URLs outside tenancy, each for a stated reason:
#   admin:   Django's admin, for staff operators of the installation only.
#   sandbox: the simulated Billbee and sevDesk APIs; they authenticate by API key/token.
UNTENANTED_NAMESPACES = {"admin", "sandbox"}


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
