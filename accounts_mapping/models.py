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
