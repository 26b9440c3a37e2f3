"""The simulated Billbee's data: accounts with their API credentials, shops and orders.

Orders keep their full document in Billbee's JSON shape (``data``), with money as decimal
strings so no digit is lost in the database; the API writes them back as JSON numbers. The
indexed columns beside it exist for the filters of ``GET /orders``.
"""

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _


def generate_api_key() -> str:
    return secrets.token_hex(16)


def generate_api_password() -> str:
    return secrets.token_urlsafe(18)


class SandboxAccount(models.Model):
    """One Billbee user with the API enabled; credentials in plain text, it is a simulator."""

    name = models.CharField(_("name"), max_length=100)
    api_key = models.CharField(_("API key"), max_length=64, default=generate_api_key)
    username = models.CharField(_("user name"), max_length=150)
    api_password = models.CharField(_("API password"), max_length=64, default=generate_api_password)
    small_business = models.BooleanField(
        _("small business (§19 UStG)"),
        default=False,
        help_text=_("Orders of this account carry no VAT (VatMode 1)."),
    )
    next_invoice_number = models.PositiveIntegerField(_("next invoice number"), default=1)
    # The merchant account whose members see this account (and its credentials) on the
    # sandbox pages; empty for accounts made on the command line, which only staff see (admin).
    owner = models.ForeignKey(
        "merchants.MerchantAccount",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("sandbox Billbee account")
        verbose_name_plural = _("sandbox Billbee accounts")
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "username"], name="sandbox_billbee_account_unique_login"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SandboxShop(models.Model):
    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="shops")
    billbee_id = models.BigIntegerField(_("Billbee id"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    platform = models.CharField(_("platform"), max_length=50)
    account_type = models.PositiveIntegerField(_("account type"))

    class Meta:
        verbose_name = _("sandbox Billbee shop")
        verbose_name_plural = _("sandbox Billbee shops")
        ordering = ["billbee_id"]

    def __str__(self) -> str:
        return self.name


class SandboxOrder(models.Model):
    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="orders")
    billbee_id = models.BigIntegerField(_("Billbee id"), unique=True)
    shop = models.ForeignKey(
        SandboxShop, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    state = models.PositiveSmallIntegerField(_("state"))
    order_number = models.CharField(_("order number"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("ordered at"))
    last_modified_at = models.DateTimeField(_("last modified at"), db_index=True)
    invoice_date = models.DateTimeField(_("invoice date"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    # The tags lower-cased as "|a|b|": filterable on SQLite, whose JSON lookups cannot "contain".
    tags_key = models.CharField(max_length=1000, blank=True, editable=False)
    data = models.JSONField(_("Billbee order document"))

    class Meta:
        verbose_name = _("sandbox Billbee order")
        verbose_name_plural = _("sandbox Billbee orders")
        ordering = ["billbee_id"]
        indexes = [models.Index(fields=["account", "billbee_id"])]

    def __str__(self) -> str:
        return self.order_number or str(self.billbee_id)


class SandboxFaultPlan(models.Model):
    """The next ``remaining`` matching API calls of an account fail in the chosen way."""

    class Kind(models.TextChoices):
        HTTP_500 = "http_500", _("HTTP 500 with an ASP.NET error body")
        HTML_502 = "html_502", _("HTTP 502 with an HTML page")
        MALFORMED_ORDER = "malformed_order", _("one order of the answer is malformed")

    account = models.ForeignKey(
        SandboxAccount, on_delete=models.CASCADE, related_name="fault_plans"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    remaining = models.PositiveIntegerField(_("remaining"), default=1)
    path_contains = models.CharField(_("only for paths containing"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("sandbox Billbee fault")
        verbose_name_plural = _("sandbox Billbee faults")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.remaining})"


class SandboxWebhook(models.Model):
    """A webhook registered through POST /webhooks; the sandbox delivers to it as Billbee
    does (ASP.NET WebHooks: signed POSTs, retried after 1 and 4 minutes)."""

    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="webhooks")
    webhook_id = models.CharField(_("id"), max_length=36, unique=True)
    uri = models.URLField(_("URI"), max_length=500)
    secret = models.CharField(_("secret"), max_length=64)
    filters = models.JSONField(_("filters"), default=list)
    description = models.CharField(_("description"), max_length=255, blank=True)
    is_paused = models.BooleanField(_("paused"), default=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=0)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("sandbox Billbee webhook")
        verbose_name_plural = _("sandbox Billbee webhooks")

    def __str__(self) -> str:
        return self.uri
