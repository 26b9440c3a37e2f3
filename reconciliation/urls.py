from django.urls import path

from reconciliation import views

app_name = "reconciliation"

urlpatterns = [
    path("connections/<int:pk>/", views.connection_reports, name="connection_reports"),
    path("reports/<int:pk>/", views.report_detail, name="report_detail"),
    path("reports/<int:pk>/csv/", views.report_csv_download, name="report_csv"),
    path("reports/<int:pk>/pdf/", views.report_pdf_download, name="report_pdf"),
]
