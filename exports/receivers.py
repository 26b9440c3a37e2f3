"""What the exports do when the sevDesk side tells them something changed."""

from exports.services import exports_after_token_change


def exports_resume_after_token_accepted(sender, connection, **kwargs) -> None:
    exports_after_token_change(connection=connection)
