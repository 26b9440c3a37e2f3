"""sevDesk connections: where and how a merchant's orders are booked."""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedTextField
from merchants.models import MerchantOwned, MerchantOwnedQuerySet

# German: the reference product's wording, which merchants and support articles know by heart
# ("Beim Laden dieser Verbindung ist ein Fehler aufgetreten, kontrolliere Deine Zugangsdaten.").
TOKEN_REJECTED_MESSAGE = _(
    "An error occurred while loading this connection, check your credentials."
)


BOOKKEEPING_1_0 = _(
    "This sevDesk account still uses bookkeeping system 1.0, which sevDesk has retired. Please "
    "switch to bookkeeping 2.0 in sevDesk, then test the connection again."
)


class ConnectionQuerySet(MerchantOwnedQuerySet):
    def live(self):
        """Not deleted: what the merchant's lists and forms show (active or deactivated)."""
        return self.filter(deleted_at__isnull=True)


class Connection(MerchantOwned):
    class PaymentReconciliation(models.TextChoices):
        BILLBEE = "billbee", "Billbee"
        SEVDESK = "sevdesk", "sevDesk"

    class VoucherDateBasis(models.TextChoices):
        INVOICE_DATE = "invoice", _("Invoice date")
        PAYMENT_DATE = "payment", _("Payment date")
        ORDER_DATE = "order", _("Order date")

    class Status(models.TextChoices):
        UNTESTED = "untested", _("Not tested yet")
        OK = "ok", _("Connected")
        TOKEN_REJECTED = "token_rejected", _("Token rejected")
        UNREACHABLE = "unreachable", _("sevDesk not reachable")
        UNSUPPORTED = "unsupported", _("Bookkeeping 1.0 not supported")

    # Properties ("Eigenschaften")
    name = models.CharField(_("Name"), max_length=200)
    start_date = models.DateField(_("Start date"))
    shops = models.ManyToManyField(
        "orders.Shop", related_name="connections", verbose_name=_("Shops")
    )
    include_manual_orders = models.BooleanField(_("Manual orders (without a shop)"), default=False)
    order_states = models.JSONField(_("Order states"), default=list)

    # API
    payment_reconciliation = models.CharField(
        _("System for payment reconciliation"),
        max_length=10,
        choices=PaymentReconciliation,
        default=PaymentReconciliation.BILLBEE,
    )
    api_token = EncryptedTextField(_("API key"))
    api_token_last4 = models.CharField(max_length=4, editable=False)
    create_full_customers = models.BooleanField(_("Create full customers"), default=False)
    book_unassigned_as_standard = models.BooleanField(
        _("Book unassigned payments as standard payment"), default=False
    )
    # A credit note whose original invoice this connection never booked (dated before the start
    # date, sent through another connection): booked on its own, or only reported.
    book_unlinked_credit_notes = models.BooleanField(
        _("Book credit notes without a booked original"), default=False
    )
    voucher_date_basis = models.CharField(
        _("Voucher date is"),
        max_length=10,
        choices=VoucherDateBasis,
        default=VoucherDateBasis.INVOICE_DATE,
    )
    # Deactivated (or deleted): no run, no event-driven export, no report picks it.
    is_active = models.BooleanField(_("active"), default=True)
    # Deleted by the merchant: kept with its history and exports, never shown or run again.
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)

    # What the last test that reached sevDesk found out.
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.UNTESTED)
    last_error = models.TextField(_("last error"), blank=True)
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    bookkeeping_version = models.CharField(_("bookkeeping system"), max_length=10, blank=True)
    revenue_guidance = models.JSONField(
        _("revenue accounts (from sevDesk)"), default=list, blank=True
    )
    # The sevDesk account ("sevClient") the token books into, read at each successful test: a
    # document is booked once per sevDesk account, whichever connection books it.
    sevdesk_client_id = models.BigIntegerField(
        _("sevDesk account"), null=True, blank=True, editable=False
    )
    # Set when sevDesk rejects the token; nothing is sent with it until it is re-checked
    # successfully (automatically after 1, 5 and 15 minutes) or the merchant tests or saves.
    token_rejected_at = models.DateTimeField(null=True, blank=True, editable=False)
    token_rechecks = models.PositiveSmallIntegerField(default=0, editable=False)
    token_recheck_at = models.DateTimeField(null=True, blank=True, editable=False)
    # An outage (several orders failing with 5xx/timeouts within a minute) pauses the
    # connection with growing backoff; it resumes by itself.
    paused_until = models.DateTimeField(_("paused until"), null=True, blank=True, editable=False)
    pause_reason = models.TextField(_("pause reason"), blank=True, editable=False)
    outage_pauses = models.PositiveSmallIntegerField(default=0, editable=False)
    # A lease instead of a lock: runs of one connection never overlap, and a crashed run's
    # lease simply expires.
    export_lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("sevDesk connection")
        verbose_name_plural = _("sevDesk connections")
        ordering = ["name"]
        indexes = [models.Index(fields=["merchant", "is_active"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("connections:connection_edit", args=[self.pk])

    @property
    def masked_token(self) -> str:
        return f"••••{self.api_token_last4}" if self.api_token_last4 else ""

    @property
    def reached_sevdesk(self) -> bool:
        """The account assignment tab appears once a test or save reached sevDesk."""
        return self.status == self.Status.OK

    @property
    def billbee_reconciles(self) -> bool:
        return self.payment_reconciliation == self.PaymentReconciliation.BILLBEE

    @property
    def is_paused(self) -> bool:
        from django.utils import timezone

        return self.paused_until is not None and self.paused_until > timezone.now()

    def set_token(self, token: str) -> None:
        self.api_token = token
        self.api_token_last4 = token[-4:]
        self.token_rejected_at = None
