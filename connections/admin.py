from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from connections.models import Connection
from connections.services import (
    ConnectionNotActivated,
    connection_activate,
    connection_deactivate,
    connection_delete,
)


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Every connection, deleted ones too (they keep their history); the token is never shown."""

    list_display = ["name", "merchant", "is_active", "status", "deleted_at", "created_at"]
    list_filter = ["is_active", "status", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "merchant__name"]
    exclude = ["api_token"]
    readonly_fields = ["is_active", "deleted_at", "status", "api_token_last4"]
    actions = ["deactivate", "activate", "soft_delete"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a connection's exports are history: "soft delete" instead

    @admin.action(description=_("Deactivate the selected connections"))
    def deactivate(self, request, queryset) -> None:
        for connection in queryset:
            connection_deactivate(connection=connection)

    @admin.action(description=_("Activate the selected connections"))
    def activate(self, request, queryset) -> None:
        for connection in queryset:
            try:
                connection_activate(connection=connection)
            except ConnectionNotActivated as exc:
                self.message_user(request, f"{connection}: {exc.message}", messages.ERROR)

    @admin.action(description=_("Delete the selected connections (history kept)"))
    def soft_delete(self, request, queryset) -> None:
        for connection in queryset.filter(deleted_at__isnull=True):
            connection_delete(connection=connection)
