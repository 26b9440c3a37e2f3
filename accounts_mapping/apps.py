from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsMappingConfig(AppConfig):
    name = "accounts_mapping"
    verbose_name = _("Account assignment")

    def ready(self) -> None:
        from accounts_mapping.receivers import revenue_accounts_refresh_after_token_accepted
        from accounts_mapping.views import assignment_tab_context
        from connections.extensions import add_page_context
        from connections.signals import token_accepted

        add_page_context(assignment_tab_context)
        token_accepted.connect(
            revenue_accounts_refresh_after_token_accepted, dispatch_uid="revenue-accounts-refresh"
        )
