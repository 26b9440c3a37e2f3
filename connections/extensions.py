"""Extension points of the connection screens.

The apps that build on connections (the account assignment, the exports) add to these pages
without `connections` importing them: dependencies point one way, Billbee side ← sevDesk side
← exports. Each app registers its providers in its ``AppConfig.ready()``.
"""

from collections.abc import Callable

from django.db.models import QuerySet
from django.http import HttpRequest

ListAnnotator = Callable[[QuerySet], QuerySet]
PageContext = Callable[[HttpRequest, object], dict]

_list_annotators: list[ListAnnotator] = []
_page_contexts: list[PageContext] = []


def add_list_annotator(annotator: ListAnnotator) -> None:
    """`annotator(connections)` adds columns to the connection list's queryset."""
    if annotator not in _list_annotators:
        _list_annotators.append(annotator)


def add_page_context(provider: PageContext) -> None:
    """`provider(request, connection)` adds to the context of the list and connection pages.

    `connection` is None on the list page.
    """
    if provider not in _page_contexts:
        _page_contexts.append(provider)


def annotated(connections: QuerySet) -> QuerySet:
    for annotator in _list_annotators:
        connections = annotator(connections)
    return connections


def page_context(request: HttpRequest, connection) -> dict:
    context: dict = {}
    for provider in _page_contexts:
        context.update(provider(request, connection))
    return context
