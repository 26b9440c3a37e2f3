import pytest
from cryptography.fernet import Fernet

from core import crypto


def test_a_secret_is_stored_unreadable_and_read_back(settings):
    ciphertext = crypto.encrypt("3f9a0000c0ffee")

    assert "3f9a0000c0ffee" not in ciphertext
    assert crypto.decrypt(ciphertext) == "3f9a0000c0ffee"


def test_secrets_written_with_an_old_key_stay_readable_after_rotation(settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old_key]
    ciphertext = crypto.encrypt("token-before-rotation")

    settings.ENCRYPTION_KEYS = [new_key, old_key]

    assert crypto.decrypt(ciphertext) == "token-before-rotation"
    assert Fernet(new_key).decrypt(crypto.encrypt("after").encode()) == b"after"


def test_a_secret_from_an_unknown_key_is_refused(settings):
    ciphertext = Fernet(Fernet.generate_key()).encrypt(b"foreign").decode()

    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(ciphertext)
