from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsMappingConfig(AppConfig):
    name = "accounts_mapping"
    verbose_name = _("Account assignment")
