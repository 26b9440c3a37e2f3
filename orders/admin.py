"""Staff views of the mirror; the Billbee secrets are never shown or edited here."""

from django.contrib import admin

from orders.models import (
    BillbeeAccount,
    InvoiceDocument,
    Order,
    OrderItem,
    Payment,
    Shop,
    SyncRejection,
    SyncRun,
)


@admin.register(BillbeeAccount)
class BillbeeAccountAdmin(admin.ModelAdmin):
    list_display = ["merchant", "username", "connection_status", "sync_enabled", "sync_cursor"]
    list_filter = ["connection_status", "sync_enabled"]
    exclude = ["api_key", "api_password"]
    readonly_fields = ["last_tested_at", "last_error", "created_at", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False  # merchants enter their credentials on their own setup screen


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ["name", "platform", "billbee_id", "merchant"]
    list_filter = ["merchant"]
    search_fields = ["name"]


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    exclude = ["merchant"]


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    exclude = ["merchant"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["order_number", "invoice_number", "order_date", "state", "total_gross"]
    list_filter = ["merchant", "state"]
    search_fields = ["order_number", "invoice_number", "customer_name", "=billbee_id"]
    raw_id_fields = ["shop"]
    show_full_result_count = False  # no COUNT(*) over 100,000 rows on every page
    inlines = [OrderItemInline, PaymentInline]


@admin.register(InvoiceDocument)
class InvoiceDocumentAdmin(admin.ModelAdmin):
    list_display = ["invoice_number", "invoice_date", "fetched_at", "merchant"]
    raw_id_fields = ["order"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["account", "started_at", "finished_at", "status", "pages_done"]
    list_filter = ["status", "merchant"]
    raw_id_fields = ["resumed_from"]


@admin.register(SyncRejection)
class SyncRejectionAdmin(admin.ModelAdmin):
    list_display = ["billbee_order_id", "order_number", "reason", "last_seen_at", "resolved_at"]
    list_filter = ["merchant", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["=billbee_order_id", "order_number"]
    readonly_fields = ["first_seen_at", "last_seen_at"]
