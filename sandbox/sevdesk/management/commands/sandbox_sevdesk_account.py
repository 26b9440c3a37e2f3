"""Create a sandbox sevDesk account and print its API token (for demos and docker setups)."""

import re

from django.core.management.base import BaseCommand, CommandError

from sandbox.sevdesk.models import SandboxAccount
from sandbox.sevdesk.services import sandbox_account_create

TOKEN_SHAPE = re.compile(r"^[0-9a-f]{32}$")


class Command(BaseCommand):
    help = "Create a sandbox sevDesk account (or find the one with --token) and print its token."

    def add_arguments(self, parser):
        parser.add_argument("--name", default="Demo sevDesk")
        parser.add_argument("--token", help="32 hex characters; reused if it exists already")
        parser.add_argument("--bookkeeping-version", choices=["2.0", "1.0"], default="2.0")
        parser.add_argument("--small-business", action="store_true")

    def handle(self, *args, name, token, bookkeeping_version, small_business, **options):
        if token and not TOKEN_SHAPE.match(token):
            raise CommandError("--token must be 32 lower-case hexadecimal characters.")
        account = SandboxAccount.objects.filter(token=token).first() if token else None
        if account is None:
            account = sandbox_account_create(
                name=name,
                token=token,
                bookkeeping_version=bookkeeping_version,
                small_business=small_business,
            )
        self.stdout.write(account.token)
