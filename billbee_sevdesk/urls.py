from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from django.views.i18n import set_language

from core.views import health
from dashboard.views import home
from merchants.views import switch_merchant
from orders import views as order_views

urlpatterns = [
    path("", home, name="home"),
    path("health/", health, name="health"),
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=lazy(static, str)("favicon.svg"))),
        name="favicon",
    ),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("merchants/<int:pk>/switch/", switch_merchant, name="switch_merchant"),
    path("orders/", include("orders.urls")),
    path("billbee/webhooks/<int:account_id>/", order_views.billbee_webhook, name="billbee_webhook"),
    path("connections/", include("connections.urls")),
    path("connections/", include("accounts_mapping.urls")),
    path("exports/", include("exports.urls")),
    path("reconciliation/", include("reconciliation.urls")),
    path("admin/", admin.site.urls),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
