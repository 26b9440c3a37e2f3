"""The sandbox's own pages: what arrived in the simulated sevDesk, for demos and debugging.

Each merchant sees the sandbox accounts it owns (their tokens are credentials), nothing else;
a login without a merchant account gets 404. The API under ``api/v1`` authenticates by token.
"""

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from merchants.models import MerchantAccount

from . import selectors
from .models import Voucher


def _merchant(request: HttpRequest) -> MerchantAccount:
    if request.merchant is None:
        raise Http404
    return request.merchant


def voucher_list(request: HttpRequest) -> HttpResponse:
    merchant = _merchant(request)
    context = {
        "vouchers": selectors.demo_vouchers().filter(account__owner=merchant),
        "accounts": [
            entry for entry in selectors.demo_accounts() if entry["account"].owner_id == merchant.pk
        ],
    }
    return render(request, "sandbox/sevdesk/voucher_list.html", context)


def voucher_file(request: HttpRequest, pk: int) -> FileResponse:
    """The PDF a voucher was saved with, as sevDesk would show it next to the booking."""
    voucher = get_object_or_404(
        Voucher.objects.select_related("file"), pk=pk, account__owner=_merchant(request)
    )
    if voucher.file is None:
        raise Http404("This voucher has no file.")
    return FileResponse(
        voucher.file.content.open("rb"),
        content_type=voucher.file.mime_type,
        filename=voucher.file.original_name or voucher.file.filename,
    )
