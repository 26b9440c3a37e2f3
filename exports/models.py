"""Durable state of the exports: one row per (connection, order), its attempts, and runs."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchants.models import MerchantOwned


class ExportRun(MerchantOwned):
    """One pass over a connection's orders: scheduled, or started by hand for chosen orders."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        MANUAL = "manual", _("Manual")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        STOPPED = "stopped", _("Stopped")  # e.g. the token was rejected, another run is on
        FAILED = "failed", _("Failed")  # crashed or abandoned; the message says why

    connection = models.ForeignKey(
        "connections.Connection", on_delete=models.CASCADE, related_name="export_runs"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.QUEUED)
    # Manual runs: the chosen orders, and whether to tag them "sevDesk" in Billbee.
    order_ids = models.JSONField(default=list, blank=True)
    tag_orders = models.BooleanField(_("tag exported orders"), default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    total = models.PositiveIntegerField(_("orders"), default=0)
    done = models.PositiveIntegerField(_("exported"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    # A voucher created whose payment could not be booked: neither exported nor failed.
    payment_open = models.PositiveIntegerField(_("voucher created – payment open"), default=0)
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("export run")
        verbose_name_plural = _("export runs")
        ordering = ["-created_at"]

    @property
    def processed(self) -> int:
        return self.done + self.payment_open + self.failed + self.skipped


class OrderExport(MerchantOwned):
    """The export of one order through one connection. Exactly one row per pair, ever."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        IN_PROGRESS = "in_progress", _("In progress")
        VOUCHER_CREATED = "voucher_created", _("Voucher created")
        PAID = "paid", _("Voucher created and paid")
        DONE = "done", _("Done")
        RETRY = "retry", _("Failed – will retry")
        NEEDS_ACTION = "needs_action", _("Failed – needs action")
        SKIPPED = "skipped", _("Skipped")

    class Problem(models.TextChoices):
        """Why an export failed or waits, for filters and counts (the message says it in words)."""

        NONE = "", _("none")
        WAITING_FOR_INVOICE = "waiting_for_invoice", _("Waiting for invoice")
        WAITING_FOR_PAYMENT = "waiting_for_payment", _("Waiting for payment date")
        WAITING_FOR_INVOICE_LIST = (
            "waiting_for_invoice_list",
            _("Waiting for Billbee's invoice list"),
        )
        NOT_ELIGIBLE = "not_eligible", _("No longer eligible")
        CANCELLED = "cancelled", _("Cancelled")
        ORIGINAL_NOT_BOOKED = "original_not_booked", _("Credit note without a booked original")
        REFUND_OPEN = "refund_open", _("Credit note booked, refund not recorded in Billbee")
        CANCELLED_AFTER_EXPORT = (
            "cancelled_after_export",
            _("Cancelled after export, no credit note in Billbee"),
        )
        AUTHENTICATION = "authentication", _("Token rejected")
        TEMPORARY = "temporary", _("sevDesk or Billbee temporarily unavailable")
        REJECTED = "rejected", _("Rejected by sevDesk")
        NOT_BUILDABLE = "not_buildable", _("Cannot be booked as it is")
        NO_ACCOUNT = "no_account", _("No offline account assigned")
        NO_REVENUE_ACCOUNT = "no_revenue_account", _("No revenue account assigned")
        OSS = "oss", _("OSS distance sale")
        PART_PAID = "part_paid", _("Partly paid, waiting for further payments")
        PAYMENT_CHANGED = "payment_changed", _("Payment changed after booking")
        OVERPAID = "overpaid", _("Payments exceed the invoice total")
        PAYMENT_UNCLEAR = "payment_unclear", _("Paid amount in sevDesk does not match")
        ALREADY_BOOKED = "already_booked", _("Already booked through another connection")
        INVOICE_CHANGED = "invoice_changed", _("Invoice changed after the voucher was created")
        AMBIGUOUS = "ambiguous", _("Voucher in sevDesk cannot be matched for certain")
        TOO_MANY_ATTEMPTS = "too_many_attempts", _("Gave up after repeated failures")
        INTERNAL = "internal", _("Internal error")

    FINISHED = (Status.PAID, Status.DONE)
    WORK_TO_DO = (Status.PENDING, Status.RETRY, Status.VOUCHER_CREATED, Status.SKIPPED)
    WAITING = (Problem.WAITING_FOR_INVOICE, Problem.WAITING_FOR_PAYMENT)

    connection = models.ForeignKey(
        "connections.Connection", on_delete=models.CASCADE, related_name="order_exports"
    )
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="exports")
    # A credit note (or cancellation invoice) of the order, booked as a voucher of its own;
    # None for the export of the order's invoice.
    document = models.ForeignKey(
        "orders.BillbeeDocument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exports",
        verbose_name=_("credit note"),
    )
    # The run this export was last handed to; cleared once the run counted its outcome.
    run = models.ForeignKey(
        ExportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="exports"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.PENDING)
    problem = models.CharField(_("problem"), max_length=30, choices=Problem, blank=True)
    message = models.TextField(_("message"), blank=True)  # in the merchant's words
    hint = models.TextField(_("what to do"), blank=True)

    # The claim: who works on it now; a claim older than the task time limit is dead.
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=36, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    attempt_count = models.PositiveIntegerField(_("attempts"), default=0)
    request_count = models.PositiveIntegerField(_("sevDesk requests"), default=0)

    # What exists in sevDesk, each committed as soon as it is known.
    sevdesk_contact_id = models.BigIntegerField(null=True, blank=True)
    voucher_save_sent_at = models.DateTimeField(null=True, blank=True)
    voucher_id = models.BigIntegerField(_("sevDesk voucher"), null=True, blank=True)
    # Frozen when the save is first sent: every retry resends this payload (with a fresh upload
    # of the PDF) and adopts only a voucher matching description, gross and date.
    voucher_description = models.CharField(max_length=100, blank=True)
    voucher_gross = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    voucher_date = models.DateField(null=True, blank=True)
    voucher_currency = models.CharField(max_length=3, blank=True)
    frozen_payload = models.JSONField(null=True, blank=True)
    frozen_payload_sha256 = models.CharField(max_length=64, blank=True)
    frozen_order_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    payment_book_sent_at = models.DateTimeField(null=True, blank=True)
    payment_booked_at = models.DateTimeField(_("payment booked"), null=True, blank=True)
    payment_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    payment_check_account_id = models.BigIntegerField(null=True, blank=True)
    # Billbee's paid amount of the order when its payments were last settled: a sync that
    # changes it brings the export back for the new payments (exports_with_new_payments).
    payments_seen_total = models.DecimalField(
        max_digits=20, decimal_places=8, null=True, blank=True
    )
    tagged_at = models.DateTimeField(_("tagged in Billbee"), null=True, blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    exported_at = models.DateTimeField(_("exported"), null=True, blank=True)

    class Meta:
        verbose_name = _("order export")
        verbose_name_plural = _("order exports")
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "order"],
                condition=Q(document__isnull=True),
                name="exports_one_export_per_connection_and_order",
            ),
            models.UniqueConstraint(
                fields=["connection", "document"],
                condition=Q(document__isnull=False),
                name="exports_one_export_per_connection_and_document",
            ),
        ]
        indexes = [
            models.Index(fields=["connection", "status"], name="exports_connection_status"),
            models.Index(fields=["connection", "-updated_at"], name="exports_connection_recent"),
            models.Index(fields=["status", "next_attempt_at"], name="exports_due"),
        ]

    def __str__(self) -> str:
        return f"{self.order} → {self.connection}"


class ExportAttempt(models.Model):
    """One try at an export, for the log: when, what happened, how many calls it took."""

    export = models.ForeignKey(OrderExport, on_delete=models.CASCADE, related_name="attempts")
    run = models.ForeignKey(ExportRun, on_delete=models.SET_NULL, null=True, blank=True)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status_after = models.CharField(_("status"), max_length=20, blank=True)
    message = models.TextField(_("message"), blank=True)
    request_count = models.PositiveIntegerField(default=0)
    # What the remote side answered on the failing call, for support (never a token).
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=300, blank=True)
    temporary = models.BooleanField(default=False)  # 5xx, timeout: counts towards an outage

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["started_at"], name="exports_attempt_started")]

    def __str__(self) -> str:
        return f"{self.export} @ {self.started_at:%Y-%m-%d %H:%M}"


class PaymentBooking(models.Model):
    """One Billbee payment booked onto an export's voucher: booked once, with its own state.

    `key` names the payment: "billbee:<BillbeeId>" for a payment of Billbee's `Payments[]`,
    "order" for an order that Billbee marks paid without listing its payments. A booking is
    marked sent (with the voucher's paid amount before it) and committed before `bookAmount`
    leaves, so a lost answer is settled by reading the voucher's paid amount, never by guessing.
    """

    class Status(models.TextChoices):
        SENT = "sent", _("Sent, answer pending")
        BOOKED = "booked", _("Booked")

    export = models.ForeignKey(
        OrderExport, on_delete=models.CASCADE, related_name="payment_bookings"
    )
    key = models.CharField(max_length=60)
    billbee_payment_id = models.BigIntegerField(null=True, blank=True)
    payment_type = models.PositiveSmallIntegerField(_("payment type"), null=True, blank=True)
    pay_date = models.DateField(_("payment date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    booking_type = models.CharField(max_length=12)  # sevDesk's bookAmount type: N, FULL_PAYMENT
    check_account_id = models.BigIntegerField(_("offline account"), null=True, blank=True)
    paid_before = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=10, choices=Status)
    sent_at = models.DateTimeField(null=True, blank=True)
    booked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["export", "pay_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["export", "key"], name="exports_one_booking_per_payment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.amount} ({self.status})"


class Booking(models.Model):
    """The identity of a booking: one Billbee document in one sevDesk account, ever.

    Whichever connection books it, a document (e.g. the invoice of Billbee order 123) enters a
    sevDesk account ("sevClient") at most once: the unique constraint refuses the second.
    """

    sevdesk_client_id = models.BigIntegerField(_("sevDesk account"))
    document_key = models.CharField(_("Billbee document"), max_length=100)
    export = models.OneToOneField(OrderExport, on_delete=models.CASCADE, related_name="booking")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sevdesk_client_id", "document_key"],
                name="exports_one_booking_per_sevdesk_account_and_document",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_key} @ sevClient {self.sevdesk_client_id}"


class CustomerContact(MerchantOwned):
    """A Billbee customer's sevDesk contact, created once per connection and remembered."""

    connection = models.ForeignKey(
        "connections.Connection", on_delete=models.CASCADE, related_name="customer_contacts"
    )
    customer_key = models.CharField(max_length=120)  # Billbee customer id, else number/e-mail
    sevdesk_contact_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "customer_key"], name="exports_one_contact_per_customer"
            ),
        ]
