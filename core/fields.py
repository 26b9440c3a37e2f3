import logging

from django.db import models

from core import crypto

logger = logging.getLogger(__name__)


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; Python code only ever sees the plaintext.

    A stored value that no configured key opens loads as a `crypto.UnreadableSecret`
    instead of failing the query (and with it every page that lists the row); saving the
    row writes that value back unchanged.

    Not searchable or sortable in the database, on purpose: it holds secrets.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        plaintext = crypto.decrypt_or_unreadable(value)
        if crypto.is_unreadable(plaintext):
            logger.warning(
                "%s.%s: a stored secret opens with none of the ENCRYPTION_KEYS; "
                "the merchant has to enter it again",
                self.model._meta.label,
                self.name,
            )
        return plaintext

    def get_prep_value(self, value):
        if crypto.is_unreadable(value):
            return value.ciphertext
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)
