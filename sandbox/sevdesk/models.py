"""The simulated sevDesk's data, kept in our own database so a demo and the tests can look at
what the exporter really sent.

Sandbox accounts are not merchant data: they stand for sevDesk itself, so they do not inherit
``MerchantOwned``. A merchant's connection only knows a sandbox account by its token; the
sandbox pages show an account only to the members of its ``owner``.
"""

import secrets
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _


def generate_token() -> str:
    """A token shaped like sevDesk's: 32 hexadecimal characters."""
    return secrets.token_hex(16)


class SandboxAccount(models.Model):
    """One simulated sevDesk customer account ("sevClient"), reached through its API token."""

    class BookkeepingVersion(models.TextChoices):
        V2 = "2.0", _("2.0 (tax rules and DATEV accounts)")
        V1 = "1.0", _("1.0 (tax types and accounting types)")

    name = models.CharField(_("name"), max_length=200)
    token = models.CharField(_("API token"), max_length=32, unique=True, default=generate_token)
    bookkeeping_version = models.CharField(
        _("bookkeeping system"),
        max_length=3,
        choices=BookkeepingVersion.choices,
        default=BookkeepingVersion.V2,
    )
    small_business = models.BooleanField(_("small business (§19 UStG)"), default=False)
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
        verbose_name = _("sandbox sevDesk account")
        verbose_name_plural = _("sandbox sevDesk accounts")
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.name


class AccountScoped(models.Model):
    """Everything a sevDesk customer owns; ids of other accounts answer 404."""

    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class CheckAccount(AccountScoped):
    """A "Zahlungskonto": a bank account (online) or a clearing account (offline)."""

    class Type(models.TextChoices):
        ONLINE = "online", _("online (bank account)")
        OFFLINE = "offline", _("offline (clearing account)")
        REGISTER = "register", _("cash register")

    class Status(models.IntegerChoices):
        ACTIVE = 100, _("active")
        ARCHIVED = 0, _("archived")

    name = models.CharField(_("name"), max_length=200)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices)
    status = models.IntegerField(_("status"), choices=Status.choices, default=Status.ACTIVE)
    accounting_number = models.CharField(_("booking account"), max_length=10)
    default = models.BooleanField(_("default account"), default=False)
    # Only shown (Model_CheckAccountResponse.currency): bookAmount takes its amount in the
    # voucher's currency, whatever the account's.
    currency = models.CharField(_("currency"), max_length=3, default="EUR")

    class Meta:
        verbose_name = _("check account")
        verbose_name_plural = _("check accounts")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "accounting_number"],
                name="sandbox_sevdesk_checkaccount_unique_number",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.accounting_number})"


class Contact(AccountScoped):
    """An organisation (``name`` set) or a person (``surename``/``familyname`` only)."""

    name = models.CharField(_("organisation name"), max_length=200, blank=True)
    surename = models.CharField(_("first name"), max_length=100, blank=True)
    familyname = models.CharField(_("family name"), max_length=100, blank=True)
    category_id = models.PositiveIntegerField(_("category id"), default=3)
    customer_number = models.CharField(_("customer number"), max_length=50, blank=True)
    vat_number = models.CharField(_("VAT id"), max_length=50, blank=True)
    status = models.PositiveIntegerField(_("status"), default=100)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_organisation(self) -> bool:
        return bool(self.name)

    @property
    def display_name(self) -> str:
        return self.name or f"{self.surename} {self.familyname}".strip()


class StaticCountry(models.Model):
    """sevDesk's country list, ids as sevDesk hands them out (seeded by a data migration)."""

    id = models.PositiveIntegerField(primary_key=True)
    code = models.CharField(_("ISO code"), max_length=2, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    locale = models.CharField(_("locale"), max_length=10)
    priority = models.PositiveIntegerField(_("priority"), default=100)

    class Meta:
        verbose_name = _("country")
        verbose_name_plural = _("countries")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class CommunicationWayKey(models.Model):
    """The labels of e-mail addresses and phone numbers ("Privat", "Arbeit", ...)."""

    id = models.PositiveIntegerField(primary_key=True)
    name = models.CharField(_("name"), max_length=50)
    translation_code = models.CharField(_("translation code"), max_length=50)

    class Meta:
        verbose_name = _("communication way key")
        verbose_name_plural = _("communication way keys")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ContactAddress(AccountScoped):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="addresses")
    street = models.CharField(_("street"), max_length=200, blank=True)
    zip = models.CharField(_("postcode"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.ForeignKey(StaticCountry, on_delete=models.PROTECT)
    category_id = models.PositiveIntegerField(_("category id"), null=True, blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("contact address")
        verbose_name_plural = _("contact addresses")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.street}, {self.zip} {self.city}"


class CommunicationWay(AccountScoped):
    class Type(models.TextChoices):
        EMAIL = "EMAIL", "EMAIL"
        PHONE = "PHONE", "PHONE"
        WEB = "WEB", "WEB"
        MOBILE = "MOBILE", "MOBILE"

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="communication_ways"
    )
    type = models.CharField(_("type"), max_length=10, choices=Type.choices)
    value = models.CharField(_("value"), max_length=200)
    key = models.ForeignKey(CommunicationWayKey, on_delete=models.PROTECT)
    main = models.BooleanField(_("main"), default=False)

    class Meta:
        verbose_name = _("communication way")
        verbose_name_plural = _("communication ways")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.type}: {self.value}"


