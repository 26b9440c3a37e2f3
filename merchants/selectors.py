from django.contrib.auth.models import AbstractBaseUser

from merchants.models import MerchantAccount


def merchant_accounts_of(*, user: AbstractBaseUser):
    if not user.is_authenticated:
        return MerchantAccount.objects.none()
    return MerchantAccount.objects.filter(memberships__user=user).order_by("name")
