from django.contrib.auth.models import AbstractBaseUser

from merchants.models import Membership, MerchantAccount


def merchant_accounts_of(*, user: AbstractBaseUser):
    if not user.is_authenticated:
        return MerchantAccount.objects.none()
    return MerchantAccount.objects.filter(memberships__user=user).order_by("name")


def membership_current(*, user: AbstractBaseUser, chosen: int | None) -> Membership | None:
    """The user's membership in the merchant picked in this session if they (still) belong to
    it, else in their first merchant (by name); None without any membership."""
    if not user.is_authenticated:
        return None
    memberships = (
        Membership.objects.filter(user=user)
        .select_related("merchant")
        .order_by("merchant__name", "merchant_id")
    )
    picked = memberships.filter(merchant_id=chosen).first() if chosen else None
    return picked or memberships.first()


def membership_of(*, user: AbstractBaseUser, merchant_id: int) -> Membership | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(user=user, merchant_id=merchant_id)
        .select_related("merchant")
        .first()
    )