class RevenueAccount(models.Model):
    """A DATEV revenue account as `/ReceiptGuidance/forRevenue` describes it.

    ``allowed_tax_rules`` is a list of ``{"id": 1, "rates": [0, 7, 19]}``: the tax rules a
    voucher position on this account may use, each with its allowed tax rates.
    """

    class Regime(models.TextChoices):
        REGULAR = "regular", _("regular taxation")
        SMALL_BUSINESS = "small_business", _("small business (§19 UStG)")

    account_datev_id = models.PositiveIntegerField(_("AccountDatev id"), unique=True)
    accounting_type_id = models.PositiveIntegerField(
        _("AccountingType id (bookkeeping 1.0)"), unique=True
    )
    number = models.CharField(_("account number (SKR04)"), max_length=10)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    regime = models.CharField(_("regime"), max_length=20, choices=Regime.choices)
    allowed_tax_rules = models.JSONField(_("allowed tax rules"), default=list)

    class Meta:
        verbose_name = _("revenue account")
        verbose_name_plural = _("revenue accounts")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    def allowed_rates(self, tax_rule: int) -> list[int] | None:
        """The rates allowed with this tax rule, or None if the rule is not allowed at all."""
        for rule in self.allowed_tax_rules:
            if rule["id"] == tax_rule:
                return rule["rates"]
        return None


def temp_file_path(instance: "TempFile", filename: str) -> str:
    return f"sandbox/sevdesk/{instance.filename}"


class TempFile(AccountScoped):
    """A file uploaded by `uploadTempFile`, waiting for a voucher to refer to it by name."""

    filename = models.CharField(_("file name"), max_length=100, unique=True)
    original_name = models.CharField(_("original name"), max_length=255, blank=True)
    content = models.FileField(_("content"), upload_to=temp_file_path)
    mime_type = models.CharField(_("MIME type"), max_length=100)
    pages = models.PositiveIntegerField(_("pages"), default=1)
    content_hash = models.CharField(_("content hash"), max_length=64)

    class Meta:
        verbose_name = _("uploaded file")
        verbose_name_plural = _("uploaded files")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.filename


