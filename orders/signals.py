"""Signals of the Billbee side, for the apps that build on it (the exports listen).

Both are sent on commit, so a receiver sees the stored rows.
"""

from django.dispatch import Signal

# Orders of one merchant were created or updated by a sync (scheduled, webhook or manual).
orders_stored = Signal()  # sender=Order, merchant_id=<int>, order_ids=<list[int]>

# Billbee documents (invoices, credit notes) of one merchant's orders were stored.
documents_stored = Signal()  # sender=BillbeeDocument, merchant_id=<int>, order_ids=<list[int]>
