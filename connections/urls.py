from django.urls import path

from connections import views

app_name = "connections"

urlpatterns = [
    path("", views.connection_list, name="connection_list"),
    path("new/", views.connection_create, name="connection_create"),
    path("<int:pk>/", views.connection_edit, name="connection_edit"),
    path("<int:pk>/deactivate/", views.connection_deactivate_view, name="connection_deactivate"),
    path("<int:pk>/activate/", views.connection_activate_view, name="connection_activate"),
    path("<int:pk>/delete/", views.connection_delete_view, name="connection_delete"),
]
