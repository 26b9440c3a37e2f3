"""Links out of the product that several apps show."""

from django.conf import settings
from django.urls import reverse


def sevdesk_voucher_url(voucher_id: int | None) -> str:
    """Where the merchant sees the voucher: sevDesk itself, or the sandbox's voucher list."""
    if not voucher_id:
        return ""
    if settings.SEVDESK_API_BASE_URL.startswith(settings.SITE_URL + "/sandbox/"):
        return f"{reverse('sandbox:sevdesk:voucher_list')}#voucher-{voucher_id}"
    return f"{settings.SEVDESK_APP_URL}/#/ex/detail/id/{voucher_id}"
