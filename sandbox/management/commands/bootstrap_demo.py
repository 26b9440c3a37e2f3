"""Create the demo login, merchant account and sandbox accounts on a laptop (idempotent).

A sandbox command: it exists only while SANDBOX_ENABLED installs the sandbox apps.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from merchants.models import Membership, MerchantAccount
from orders.models import BillbeeAccount
from sandbox.billbee.services import account_get_or_create, orders_generate, orders_refund
from sandbox.sevdesk.models import SandboxAccount
from sandbox.sevdesk.services import sandbox_account_create
from sandbox.tasks import demo_setup

DEMO_USERNAME = "demo"
DEMO_MERCHANT = "Demo-Shop GmbH"
DEMO_ORDERS = 300


class Command(BaseCommand):
    help = "Creates a demo login, a demo merchant account and sandbox data (not in production)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "bootstrap_demo creates a known login; it refuses to run in production."
            )
        credentials = settings.DATA_DIR / "demo-login.txt"
        with transaction.atomic():
            user = get_user_model().objects.filter(username=DEMO_USERNAME).first()
            if user is None:
                password = secrets.token_urlsafe(9)
                user = get_user_model().objects.create_superuser(
                    username=DEMO_USERNAME, email="demo@example.com", password=password
                )
                credentials.write_text(f"{DEMO_USERNAME} {password}\n")
                credentials.chmod(0o600)
            merchant, _ = MerchantAccount.objects.get_or_create(name=DEMO_MERCHANT)
            Membership.objects.get_or_create(
                user=user, merchant=merchant, defaults={"role": Membership.Role.OWNER}
            )
        self._sandbox(merchant)
        if credentials.exists():
            username, password = credentials.read_text().split()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo login: user {username!r}, password {password!r} (http://localhost:8000/)"
                )
            )

    def _sandbox(self, merchant: MerchantAccount) -> None:
        """Sandbox Billbee with orders, linked to the demo merchant; a sandbox sevDesk account.

        Both belong to the demo merchant, so its members (and nobody else) see their
        credentials on the sandbox pages; demo accounts of older installations, made before
        accounts had owners, are adopted.
        """
        billbee, created = account_get_or_create(name="Demo Billbee")
        if created:
            orders_generate(account=billbee, count=DEMO_ORDERS, seed=1)
            # a few cancelled with a credit note, as in any shop
            orders_refund(account=billbee, count=DEMO_ORDERS // 30, seed=1)
        account, linked = BillbeeAccount.objects.get_or_create(
            merchant=merchant,
            defaults={
                "api_key": billbee.api_key,
                "username": billbee.username,
                "api_password": billbee.api_password,
            },
        )
        sevdesk = SandboxAccount.objects.filter(name="Demo sevDesk").first() or (
            sandbox_account_create(name="Demo sevDesk")
        )
        if linked:
            # The worker (started once the web server answers) syncs the orders and sets up a
            # ready connection to the sandbox sevDesk, whose first run exports them.
            demo_setup.delay(account.pk, sevdesk.pk)
        for sandbox in (billbee, sevdesk):
            if sandbox.owner_id is None:
                sandbox.owner = merchant
                sandbox.save(update_fields=["owner"])
        self.stdout.write(
            "Sandbox: Billbee with demo orders is linked (synced on start, then every few "
            "minutes) and the connection 'Demo sevDesk' exports them to the sandbox sevDesk; "
            f"its API key, for connections of your own: {sevdesk.token}"
        )
