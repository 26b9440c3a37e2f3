"""The home page: the merchant's cockpit (see dashboard.selectors)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.selectors import dashboard_for


def home(request: HttpRequest) -> HttpResponse:
    merchant = getattr(request, "merchant", None)
    context = {"dashboard": dashboard_for(merchant)} if merchant else {}
    return render(request, "dashboard/home.html", context)
