import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import health as checks


@require_GET
@never_cache
@login_not_required
def health(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, else 503.

    Anyone gets the verdict; what failed and which workers are alive (host names, database
    addresses, error texts) only staff and callers with the ``HEALTH_TOKEN`` see.
    """
    results = checks.run_checks()
    healthy = all(value == "ok" for value in results.values())
    payload = {"status": "ok" if healthy else "fail"}
    if _may_see_details(request):
        payload["checks"] = results
        if results["database"] == "ok":
            payload["workers_seen_last_5_minutes"] = checks.recent_workers()
    return JsonResponse(payload, status=200 if healthy else 503)


def _may_see_details(request: HttpRequest) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True
    expected = settings.HEALTH_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def login_client_ip(request: HttpRequest) -> str | None:
    """The address django-axes counts failures for.

    Behind ``LOGIN_PROXY_COUNT`` proxies it is the address the outermost of them saw, read from
    the right of X-Forwarded-For: entries further left come from the client and can be forged.
    """
    proxies = settings.LOGIN_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [address for address in forwarded if address]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def login_locked_out(request: HttpRequest, original_response=None, credentials=None):
    """django-axes' lockout answer: the login page, saying for how long, with 429."""
    cool_off = settings.AXES_COOLOFF_TIME
    context = {
        "lockout_minutes": max(1, round(cool_off.total_seconds() / 60)),
        "next": request.POST.get("next", request.GET.get("next", "")),
    }
    return render(
        request, "registration/login.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
    )
