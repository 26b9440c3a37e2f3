"""The sandbox's own pages: what arrived in the simulated sevDesk, for demos and debugging.

Logged-in users only (the default of `LoginRequiredMiddleware`). Sandbox data is not merchant
data, so every logged-in user sees every sandbox account.
"""

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from . import selectors
from .models import Voucher


def voucher_list(request: HttpRequest) -> HttpResponse:
    context = {
        "vouchers": selectors.demo_vouchers(),
        "accounts": selectors.demo_accounts(),
    }
    return render(request, "sandbox/sevdesk/voucher_list.html", context)


def voucher_file(request: HttpRequest, pk: int) -> FileResponse:
    """The PDF a voucher was saved with, as sevDesk would show it next to the booking."""
    voucher = get_object_or_404(Voucher.objects.select_related("file"), pk=pk)
    if voucher.file is None:
        raise Http404("This voucher has no file.")
    return FileResponse(
        voucher.file.content.open("rb"),
        content_type=voucher.file.mime_type,
        filename=voucher.file.original_name or voucher.file.filename,
    )
