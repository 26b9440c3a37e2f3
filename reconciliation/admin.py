from django.contrib import admin

from reconciliation.models import ReconciliationReport


@admin.register(ReconciliationReport)
class ReconciliationReportAdmin(admin.ModelAdmin):
    list_display = ("connection", "period_start", "period_end", "kind", "status", "deviations")
    list_filter = ("status", "kind")
    readonly_fields = ("summary", "message", "started_at", "finished_at")
