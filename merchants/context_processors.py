from django.conf import settings

from merchants.selectors import merchant_accounts_of


def current_merchant(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_merchant": getattr(request, "merchant", None),
        "merchant_accounts": merchant_accounts_of(user=user),
        "sandbox_enabled": settings.SANDBOX_ENABLED,
    }
