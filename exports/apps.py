from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = _("sevDesk exports")

    def ready(self) -> None:
        from accounts_mapping.signals import assignments_changed, revenue_accounts_changed
        from connections import extensions
        from connections.signals import token_accepted
        from core.schedules import Schedule, register_schedule
        from exports.models import OrderExport
        from exports.receivers import (
            exports_enqueue_after_sync,
            exports_resume_after_assignment_saved,
            exports_resume_after_revenue_accounts_changed,
            exports_resume_after_token_accepted,
        )
        from exports.selectors import connections_with_export_figures, next_run_context
        from orders.forms import OrderFilterForm
        from orders.signals import documents_stored, orders_stored

        OrderFilterForm.export_status_choices = list(OrderExport.Status.choices)
        extensions.add_list_annotator(connections_with_export_figures)
        extensions.add_page_context(next_run_context)
        token_accepted.connect(exports_resume_after_token_accepted, dispatch_uid="exports-resume")
        assignments_changed.connect(
            exports_resume_after_assignment_saved, dispatch_uid="exports-resume-assignment"
        )
        orders_stored.connect(exports_enqueue_after_sync, dispatch_uid="exports-enqueue-orders")
        documents_stored.connect(exports_enqueue_after_sync, dispatch_uid="exports-enqueue-docs")
        revenue_accounts_changed.connect(
            exports_resume_after_revenue_accounts_changed, dispatch_uid="exports-resume-revenue"
        )
        for schedule in (
            Schedule(
                "sevDesk export: due retries",
                "exports.dispatch_due",
                60,
                "Hands on the exports whose retry time has come.",
            ),
            Schedule(
                "sevDesk export: reaper",
                "exports.reap",
                300,
                "Takes back exports and runs whose worker stopped.",
            ),
            Schedule(
                "sevDesk export: prune attempts",
                "exports.prune_attempts",
                86400,
                "Deletes export attempts older than 90 days.",
            ),
        ):
            register_schedule(schedule)

        register_schedule(
            Schedule(
                name="sevDesk export",
                task="exports.run_all",
                every_seconds=settings.SEVDESK_EXPORT_INTERVAL_MINUTES * 60,
                description="Exports the eligible orders of every active sevDesk connection.",
            )
        )
