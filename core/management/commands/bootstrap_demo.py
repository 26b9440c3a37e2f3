"""Create the demo login and merchant account on a laptop installation (idempotent)."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from merchants.models import Membership, MerchantAccount

DEMO_USERNAME = "demo"
DEMO_MERCHANT = "Demo-Shop GmbH"


class Command(BaseCommand):
    help = "Creates a demo login and a demo merchant account (not in production)."

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
        if credentials.exists():
            username, password = credentials.read_text().split()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo login: user {username!r}, password {password!r} (http://localhost:8000/)"
                )
            )
