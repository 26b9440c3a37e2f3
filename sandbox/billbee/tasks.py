"""The sandbox Billbee's deliveries, retried as Billbee retries them."""

from celery import shared_task

from .models import SandboxWebhook
from .webhooks import RETRY_AFTER, webhook_deliver


@shared_task(name="sandbox.billbee.deliver_webhook", bind=True, ignore_result=True)
def deliver_webhook(self, hook_pk: int, body: dict) -> None:
    hook = SandboxWebhook.objects.filter(pk=hook_pk).first()
    if hook is None:
        return
    attempt = int(body.get("Attempt") or 1)
    if webhook_deliver(hook=hook, body=body) or attempt > len(RETRY_AFTER):
        return
    body = {**body, "Attempt": attempt + 1}
    deliver_webhook.apply_async((hook_pk, body), countdown=RETRY_AFTER[attempt - 1])
