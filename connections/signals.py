"""Signals of the sevDesk side, for the apps that build on it.

`token_accepted` is sent when sevDesk accepts a connection's token again: a test or a save that
reached sevDesk, a new token typed in, or the automatic re-check after a 401. The exports app
resumes the exports that the rejected token stopped; `connections` never imports `exports`.
"""

from django.dispatch import Signal

token_accepted = Signal()  # sender=Connection class, connection=<Connection>
