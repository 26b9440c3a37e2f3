"""What the exports do when the sevDesk side tells them something changed."""

from django.db import transaction

from exports.services import (
    exports_after_assignment_change,
    exports_after_revenue_accounts_change,
    exports_after_token_change,
    exports_enqueue_for_orders,
)
from exports.tasks import dispatch


def _dispatch_on_commit(export_ids: list[int]) -> None:
    transaction.on_commit(lambda: [dispatch(export_id) for export_id in export_ids])


def exports_resume_after_token_accepted(sender, connection, **kwargs) -> None:
    _dispatch_on_commit(exports_after_token_change(connection=connection))


def exports_resume_after_assignment_saved(sender, connection, **kwargs) -> None:
    _dispatch_on_commit(exports_after_assignment_change(connection_id=connection.pk))


def exports_resume_after_revenue_accounts_changed(sender, connection, **kwargs) -> None:
    _dispatch_on_commit(exports_after_revenue_accounts_change(connection_id=connection.pk))


def exports_enqueue_after_sync(sender, merchant_id, order_ids, **kwargs) -> None:
    """A sync stored orders (or their credit notes): the ready ones go now, not at the next
    scheduled run (sent on commit, so the rows are there)."""
    for export_id in exports_enqueue_for_orders(merchant_id=merchant_id, order_ids=order_ids):
        dispatch(export_id)
