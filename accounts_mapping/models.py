"""Account assignment ("Kontozuweisung"): Billbee payment method → sevDesk clearing account."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchants.models import MerchantOwned


class AccountAssignment(MerchantOwned):
    """Payments of one Billbee payment method are booked to one sevDesk *offline* account.

    The row without a payment method is the standard account, used for unassigned payments when
    the connection books them as standard payment. Only used while Billbee reconciles payments.
    """

    connection = models.ForeignKey(
        "connections.Connection",
        on_delete=models.CASCADE,
        related_name="account_assignments",
        verbose_name=_("connection"),
    )
    payment_method = models.PositiveIntegerField(_("Payment method"), null=True, blank=True)
    check_account_id = models.BigIntegerField(_("Offline account"))
    check_account_name = models.CharField(_("account name"), max_length=255, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("account assignment")
        verbose_name_plural = _("account assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "payment_method"], name="one_account_per_payment_method"
            ),
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(payment_method__isnull=True),
                name="one_standard_account_per_connection",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment_method or 'standard'} → {self.check_account_name}"

    @property
    def is_standard(self) -> bool:
        return self.payment_method is None


class RevenueAccountAssignment(MerchantOwned):
    """Sales of one tax case are booked to one sevDesk revenue account ("Erlöskonto").

    sevDesk's ReceiptGuidance says which accounts (AccountDatev) each tax rule and rate
    allows; `accounts_mapping.services.revenue_accounts_refresh` pre-fills one row per case
    (`chosen_by` "sevdesk") and keeps what a merchant chose while sevDesk still offers it.

    * goods: one row per (tax rule, rate) the guidance offers.
    * shipping: optional, per (tax rule, rate); no row means "as the goods".
    * coupon: at most one row per connection, with `tax_rule` 0 and `tax_rate` 0 as markers
      (no tax rule has the number 0; non-null markers keep the unique constraint effective,
      where NULLs would never collide): the account for redeemed multi-purpose vouchers,
      one of the accounts the guidance allows at 0 % under rule 1.
    """

    class Kind(models.TextChoices):
        GOODS = "goods", _("Goods")
        SHIPPING = "shipping", _("Shipping")
        COUPON = "coupon", _("Redeemed multi-purpose vouchers")

    class ChosenBy(models.TextChoices):
        SEVDESK = "sevdesk", _("sevDesk's suggestion")
        MERCHANT = "merchant", _("merchant")

    COUPON_TAX_RULE = 0  # marker of the coupon row: no tax rule of its own

    connection = models.ForeignKey(
        "connections.Connection",
        on_delete=models.CASCADE,
        related_name="revenue_accounts",
        verbose_name=_("connection"),
    )
    tax_rule = models.PositiveSmallIntegerField(_("tax rule"))
    tax_rate = models.DecimalField(_("tax rate"), max_digits=5, decimal_places=2)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind, default=Kind.GOODS)
    account_datev_id = models.BigIntegerField(_("revenue account (AccountDatev)"))
    account_number = models.CharField(_("account number"), max_length=20, blank=True)
    account_name = models.CharField(_("account name"), max_length=255, blank=True)
    chosen_by = models.CharField(
        _("chosen by"), max_length=10, choices=ChosenBy, default=ChosenBy.SEVDESK
    )
    # The merchant's choice that sevDesk stopped offering (after a token change to another
    # sevDesk account, or a change by the tax adviser), replaced by sevDesk's suggestion;
    # shown on the screen until the merchant saves the revenue accounts.
    replaced_choice = models.CharField(_("replaced choice"), max_length=300, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("revenue account assignment")
        verbose_name_plural = _("revenue account assignments")
        ordering = ["connection", "tax_rule", "-tax_rate", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "tax_rule", "tax_rate", "kind"],
                name="one_revenue_account_per_tax_case",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="coupon", tax_rule=0, tax_rate=0)
                    | (~Q(kind="coupon") & Q(tax_rule__gt=0))
                ),
                name="coupon_row_has_no_tax_case",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.tax_rule}/{self.tax_rate} → {self.account_label}"

    @property
    def account_label(self) -> str:
        return f"{self.account_number} {self.account_name}".strip()
