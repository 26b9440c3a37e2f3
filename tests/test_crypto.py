import pytest
from cryptography.fernet import Fernet
from django.utils import translation

from core import crypto
from orders.models import BillbeeAccount
from tests.orders_factories import BillbeeAccountFactory


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


# --- A secret no configured key opens --------------------------------------------------------

LOST_KEY = Fernet.generate_key().decode()


@pytest.fixture
def unreadable_account(db, settings):
    """A Billbee account whose secrets were written with a key the installation no longer has."""
    settings.ENCRYPTION_KEYS = [LOST_KEY]
    account = BillbeeAccountFactory(api_key="lost-key-0001", api_password="lost-password-0001")
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    return account


def test_a_row_whose_secret_no_key_opens_still_loads(unreadable_account):
    account = BillbeeAccount.objects.get(pk=unreadable_account.pk)

    assert isinstance(account.api_key, crypto.UnreadableSecret)
    assert crypto.is_unreadable(account.api_password)
    assert not account.api_key  # never usable as a credential; forms ask for a new one
    assert "lost" not in repr(account.api_key)


def test_using_an_unreadable_secret_raises_a_clear_error(unreadable_account):
    account = BillbeeAccount.objects.get(pk=unreadable_account.pk)

    with pytest.raises(crypto.SecretUnreadable) as raised:
        crypto.readable(account.api_key)
    with translation.override("de"):
        assert "bitte gib ihn neu ein" in str(raised.value)
    with translation.override("en"):
        assert "please enter it again" in str(raised.value)
    assert crypto.readable("plain") == "plain"


def test_saving_a_row_with_an_unreadable_secret_keeps_its_ciphertext(unreadable_account, settings):
    account = BillbeeAccount.objects.get(pk=unreadable_account.pk)
    account.username = "renamed"
    account.save()

    # The operator finds the old key again: the save did not overwrite the secret.
    settings.ENCRYPTION_KEYS = [*settings.ENCRYPTION_KEYS, LOST_KEY]
    account = BillbeeAccount.objects.get(pk=unreadable_account.pk)
    assert (account.username, account.api_key) == ("renamed", "lost-key-0001")


def test_a_secret_typed_again_replaces_the_unreadable_one(unreadable_account):
    account = BillbeeAccount.objects.get(pk=unreadable_account.pk)
    account.api_key = "new-key-0002"
    account.save()

    assert BillbeeAccount.objects.get(pk=account.pk).api_key == "new-key-0002"
