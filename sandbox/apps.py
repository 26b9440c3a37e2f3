from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = _("Sandbox")

    def ready(self) -> None:
        from sandbox.checks import sandbox_not_in_production

        # Not tagged "deploy": `migrate` (which web runs before gunicorn) and every other
        # command that checks refuse to go on as well.
        checks.register(sandbox_not_in_production)
