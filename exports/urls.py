from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("manual/", views.manual_export, name="manual_export"),
    path("runs/<int:pk>/", views.run_progress, name="run_progress"),
    path("<int:pk>/retry/", views.order_export_retry, name="order_export_retry"),
    path("connections/<int:pk>/", views.connection_export_log, name="connection_export_log"),
]
