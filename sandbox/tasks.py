"""The demo's set-up task (see sandbox.demo)."""

from celery import shared_task

from orders.models import BillbeeAccount

from .demo import demo_connection_setup
from .sevdesk.models import SandboxAccount


@shared_task(name="sandbox.demo_setup", ignore_result=True)
def demo_setup(account_id: int, sevdesk_id: int) -> None:
    account = BillbeeAccount.objects.filter(pk=account_id).first()
    sevdesk = SandboxAccount.objects.filter(pk=sevdesk_id).first()
    if account is not None and sevdesk is not None:
        demo_connection_setup(account=account, sevdesk=sevdesk)
