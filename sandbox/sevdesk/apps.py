from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxSevdeskConfig(AppConfig):
    name = "sandbox.sevdesk"
    label = "sandbox_sevdesk"
    verbose_name = _("Sandbox sevDesk")
