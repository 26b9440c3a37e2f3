"""The simulated Billbee in Django's admin (staff only): accounts, their owners and faults."""

from django.contrib import admin

from . import models


class SandboxShopInline(admin.TabularInline):
    model = models.SandboxShop
    extra = 0


class SandboxFaultPlanInline(admin.TabularInline):
    model = models.SandboxFaultPlan
    extra = 0


@admin.register(models.SandboxAccount)
class SandboxAccountAdmin(admin.ModelAdmin):
    """Staff give an account made on the command line an owner here, so that merchant's
    members see it (and its credentials) on the sandbox page."""

    list_display = ["name", "owner", "username", "small_business", "created"]
    list_filter = ["owner"]
    inlines = [SandboxShopInline, SandboxFaultPlanInline]


@admin.register(models.SandboxOrder)
class SandboxOrderAdmin(admin.ModelAdmin):
    list_display = ["billbee_id", "order_number", "account", "state", "last_modified_at"]
    list_filter = ["account", "state"]
    search_fields = ["order_number", "=billbee_id"]
    raw_id_fields = ["shop"]
    show_full_result_count = False
