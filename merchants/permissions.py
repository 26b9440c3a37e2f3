"""Who may change what in a merchant account, and which merchant a submitted form belongs to.

Two checks run (in ``CurrentMerchantMiddleware.process_view``) before any view that takes a
POST:

* **The form's merchant.** Every POST form carries the merchant it was rendered for (the hidden
  ``merchant_id`` below, added to every page next to Django's CSRF field). A form rendered for
  merchant A and submitted after the user switched to B in another tab is refused with 409:
  the session alone would have written A's input into B.
* **The role.** Only owners change what connects the merchant to Billbee and sevDesk (tokens,
  credentials, connections, account assignments). Members may export, retry and look. Every
  POST URL is owner-only unless it is named in ``MEMBER_MAY_POST``, so a write URL added later
  is protected until someone decides otherwise.
"""

import json
import re

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from merchants.models import Membership, MerchantAccount
from merchants.selectors import membership_of

MERCHANT_FIELD = "merchant_id"

# URLs outside a merchant's data; neither check applies.
#   admin:   Django's admin, for staff operators of the installation (its own permissions).
#   sandbox: the simulated Billbee and sevDesk APIs; they authenticate by API key/token.
UNTENANTED_NAMESPACES = {"admin", "sandbox"}
#   Logging in and out, the language, and the merchant switch itself (it *changes* the
#   merchant, from any tab).
NOT_MERCHANT_DATA = {"login", "logout", "set_language", "switch_merchant"}
# URLs a remote system calls without a login, proven by a signature instead (their views
# check it): no session, no merchant field, no role.
SIGNED_ENDPOINTS = {"billbee_webhook"}

# POST URLs open to every member: they start work, they change no settings.
MEMBER_MAY_POST = {"exports:manual_export", "exports:order_export_retry"}


def is_owner(membership: Membership | None) -> bool:
    return membership is not None and membership.role == Membership.Role.OWNER


def post_refusal(request: HttpRequest) -> HttpResponse | None:
    """The answer to a POST that must not reach its view, or None to let it through."""
    match = request.resolver_match
    if match is None or not request.user.is_authenticated:
        return None  # a 404, or the login redirect: other middleware answers
    if set(match.namespaces) & UNTENANTED_NAMESPACES or match.view_name in NOT_MERCHANT_DATA:
        return None
    if match.view_name in SIGNED_ENDPOINTS:
        return None
    rendered_for = request.POST.get(MERCHANT_FIELD)
    # A POST without the field (an API client, a page from before this check) counts for the
    # session's merchant; every page rendered here carries it (see merchant_field_add).
    if rendered_for is not None and rendered_for != _pk_text(request.merchant):
        return _stale_form_refusal(request, rendered_for)
    if match.view_name not in MEMBER_MAY_POST and not is_owner(request.membership):
        return refusal(
            request,
            _(
                "Only owners of the merchant account “%(merchant)s” can change credentials, "
                "tokens, connections and account assignments. Nothing has been changed; ask "
                "an owner."
            )
            % {"merchant": request.merchant or "–"},
            status=403,
        )
    return None


def _pk_text(merchant: MerchantAccount | None) -> str:
    return "" if merchant is None else str(merchant.pk)


def _stale_form_refusal(request: HttpRequest, rendered_for: str) -> HttpResponse:
    other = None
    if rendered_for.isascii() and rendered_for.isdigit() and len(rendered_for) < 19:
        other = membership_of(user=request.user, merchant_id=int(rendered_for))
    if other is None:
        message = _(
            "This form was opened for another merchant account than the current one, "
            "“%(current)s”. Nothing has been saved. Reload the page and submit it again."
        ) % {"current": request.merchant or "–"}
    else:
        message = _(
            "This form was opened for the merchant account “%(opened)s”, but you have switched "
            "to “%(current)s” since (in another tab or window). Nothing has been saved. Switch "
            "back to “%(opened)s” and submit the form again."
        ) % {"opened": other.merchant, "current": request.merchant or "–"}
    return refusal(request, message, status=409, switch_to=other.merchant if other else None)


def refusal(
    request: HttpRequest,
    message: str,
    *,
    status: int,
    switch_to: MerchantAccount | None = None,
) -> HttpResponse:
    """A refused request, in the merchant's words: a page, or JSON for the pages' scripts."""
    if "application/json" in request.headers.get("Accept", ""):
        return HttpResponse(
            json.dumps({"ok": False, "message": message}),
            status=status,
            content_type="application/json",
        )
    context = {"message": message, "status": status, "switch_to": switch_to}
    context["back"] = _back_url(request)
    return render(request, "merchants/refused.html", context, status=status)


def _back_url(request: HttpRequest) -> str:
    referer = request.headers.get("Referer", "")
    allowed = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return referer if referer and allowed else "/"


# Django's {% csrf_token %} renders exactly this; every POST form here has one.
CSRF_INPUT = re.compile(rb'<input type="hidden" name="csrfmiddlewaretoken" value="[^"<>]*">')


def merchant_field_add(response: HttpResponse, merchant: MerchantAccount | None) -> HttpResponse:
    """Add the merchant's hidden field beside the CSRF field of every form on an HTML page.

    One place for every form of every app, including forms written later, rather than a tag
    each template has to remember.
    """
    if (
        merchant is None
        or getattr(response, "streaming", False)
        or not response.get("Content-Type", "").startswith("text/html")
        or response.has_header("Content-Encoding")
    ):
        return response
    field = b'<input type="hidden" name="%s" value="%d">' % (MERCHANT_FIELD.encode(), merchant.pk)
    content, count = CSRF_INPUT.subn(lambda match: match.group(0) + field, response.content)
    if count:
        response.content = content
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(content))
    return response
