"""Signals of the account assignment, for the apps that build on it."""

from django.dispatch import Signal

# Sent (on commit) when a connection's assignments were saved; exports resume the payments
# that waited for an account.
assignments_changed = Signal()  # sender=AccountAssignment, connection=<Connection>

# Sent (on commit) when a connection's revenue accounts changed: saved by the merchant, or
# pre-filled/replaced from sevDesk's guidance. Exports may resume what waited for an account.
revenue_accounts_changed = Signal()  # sender=RevenueAccountAssignment, connection=<Connection>