class Voucher(AccountScoped):
    """A "Beleg" as saveVoucher stores it; the sums are computed from its positions."""

    class Status(models.IntegerChoices):
        DRAFT = 50, _("draft")
        OPEN = 100, _("open")
        PARTIALLY_PAID = 750, _("partially paid")
        PAID = 1000, _("paid")

    class CreditDebit(models.TextChoices):
        CREDIT = "C", _("expense (C)")
        DEBIT = "D", _("revenue (D)")

    voucher_date = models.DateField(_("voucher date"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    supplier = models.ForeignKey(
        Contact, on_delete=models.PROTECT, null=True, blank=True, related_name="vouchers"
    )
    supplier_name = models.CharField(_("supplier name"), max_length=255, blank=True)
    status = models.IntegerField(_("status"), choices=Status.choices)
    credit_debit = models.CharField(_("credit/debit"), max_length=1, choices=CreditDebit.choices)
    voucher_type = models.CharField(_("voucher type"), max_length=3, default="VOU")
    tax_rule = models.PositiveIntegerField(_("tax rule (2.0)"), null=True, blank=True)
    tax_type = models.CharField(_("tax type (1.0)"), max_length=10, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    property_exchange_rate = models.DecimalField(
        _("exchange rate"), max_digits=12, decimal_places=6, null=True, blank=True
    )
    delivery_date = models.DateField(_("delivery date"), null=True, blank=True)
    delivery_date_until = models.DateField(_("delivery date until"), null=True, blank=True)
    pay_date = models.DateField(_("pay date"), null=True, blank=True)
    payment_deadline = models.DateField(_("payment deadline"), null=True, blank=True)
    file = models.ForeignKey(
        TempFile, on_delete=models.SET_NULL, null=True, blank=True, related_name="vouchers"
    )
    sum_net = models.DecimalField(_("net"), max_digits=12, decimal_places=2, default=Decimal(0))
    sum_tax = models.DecimalField(_("tax"), max_digits=12, decimal_places=2, default=Decimal(0))
    sum_gross = models.DecimalField(_("gross"), max_digits=12, decimal_places=2, default=Decimal(0))
    paid_amount = models.DecimalField(
        _("paid"), max_digits=12, decimal_places=2, default=Decimal(0)
    )

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.description or f"#{self.pk}"

    @property
    def open_amount(self) -> Decimal:
        """What is still to be paid, in the voucher's currency: revenue (D) vouchers are paid
        with positive amounts, expense (C) vouchers with negative ones (sevdesk-api.md); the
        sum of either is positive. Below zero when more than the sum was booked."""
        return abs(self.sum_gross) - self.paid_amount * self.payment_sign

    @property
    def payment_sign(self) -> int:
        """The sign of the payments that settle this voucher: positive for revenue (D),
        negative for expense (C), as sevdesk-api.md says; turned round for a voucher whose sum
        is negative (a credit note booked as negative revenue is settled by money going out).
        The sandbox's reading of the rule: sevDesk documents only the positive case."""
        direction = 1 if self.credit_debit == self.CreditDebit.DEBIT else -1
        return -direction if self.sum_gross < 0 else direction

    @property
    def settled_difference(self) -> Decimal | None:
        """What a paid voucher still lacked when it was closed (FULL_PAYMENT or a difference
        type for less than the open amount; negative when more arrived), else None."""
        if self.status != self.Status.PAID or not self.open_amount:
            return None
        return self.open_amount


class VoucherPos(AccountScoped):
    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="positions")
    revenue_account = models.ForeignKey(RevenueAccount, on_delete=models.PROTECT)
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=2)
    net = models.BooleanField(_("net based"))
    sum_net = models.DecimalField(_("net"), max_digits=12, decimal_places=2)
    sum_tax = models.DecimalField(_("tax"), max_digits=12, decimal_places=2)
    sum_gross = models.DecimalField(_("gross"), max_digits=12, decimal_places=2)
    comment = models.CharField(_("comment"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("voucher position")
        verbose_name_plural = _("voucher positions")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.sum_gross} ({self.tax_rate} %)"


class VoucherPayment(AccountScoped):
    """One `bookAmount` call: a payment booked on a voucher from a check account."""

    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="payments")
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    date = models.DateField(_("date"))
    check_account = models.ForeignKey(CheckAccount, on_delete=models.PROTECT)
    type = models.CharField(_("type"), max_length=20)
    from_status = models.IntegerField(_("status before"))
    to_status = models.IntegerField(_("status after"))

    class Meta:
        verbose_name = _("voucher payment")
        verbose_name_plural = _("voucher payments")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.amount} → {self.check_account}"


class FaultPlan(AccountScoped):
    """A switch that makes the next matching requests of an account fail the way sevDesk (or
    the network in front of it) can, so the exporter's error handling can be shown and tested.
    """

    class Kind(models.TextChoices):
        HTTP_500 = "http_500", _("500 Internal Server Error")
        HTTP_401 = "http_401", _("401 Authentication required")
        HTTP_429 = "http_429", _("429 Too Many Requests (with Retry-After)")
        LOSE_RESPONSE = "lose_response", _("apply the request, then lose the answer (504)")
        LATENCY = "latency", _("slow answer")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    remaining = models.PositiveIntegerField(_("remaining"), default=1)
    retry_after = models.PositiveIntegerField(_("Retry-After (seconds)"), default=1)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    path_contains = models.CharField(
        _("only paths containing"),
        max_length=200,
        blank=True,
        help_text=_("e.g. saveVoucher; empty for every request"),
    )
    body_contains = models.CharField(
        _("only requests whose body contains"),
        max_length=200,
        blank=True,
        help_text=_("e.g. an invoice number, to make one order's voucher fail"),
    )

    class Meta:
        verbose_name = _("fault plan")
        verbose_name_plural = _("fault plans")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.remaining} left)"
