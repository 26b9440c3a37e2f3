from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxBillbeeConfig(AppConfig):
    name = "sandbox.billbee"
    label = "sandbox_billbee"
    verbose_name = _("Sandbox Billbee")
