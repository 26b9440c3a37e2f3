"""The simulated sevDesk in Django's admin (staff only), e.g. to switch faults on in a demo."""

from django.contrib import admin

from . import models


class CheckAccountInline(admin.TabularInline):
    model = models.CheckAccount
    extra = 0


class FaultPlanInline(admin.TabularInline):
    model = models.FaultPlan
    extra = 0


@admin.register(models.SandboxAccount)
class SandboxAccountAdmin(admin.ModelAdmin):
    """Staff give an account made on the command line an owner here, so that merchant's
    members see it on the sandbox page."""

    list_display = ["name", "owner", "token", "bookkeeping_version", "small_business", "created"]
    list_filter = ["owner"]
    inlines = [CheckAccountInline, FaultPlanInline]


class VoucherPosInline(admin.TabularInline):
    model = models.VoucherPos
    extra = 0


class VoucherPaymentInline(admin.TabularInline):
    model = models.VoucherPayment
    extra = 0


@admin.register(models.Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "description",
        "account",
        "status",
        "credit_debit",
        "sum_gross",
        "paid_amount",
        "currency",
    ]
    list_filter = ["status", "credit_debit", "account"]
    search_fields = ["description", "supplier_name"]
    inlines = [VoucherPosInline, VoucherPaymentInline]


@admin.register(models.FaultPlan)
class FaultPlanAdmin(admin.ModelAdmin):
    list_display = ["account", "kind", "remaining", "path_contains", "retry_after", "latency_ms"]
    list_filter = ["kind", "account"]


@admin.register(models.Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "surename", "familyname", "customer_number", "account"]
    search_fields = ["name", "surename", "familyname", "customer_number"]


for model in [
    models.CheckAccount,
    models.ContactAddress,
    models.CommunicationWay,
    models.TempFile,
    models.VoucherPayment,
    models.StaticCountry,
    models.CommunicationWayKey,
    models.RevenueAccount,
]:
    admin.site.register(model)
