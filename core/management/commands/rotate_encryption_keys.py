"""Re-encrypt every stored secret with the newest of ``ENCRYPTION_KEYS``.

Rotation: put the new key in front of ``ENCRYPTION_KEYS`` (keep the old ones), restart,
run this command, then drop the old keys. Running it again changes nothing.
"""

from collections import Counter

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import models
from django.db.models.functions import Cast

from core import crypto
from core.fields import EncryptedTextField

ROTATED = "rotated"
CURRENT = "already current"
UNREADABLE = "unreadable"
CHANGED = "changed meanwhile"


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) of an installed app that stores an `EncryptedTextField`."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def _as_stored(field: str) -> Cast:
    """The column as stored: cast to plain text, so the field does not decrypt it."""
    return Cast(field, models.TextField())


def stored_values(model: type[models.Model], field: str) -> list[tuple[object, str]]:
    rows = (
        model._base_manager.order_by("pk")
        .annotate(_stored=_as_stored(field))
        .values_list("pk", "_stored")
    )
    return [(pk, ciphertext) for pk, ciphertext in rows.iterator() if ciphertext]


def rotate_value(
    *, model: type[models.Model], field: str, pk: object, ciphertext: str, dry_run: bool = False
) -> str:
    """Rewrite one stored value with the newest key, unless it was saved anew meanwhile."""
    if crypto.is_current(ciphertext):
        return CURRENT
    try:
        rotated = crypto.rotate(ciphertext)
    except crypto.InvalidToken:
        return UNREADABLE
    if dry_run:
        return ROTATED
    updated = (
        model._base_manager.filter(pk=pk)
        .alias(_stored=_as_stored(field))
        .filter(_stored=ciphertext)
        .update(**{field: models.Value(rotated, output_field=models.TextField())})
    )
    return ROTATED if updated else CHANGED


class Command(BaseCommand):
    help = (
        "Re-encrypts every stored secret (API keys, tokens, passwords) with the first of "
        "ENCRYPTION_KEYS; afterwards the older keys can be removed. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would change, change nothing"
        )

    def handle(self, *args, dry_run: bool, **options):
        unreadable_rows = []
        for model, field in encrypted_fields():
            outcomes = Counter()
            for pk, ciphertext in stored_values(model, field):
                outcome = rotate_value(
                    model=model, field=field, pk=pk, ciphertext=ciphertext, dry_run=dry_run
                )
                outcomes[outcome] += 1
                if outcome == UNREADABLE:
                    unreadable_rows.append(f"{model._meta.label} #{pk} ({field})")
            self.stdout.write(self._summary(f"{model._meta.label}.{field}", outcomes))
        for row in unreadable_rows:
            self.stderr.write(
                self.style.WARNING(
                    f"unreadable with every configured key: {row}; "
                    "the merchant has to enter this secret again"
                )
            )
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")

    @staticmethod
    def _summary(name: str, outcomes: Counter) -> str:
        summary = (
            f"{name}: {outcomes[ROTATED]} {ROTATED}, {outcomes[CURRENT]} {CURRENT}, "
            f"{outcomes[UNREADABLE]} {UNREADABLE}"
        )
        if outcomes[CHANGED]:
            summary += f", {outcomes[CHANGED]} {CHANGED} (already saved with the newest key)"
        return summary
