import pytest
from django.core.management import CommandError, call_command

from merchants.models import Membership, MerchantAccount


@pytest.mark.django_db
def test_demo_bootstrap_creates_a_login_and_merchant_once(capsys, settings, tmp_path, client):
    settings.DATA_DIR = tmp_path

    call_command("bootstrap_demo")
    call_command("bootstrap_demo")

    printed = capsys.readouterr().out
    username, password = (tmp_path / "demo-login.txt").read_text().split()
    assert printed.count(f"password {password!r}") == 2
    assert MerchantAccount.objects.count() == 1
    assert Membership.objects.get().user.username == username == "demo"
    assert client.login(username=username, password=password)


@pytest.mark.django_db
def test_demo_bootstrap_refuses_in_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError):
        call_command("bootstrap_demo")
