"""The simulated Billbee and sevDesk, mounted under /sandbox/ while SANDBOX_ENABLED is on."""

from django.urls import include, path

app_name = "sandbox"

urlpatterns = [
    path("sevdesk/", include("sandbox.sevdesk.urls")),
    path("billbee/", include("sandbox.billbee.urls")),
]
