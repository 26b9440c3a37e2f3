"""The Billbee side: the merchant's Billbee account and a mirror of its orders.

The mirror is what exports read; Billbee stays the source of truth. Every row belongs to
one merchant (``MerchantOwned``), and Billbee ids are unique per merchant, not globally,
because two merchants may (in the sandbox, or after an account move) share an id range.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedTextField
from merchants.models import MerchantOwned


def money_field(verbose_name, **kwargs) -> models.DecimalField:
    """Money as stored in the mirror; the exact Billbee value stays in ``Order.raw``."""
    return models.DecimalField(verbose_name, max_digits=20, decimal_places=8, **kwargs)


class BillbeeAccount(MerchantOwned):
    """How to reach one merchant's Billbee account, and how far its orders are synced."""

    class ConnectionStatus(models.TextChoices):
        UNTESTED = "untested", _("Not tested")
        OK = "ok", _("Connected")
        FAILED = "failed", _("Connection failed")

    api_key = EncryptedTextField(_("API key"))
    username = models.CharField(_("user name"), max_length=200)
    api_password = EncryptedTextField(_("API password"))
    connection_status = models.CharField(
        _("connection status"),
        max_length=20,
        choices=ConnectionStatus,
        default=ConnectionStatus.UNTESTED,
    )
    last_tested_at = models.DateTimeField(_("last tested"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    sync_enabled = models.BooleanField(_("sync enabled"), default=True)
    sync_since = models.DateField(
        _("first sync from"),
        null=True,
        blank=True,
        help_text=_("The first sync fetches only orders placed on or after this date."),
    )
    # Start of the last fully successful run; the next run asks for orders modified since.
    sync_cursor = models.DateTimeField(_("synced up to"), null=True, blank=True)
    # The invoice list (GET /orders/invoices): the start of the last complete read, and the
    # invoice date the next read asks from (minInvoiceDate).
    documents_synced_at = models.DateTimeField(_("documents read at"), null=True, blank=True)
    documents_cursor = models.DateTimeField(_("documents read from"), null=True, blank=True)
    # How often the incremental sync runs; empty: every 2 minutes, every 15 with webhooks on
    # (they make it sooner; polling stays the source of truth).
    sync_interval_minutes = models.PositiveSmallIntegerField(
        _("sync every (minutes)"), null=True, blank=True
    )
    # A webhook asked for a sync: the next (or running) sync goes again once it is done.
    sync_requested_at = models.DateTimeField(null=True, blank=True)
    shops_synced_at = models.DateTimeField(_("shops read at"), null=True, blank=True)
    # Real-time notifications ("Echtzeit-Benachrichtigungen"): Billbee's webhook.
    webhook_secret = EncryptedTextField(_("webhook secret"), blank=True)
    webhook_id = models.CharField(_("Billbee webhook id"), max_length=100, blank=True)
    webhook_registered_at = models.DateTimeField(_("webhook registered"), null=True, blank=True)
    webhook_last_delivery_at = models.DateTimeField(_("last notification"), null=True, blank=True)
    webhook_error = models.TextField(_("webhook error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("Billbee account")
        verbose_name_plural = _("Billbee accounts")
        constraints = [
            models.UniqueConstraint(fields=["merchant"], name="orders_one_billbee_account"),
        ]

    def __str__(self) -> str:
        return f"{self.username} ({self.merchant})"


class Shop(MerchantOwned):
    """A sales channel connected to Billbee (Billbee's "shop account")."""

    billbee_id = models.BigIntegerField(_("Billbee id"))
    name = models.CharField(_("name"), max_length=255, blank=True)
    platform = models.CharField(_("platform"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "billbee_id"], name="orders_shop_unique_per_merchant"
            ),
        ]

    def __str__(self) -> str:
        return self.name or str(self.billbee_id)


class Order(MerchantOwned):
    """One Billbee order as last seen by the sync."""

    billbee_id = models.BigIntegerField(_("Billbee id"))
    order_number = models.CharField(_("order number"), max_length=100, blank=True)
    marketplace_id = models.CharField(_("marketplace id"), max_length=100, blank=True)
    state = models.PositiveSmallIntegerField(_("state"))
    shop = models.ForeignKey(
        Shop,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("shop"),
    )
    order_date = models.DateTimeField(_("order date"), null=True, blank=True)
    invoice_number = models.CharField(_("invoice number"), max_length=100, blank=True)
    invoice_date = models.DateTimeField(_("invoice date"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    payment_method = models.PositiveSmallIntegerField(_("payment method"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    total_gross = money_field(_("total (gross)"))
    shipping_cost = money_field(_("shipping cost"), default=0)
    adjustment_cost = money_field(_("adjustment"), default=0)
    paid_amount = money_field(_("paid amount"), default=0)
    tax_rate_regular = models.DecimalField(
        _("regular VAT rate"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    tax_rate_reduced = models.DecimalField(
        _("reduced VAT rate"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    vat_mode = models.PositiveSmallIntegerField(_("VAT mode"), default=0)
    customer_billbee_id = models.BigIntegerField(_("customer id"), null=True, blank=True)
    customer_name = models.CharField(_("customer"), max_length=255, blank=True)
    customer_email = models.CharField(_("customer e-mail"), max_length=255, blank=True)
    customer_number = models.CharField(_("customer number"), max_length=100, blank=True)
    customer_vat_id = models.CharField(_("customer VAT id"), max_length=50, blank=True)
    invoice_address = models.JSONField(_("invoice address"), default=dict, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    last_modified_at = models.DateTimeField(_("last modified in Billbee"), null=True, blank=True)
    # The document as Billbee sent it, for audit; Decimals are kept as strings (exact).
    raw = models.JSONField(_("Billbee document"), default=dict, encoder=DjangoJSONEncoder)
    synced_at = models.DateTimeField(_("synced at"))

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-order_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "billbee_id"], name="orders_order_unique_per_merchant"
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "-order_date", "-id"], name="orders_merchant_date"),
            models.Index(fields=["merchant", "state"], name="orders_merchant_state"),
            models.Index(fields=["merchant", "shop"], name="orders_merchant_shop"),
            models.Index(fields=["merchant", "invoice_number"], name="orders_merchant_invoice"),
            models.Index(fields=["merchant", "order_number"], name="orders_merchant_number"),
        ]

    def __str__(self) -> str:
        return self.order_number or f"#{self.billbee_id}"

    @property
    def has_invoice(self) -> bool:
        """As Billbee's client sees it: a number and a date (the PDF exists only then)."""
        return bool(self.invoice_number) and self.invoice_date is not None

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None

    @property
    def state_name(self) -> str:
        from orders.enums import order_state_name

        return order_state_name(self.state)


class OrderItem(MerchantOwned):
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="items", verbose_name=_("order")
    )
    position = models.PositiveIntegerField(_("position"))
    billbee_id = models.BigIntegerField(_("Billbee id"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=500, blank=True)
    sku = models.CharField(_("SKU"), max_length=200, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=20, decimal_places=8)
    total_price = money_field(_("total price (gross)"))
    tax_amount = money_field(_("VAT amount"))
    tax_index = models.PositiveSmallIntegerField(_("VAT rate index"), default=0)
    discount_percent = models.DecimalField(
        _("discount %"), max_digits=20, decimal_places=8, default=0
    )
    is_coupon = models.BooleanField(_("coupon"), default=False)
    is_digital = models.BooleanField(_("digital"), default=False)

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        ordering = ["order", "position"]

    def __str__(self) -> str:
        return self.title or self.sku


class Payment(MerchantOwned):
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="payments", verbose_name=_("order")
    )
    billbee_id = models.BigIntegerField(_("Billbee id"), null=True, blank=True)
    transaction_id = models.CharField(_("transaction id"), max_length=255, blank=True)
    pay_date = models.DateTimeField(_("payment date"), null=True, blank=True)
    payment_type = models.PositiveSmallIntegerField(_("payment type"), null=True, blank=True)
    amount = money_field(_("amount"))
    purpose = models.CharField(_("purpose"), max_length=500, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["order", "pay_date", "id"]

    def __str__(self) -> str:
        return f"{self.amount} ({self.pay_date})"


def invoice_upload_to(document: "InvoiceDocument", filename: str) -> str:
    return f"invoices/{document.merchant_id}/{filename}"


class InvoiceDocument(MerchantOwned):
    """The invoice PDF of an order, kept in file storage (never in the database)."""

    order = models.OneToOneField(
        Order, on_delete=models.CASCADE, related_name="invoice_document", verbose_name=_("order")
    )
    invoice_number = models.CharField(_("invoice number"), max_length=100, blank=True)
    invoice_date = models.DateTimeField(_("invoice date"), null=True, blank=True)
    file = models.FileField(_("PDF"), upload_to=invoice_upload_to, max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    fetched_at = models.DateTimeField(_("fetched at"))

    class Meta:
        verbose_name = _("invoice document")
        verbose_name_plural = _("invoice documents")

    def __str__(self) -> str:
        return self.invoice_number


class BillbeeApiUsage(models.Model):
    """Billbee API calls per account and calendar month, with the key's digest: Billbee is free
    up to 100,000 calls a month per API key (which several accounts may share), then paid."""

    key_digest = models.CharField(max_length=64)  # secret_digest(api_key): never the key
    account = models.ForeignKey(BillbeeAccount, on_delete=models.CASCADE, related_name="api_usage")
    month = models.DateField(_("month"))  # its first day
    calls = models.PositiveIntegerField(_("calls"), default=0)

    class Meta:
        verbose_name = _("Billbee API usage")
        verbose_name_plural = _("Billbee API usage")
        constraints = [
            models.UniqueConstraint(
                fields=["key_digest", "account", "month"], name="orders_one_usage_row_per_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.calls}"


class WebhookDelivery(models.Model):
    """A webhook notification received from Billbee, by its id: a replay is refused."""

    account = models.ForeignKey(
        BillbeeAccount, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    delivery_id = models.CharField(max_length=100)
    received_at = models.DateTimeField()
    actions = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "delivery_id"], name="orders_one_delivery_per_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} ({self.actions})"


class BillbeeDocument(MerchantOwned):
    """An invoice or credit note as Billbee's invoice list states it (GET /orders/invoices):
    the reference for the voucher, position by position and rate by rate.

    Amounts in `positions` and `fees` are kept as strings of Billbee's exact digits (JSON has
    no decimals); `orders.billbee_client.BillbeeInvoiceEntry` names their keys.
    """

    class Type(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "creditnote", _("Credit note")

    order = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="billbee_documents",
        verbose_name=_("order"),
    )
    billbee_order_id = models.BigIntegerField(_("Billbee order id"), null=True, blank=True)
    type = models.CharField(_("type"), max_length=20, choices=Type)
    number = models.CharField(_("number"), max_length=100)
    order_number = models.CharField(_("order number"), max_length=100, blank=True)
    invoice_date = models.DateTimeField(_("date"), null=True, blank=True)
    pay_date = models.DateTimeField(_("payment date"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    total_net = money_field(_("net"))
    total_gross = money_field(_("gross"))
    vat_mode = models.PositiveSmallIntegerField(_("VAT mode"), null=True, blank=True)
    payment_type_id = models.PositiveSmallIntegerField(_("payment method"), null=True, blank=True)
    shop_name = models.CharField(_("shop"), max_length=255, blank=True)
    customer_vat_id = models.CharField(_("customer VAT id"), max_length=50, blank=True)
    positions = models.JSONField(_("positions"), default=list, blank=True)
    fees = models.JSONField(_("additional fees"), default=list, blank=True)
    vat_flags = models.JSONField(_("VAT flags"), default=dict, blank=True)
    raw = models.JSONField(_("Billbee document"), default=dict, encoder=DjangoJSONEncoder)
    synced_at = models.DateTimeField(_("synced at"))

    class Meta:
        verbose_name = _("Billbee document")
        verbose_name_plural = _("Billbee documents")
        ordering = ["invoice_date", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "type", "number"], name="orders_one_document_per_number"
            ),
        ]
        indexes = [models.Index(fields=["merchant", "billbee_order_id"])]

    def __str__(self) -> str:
        return self.number


class SyncRun(MerchantOwned):
    """One run of the order sync: its window, its progress page by page, and its outcome.

    Progress is committed with every page, so a run that dies half-way can be resumed from
    ``resume_page`` with the same window by the next run (``resumed_from``).
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey(
        BillbeeAccount,
        on_delete=models.CASCADE,
        related_name="sync_runs",
        verbose_name=_("account"),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"))
    # The window asked for: orders modified since window_from (None: all); window_to is the
    # moment the window was opened and becomes the account's cursor when the run succeeds.
    window_from = models.DateTimeField(_("modified since"), null=True, blank=True)
    window_to = models.DateTimeField(_("window opened at"))
    min_order_date = models.DateField(_("orders placed since"), null=True, blank=True)
    resume_page = models.PositiveIntegerField(_("next page"), default=1)
    total_pages = models.PositiveIntegerField(_("pages"), null=True, blank=True)
    pages_done = models.PositiveIntegerField(_("pages done"), default=0)
    orders_created = models.PositiveIntegerField(_("orders created"), default=0)
    orders_updated = models.PositiveIntegerField(_("orders updated"), default=0)
    orders_rejected = models.PositiveIntegerField(_("orders rejected"), default=0)
    errors = models.TextField(_("errors"), blank=True)
    resumed_from = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resumed_by",
        verbose_name=_("resumes"),
    )

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-started_at", "-id"]
        constraints = [
            # The database itself refuses a second running sync of one account.
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status="running"),
                name="orders_one_running_sync_per_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class SyncRejection(MerchantOwned):
    """A Billbee order the sync could not take over, and why, until Billbee sends it valid.

    One row per order: seen again it is updated (and reopened if it had been resolved); stored
    at last, it is marked resolved. The Billbee id is text because a refused order's id may be
    the very value that does not fit the mirror's bigint.
    """

    account = models.ForeignKey(
        BillbeeAccount,
        on_delete=models.CASCADE,
        related_name="rejections",
        verbose_name=_("account"),
    )
    billbee_order_id = models.CharField(_("Billbee id"), max_length=40)
    order_number = models.CharField(_("order number"), max_length=100, blank=True)
    reason = models.TextField(_("reason"))
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last seen"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("order not taken over")
        verbose_name_plural = _("orders not taken over")
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "billbee_order_id"], name="orders_one_rejection_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_number or self.billbee_order_id}: {self.reason}"
