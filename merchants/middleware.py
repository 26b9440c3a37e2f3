from merchants import permissions
from merchants.selectors import membership_current

SESSION_KEY = "merchant_id"


class CurrentMerchantMiddleware:
    """Sets ``request.merchant``: the merchant account the user works in right now.

    It is the one picked in this session if the user is (still) a member, else their first.
    Users without any membership get ``None`` and see no merchant data at all.
    ``request.membership`` is the user's membership in it (its role), and
    ``request.is_merchant_owner`` tells templates whether to offer changes.

    Every POST is checked before its view (see ``merchants.permissions``): a form rendered for
    another merchant than the current one gets 409, a member's change of settings 403.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = membership_current(
            user=request.user, chosen=request.session.get(SESSION_KEY)
        )
        request.merchant = request.membership.merchant if request.membership else None
        request.is_merchant_owner = permissions.is_owner(request.membership)
        response = self.get_response(request)
        return permissions.merchant_field_add(response, request.merchant)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return None
        return permissions.post_refusal(request)
