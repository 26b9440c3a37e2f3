"""What the account assignment does when the sevDesk side tells it something changed."""

import logging

from accounts_mapping.services import revenue_accounts_fetch
from connections.sevdesk_client import SevdeskError
from core.crypto import SecretUnreadable

logger = logging.getLogger(__name__)


def revenue_accounts_refresh_after_token_accepted(sender, connection, **kwargs) -> None:
    """sevDesk accepted the token (a successful test, a save, a new token, perhaps of another
    sevDesk account): read its revenue guidance again, so the revenue accounts are the ones
    this sevDesk account offers. A failure here is not the merchant's business now: the
    exports read the guidance themselves when nothing is stored."""
    try:
        revenue_accounts_fetch(connection=connection)
    except (SevdeskError, SecretUnreadable) as error:
        logger.info("connection %s: revenue guidance not refreshed (%s)", connection.pk, error)
