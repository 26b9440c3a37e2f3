"""Tenancy: every merchant's data hangs off a `MerchantAccount`; users are its members."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MerchantAccount(models.Model):
    """One merchant (one Billbee account) using this installation."""

    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="merchant_accounts"
    )

    class Meta:
        verbose_name = _("merchant account")
        verbose_name_plural = _("merchant accounts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MEMBER = "member", _("Member")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    merchant = models.ForeignKey(
        MerchantAccount, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role, default=Role.MEMBER)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "merchant"], name="unique_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant}"


class MerchantOwnedQuerySet(models.QuerySet):
    def for_merchant(self, merchant: MerchantAccount | None):
        if merchant is None:
            return self.none()
        return self.filter(merchant=merchant)


class MerchantOwned(models.Model):
    """Base for every model that belongs to one merchant; views filter with `for_merchant`."""

    merchant = models.ForeignKey(
        MerchantAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("merchant")
    )

    objects = MerchantOwnedQuerySet.as_manager()

    class Meta:
        abstract = True
