from django.urls import path

from accounts_mapping import views as assignment_views
from connections import views

app_name = "connections"

urlpatterns = [
    path("", views.connection_list, name="connection_list"),
    path("new/", views.connection_create, name="connection_create"),
    path("<int:pk>/", views.connection_edit, name="connection_edit"),
    path("<int:pk>/accounts/", assignment_views.assignments_save, name="assignments_save"),
    path(
        "<int:pk>/accounts/new/",
        assignment_views.clearing_account_new,
        name="clearing_account_new",
    ),
]
