import pytest
from django.core.management import CommandError, call_command
from django.http import HttpRequest

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
    assert client.login(request=HttpRequest(), username=username, password=password)


@pytest.mark.django_db
def test_demo_bootstrap_refuses_in_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError):
        call_command("bootstrap_demo")


@pytest.mark.django_db
def test_demo_bootstrap_links_sandbox_billbee_orders_and_a_sandbox_sevdesk(settings, tmp_path):
    from orders.models import BillbeeAccount
    from sandbox.billbee.models import SandboxAccount as BillbeeSandbox
    from sandbox.billbee.models import SandboxOrder
    from sandbox.sevdesk.models import SandboxAccount as SevdeskSandbox

    settings.DATA_DIR = tmp_path

    call_command("bootstrap_demo")
    call_command("bootstrap_demo")

    billbee = BillbeeSandbox.objects.get()
    linked = BillbeeAccount.objects.get()
    assert (linked.api_key, linked.username) == (billbee.api_key, billbee.username)
    assert linked.api_password == billbee.api_password
    assert SandboxOrder.objects.count() == 300
    assert SevdeskSandbox.objects.count() == 1


def test_demo_bootstrap_is_a_sandbox_command():
    from django.core.management import get_commands

    assert get_commands()["bootstrap_demo"] == "sandbox"
