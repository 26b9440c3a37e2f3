"""Celery tasks of the sevDesk side."""

from celery import shared_task

from connections.models import Connection
from connections.services import connection_token_recheck, connections_token_recheck_due


@shared_task(name="connections.recheck_tokens", ignore_result=True)
def recheck_tokens() -> None:
    """A rejected token is tried again 1, 5 and 15 minutes after the 401."""
    for connection_id in connections_token_recheck_due():
        connection = Connection.objects.filter(pk=connection_id).first()
        if connection is not None:
            connection_token_recheck(connection=connection)
