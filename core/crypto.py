"""Encryption of secrets at rest (API tokens, passwords) with Fernet keys from the settings.

``ENCRYPTION_KEYS`` lists the keys newest first: the first one encrypts, every one decrypts.
A value that no configured key opens (a key was dropped too early, or the database came
from another installation) is not an error when a row is read: it reads as an
`UnreadableSecret`, which the merchant's pages show as such and replace with a new entry.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.translation import gettext_lazy as _

UNREADABLE_LABEL = _("unreadable – please enter it again")


class SecretUnreadable(Exception):
    """A stored secret that no configured key opens was about to be used."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or _(
                "A stored secret can no longer be decrypted (the encryption key was changed): "
                "please enter it again."
            )
        )


class UnreadableSecret(str):
    """What an encrypted field holds when no configured key opens the stored value.

    It is empty (falsy), so it never leaves as a credential and forms treat it as missing,
    and it keeps the ciphertext, so saving the row writes the stored value back unchanged:
    once the right key is configured again, the secret is readable again.
    """

    ciphertext: str

    def __new__(cls, ciphertext: str) -> "UnreadableSecret":
        value = super().__new__(cls, "")
        value.ciphertext = ciphertext
        return value

    def __repr__(self) -> str:
        return "<UnreadableSecret>"

    @property
    def label(self) -> str:
        return str(UNREADABLE_LABEL)


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _keys() -> tuple[str, ...]:
    return tuple(settings.ENCRYPTION_KEYS)


def encrypt(plaintext: str) -> str:
    return _fernet(_keys()).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Decrypt with any configured key; a value no key can open raises ``InvalidToken``."""
    return _fernet(_keys()).decrypt(ciphertext.encode()).decode()


def decrypt_or_unreadable(ciphertext: str) -> str:
    """The plaintext, or an `UnreadableSecret` when no configured key opens the value."""
    try:
        return decrypt(ciphertext)
    except InvalidToken:
        return UnreadableSecret(ciphertext)


def is_unreadable(value: object) -> bool:
    return isinstance(value, UnreadableSecret)


def readable(value: str) -> str:
    """``value`` itself, for code about to send a secret; raises `SecretUnreadable` instead
    of sending an empty credential."""
    if is_unreadable(value):
        raise SecretUnreadable()
    return value


def is_current(ciphertext: str) -> bool:
    """Whether the newest key (the first of ``ENCRYPTION_KEYS``) opens this value."""
    try:
        Fernet(_keys()[0]).decrypt(ciphertext.encode())
    except InvalidToken:
        return False
    return True


def rotate(ciphertext: str) -> str:
    """The same secret encrypted with the newest key; ``InvalidToken`` if no key opens it."""
    return _fernet(_keys()).rotate(ciphertext.encode()).decode()


__all__ = [
    "UNREADABLE_LABEL",
    "InvalidToken",
    "SecretUnreadable",
    "UnreadableSecret",
    "decrypt",
    "decrypt_or_unreadable",
    "encrypt",
    "is_current",
    "is_unreadable",
    "readable",
    "rotate",
]
