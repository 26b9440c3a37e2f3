from django.urls import path

from accounts_mapping import views

app_name = "accounts_mapping"

urlpatterns = [
    path("<int:pk>/accounts/", views.assignments_save, name="assignments_save"),
    path("<int:pk>/revenue-accounts/", views.revenue_accounts_post, name="revenue_accounts"),
    path("<int:pk>/accounts/new/", views.clearing_account_new, name="clearing_account_new"),
]
