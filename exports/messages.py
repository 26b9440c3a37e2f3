"""What the merchant reads about an export: the reference product's messages, and hints.

The German texts of the first four are the reference product's (``shared/seed-errors.md``);
merchants and support articles know them by heart, so the catalogue keeps them word for word.
"""

from django.utils.translation import gettext_lazy as _

AUTHENTICATION_REQUIRED = _("Order could not be exported: Authentication required")
AUTHENTICATION_HINT = _(
    "Check the API token of this connection and renew it. Nothing more is sent to sevDesk with "
    "this token until it is changed."
)
INTERNAL_SERVER_ERROR = _("Order could not be exported: Internal Server Error")
TEMPORARY_HINT = _("Nothing to do: the export is retried by itself (next: %(when)s).")
TEMPORARY_HINT_NEXT_RUN = _("Nothing to do: the export is retried by itself at the next run.")
NO_PAYMENT_DATE = _(
    "Upload to accounting system failed – Order could not be exported: "
    "This order has no payment date. Could not upload to sevDesk."
)
NO_PAYMENT_DATE_HINT = _(
    "Set a payment date, or wait for the payment; the order is exported once it has one."
)
NO_INVOICE_DATE = _(
    "Order could not be exported: This order has no invoice date. Could not upload to sevDesk."
)
NO_INVOICE_HINT = _("Create the invoice in Billbee; the order is exported afterwards.")
WAITING_FOR_INVOICE = _("Waiting for invoice.")
WAITING_FOR_PAYMENT = _("Waiting for payment date.")
NOT_ELIGIBLE = _("Not sent: %(rules)s")
REJECTED = _("Order could not be exported: %(message)s")
REJECTED_HINT = _("Correct the order or the connection's settings, then choose “Retry”.")
TOO_MANY_REQUESTS = _("Order could not be exported: Too Many Requests")
RATE_LIMITED_HINT = _("sevDesk asked us to slow down; the export continues by itself.")
NO_ACCOUNT = _(
    "Voucher created, payment not booked: no offline account is assigned to the payment method "
    "“%(method)s”."
)
NO_ACCOUNT_HINT = _(
    "Assign an offline account to this payment method (tab “Account assignment”), or switch on "
    "“Book unassigned payments as standard payment”; the payment is booked at the next run."
)
ACCOUNT_NOT_ALLOWED = _(
    "Voucher created, payment not booked: the sevDesk account %(account)s is not an active "
    "offline account."
)
NO_BILLBEE_ACCOUNT = _("The invoice PDF cannot be fetched: no Billbee account is set up.")
INTERNAL_ERROR = _("Order could not be exported: internal error. The operator has been told.")
ALREADY_EXPORTED = _("Already in sevDesk (voucher %(voucher)s).")
EXPORTED = _("Exported to sevDesk as voucher %(voucher)s.")
EXPORTED_PAID = _("Exported to sevDesk as voucher %(voucher)s; payment of %(amount)s booked.")
EXPORTED_OPEN = _(
    "Exported to sevDesk as open voucher %(voucher)s (payments are reconciled in sevDesk)."
)
