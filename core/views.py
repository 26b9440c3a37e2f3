from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import health as checks


@require_GET
@never_cache
@login_not_required
def health(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, 503 naming what failed."""
    results = checks.run_checks()
    healthy = all(value == "ok" for value in results.values())
    payload = {"status": "ok" if healthy else "unhealthy", "checks": results}
    if results["database"] == "ok":
        payload["workers_seen_last_5_minutes"] = checks.recent_workers()
    return JsonResponse(payload, status=200 if healthy else 503)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")
