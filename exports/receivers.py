"""What the exports do when the sevDesk side tells them something changed."""

from django.db import transaction

from exports.services import (
    exports_after_assignment_change,
    exports_after_revenue_accounts_change,
    exports_after_token_change,
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
