"""The reconciliation report ("Abgleich"): Billbee's invoices and credit notes of a period
next to the revenue vouchers sevDesk holds for it, row by row, with what does not agree.

A report is a row of its own with a status and its progress, committed page by page, so a
page polled by the merchant shows how far it got and a failed report says why; its rows are
written once, when the comparison is complete.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchants.models import MerchantOwned


class ReconciliationReport(MerchantOwned):
    class Kind(models.TextChoices):
        MANUAL = "manual", _("Manual")
        MONTHLY = "monthly", _("Monthly")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    connection = models.ForeignKey(
        "connections.Connection",
        on_delete=models.CASCADE,
        related_name="reconciliation_reports",
        verbose_name=_("sevDesk connection"),
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))  # inclusive
    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # Progress, committed as it goes.
    pages_read = models.PositiveIntegerField(_("pages read from sevDesk"), default=0)
    vouchers_read = models.PositiveIntegerField(_("vouchers read"), default=0)
    documents = models.PositiveIntegerField(_("Billbee documents"), default=0)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    deviations = models.PositiveIntegerField(_("deviations"), default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    message = models.TextField(_("message"), blank=True)  # why it failed, in the merchant's words
    # Counts per flag and totals per VAT rate (amounts as strings: exact digits).
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("reconciliation report")
        verbose_name_plural = _("reconciliation reports")
        ordering = ["-created_at", "-id"]
        constraints = [
            # The monthly schedule creates each month's report once, however often it runs.
            models.UniqueConstraint(
                fields=["connection", "period_start", "period_end"],
                condition=Q(kind="monthly"),
                name="reconciliation_one_monthly_report_per_period",
            ),
        ]
        indexes = [
            models.Index(fields=["connection", "-created_at"], name="reconciliation_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.connection} {self.period_start:%d.%m.%Y}–{self.period_end:%d.%m.%Y}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class Flag(models.TextChoices):
    """What does not agree on a row; several may apply."""

    MISSING = "missing", _("Missing in sevDesk")
    UNKNOWN = "unknown", _("In sevDesk, unknown to Billbee")
    DUPLICATE = "duplicate", _("Several vouchers with this number")
    AMOUNT = "amount", _("Amount differs")
    DATE = "date", _("Date differs")
    PAYMENT = "payment", _("Payment differs")
    NOT_EXPORTED = "not_exported", _("Not yet exported")


class ReconciliationRow(models.Model):
    """One document number: Billbee's side (if any), sevDesk's voucher (if any), the flags."""

    report = models.ForeignKey(ReconciliationReport, on_delete=models.CASCADE, related_name="rows")
    number = models.CharField(_("number"), max_length=255)
    document_type = models.CharField(_("type"), max_length=20, blank=True)  # "" = sevDesk only
    billbee_date = models.DateField(_("voucher date (Billbee)"), null=True, blank=True)
    billbee_gross = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    expected_paid = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    export_status = models.CharField(max_length=20, blank=True)
    export_message = models.TextField(blank=True)
    export_voucher_id = models.BigIntegerField(null=True, blank=True)
    voucher_id = models.BigIntegerField(_("sevDesk voucher"), null=True, blank=True)
    voucher_date = models.DateField(null=True, blank=True)
    voucher_gross = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    voucher_paid = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    voucher_status = models.PositiveSmallIntegerField(null=True, blank=True)
    other_voucher_ids = models.JSONField(default=list, blank=True)  # duplicates of the number
    flags = models.JSONField(default=list, blank=True)
    has_flags = models.BooleanField(default=False)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-has_flags", "number", "id"]
        indexes = [
            models.Index(fields=["report", "-has_flags", "number"], name="reconciliation_rows"),
        ]

    def __str__(self) -> str:
        return self.number
