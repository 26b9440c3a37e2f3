from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from merchants.middleware import SESSION_KEY
from merchants.models import MerchantAccount
from merchants.selectors import merchant_accounts_of


@require_POST
def switch_merchant(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    merchant = get_object_or_404(merchant_accounts_of(user=request.user), pk=pk)
    request.session[SESSION_KEY] = merchant.pk
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)


switch_merchant.model = MerchantAccount  # the object the URL's id names (see the tenancy test)
