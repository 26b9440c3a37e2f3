from merchants.selectors import merchant_accounts_of

SESSION_KEY = "merchant_id"


class CurrentMerchantMiddleware:
    """Sets ``request.merchant``: the merchant account the user works in right now.

    It is the one picked in this session if the user is (still) a member, else their first.
    Users without any membership get ``None`` and see no merchant data at all.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.merchant = None
        if request.user.is_authenticated:
            accounts = merchant_accounts_of(user=request.user)
            chosen = request.session.get(SESSION_KEY)
            request.merchant = (accounts.filter(pk=chosen).first() if chosen else None) or (
                accounts.first()
            )
        return self.get_response(request)
