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
CANCELLED_BEFORE_EXPORT = _(
    "Not sent: the order was cancelled in Billbee before a voucher was created, so nothing is "
    "booked."
)
CANCELLED_AFTER_EXPORT = _(
    "Needs action: order cancelled, but Billbee has no credit note or cancellation invoice for "
    "it – please create one in Billbee. Voucher %(voucher)s stays as it is in sevDesk."
)
CANCELLED_AFTER_EXPORT_HINT = _(
    "A booked voucher is never changed or deleted (it may be locked for the month). Create the "
    "credit note in Billbee; it is then booked as a voucher of its own."
)
CREDIT_NOTE_WITHOUT_ORIGINAL = _(
    "Credit note %(number)s not sent: this connection has not booked its invoice %(invoice)s "
    "(dated before the start date, sent through another connection, or not yet exported)."
)
CREDIT_NOTE_WITHOUT_ORIGINAL_HINT = _(
    "It goes by itself once the invoice is booked. To book such credit notes on their own, "
    "tick “Book credit notes without a booked original” (tab Properties)."
)
CREDIT_NOTE_EXPORTED_OPEN = _(
    "Credit note %(number)s sent to sevDesk as voucher %(voucher)s (refunds are reconciled in "
    "sevDesk)."
)
CREDIT_NOTE_EXPORTED_REFUNDED = _(
    "Credit note %(number)s sent to sevDesk as voucher %(voucher)s; refund of %(amount)s booked."
)
REFUND_OPEN = _(
    "Credit note %(number)s sent to sevDesk as voucher %(voucher)s – refund open: Billbee "
    "records no refund date for it yet."
)
REFUND_OPEN_HINT = _(
    "The refund is booked by itself once Billbee lists the credit note with its payment date."
)
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
PAYMENT_OPEN_NO_ACCOUNT = _(
    "Voucher %(voucher)s created – payment open: assign an account for “%(method)s”."
)
PART_PAID = _("Voucher %(voucher)s created; %(paid)s of %(total)s paid, %(open)s open.")
PART_PAID_HINT = _("Nothing to do: further payments are booked as soon as Billbee records them.")
PAYMENT_REFUNDED = _(
    "Needs action: Billbee records money paid back on this order (%(payments)s); voucher "
    "%(voucher)s and its payments were left as they are."
)
PAYMENT_CHANGED = _(
    "Needs action: a payment booked on voucher %(voucher)s changed or disappeared in Billbee "
    "(booked: %(booked)s; Billbee now: %(now)s). Nothing more was booked."
)
PAYMENT_CHANGED_HINT = _(
    "Check the payments of the voucher in sevDesk against the order in Billbee. Refunds are "
    "booked through the credit note; correct anything else in sevDesk, then choose “Retry”."
)
OVERPAID = _(
    "Needs action: Billbee records %(paid)s paid (%(payments)s), more than the invoice total of "
    "%(total)s. Nothing more was booked on voucher %(voucher)s."
)
OVERPAID_HINT = _(
    "Correct the payments in Billbee (or book the surplus in sevDesk by hand), then choose “Retry”."
)
PAID_MISMATCH = _(
    "Needs action: sevDesk shows %(paid)s paid on voucher %(voucher)s, but our bookings add up "
    "to %(expected)s. Nothing more was booked."
)
PAID_MISMATCH_HINT = _(
    "Someone may have booked or removed a payment in sevDesk. Check the voucher's payments, "
    "then choose “Retry”."
)
NEEDS_ACTION = _("Needs action: %(message)s")
OSS_HINT = _(
    "sevDesk takes no OSS tax rule on vouchers, and booking the foreign VAT under a German rule "
    "would be wrong. Book this invoice in sevDesk as an invoice with the OSS rule; it is not "
    "sent again by itself."
)
WAITING_FOR_INVOICE_LIST = _(
    "Waiting for Billbee's invoice list: the voucher is built from the invoice's own figures, "
    "which Billbee lists a little later."
)
WAITING_FOR_INVOICE_LIST_HINT = _("Nothing to do: the export goes on by itself within minutes.")
NO_REVENUE_ACCOUNT_HINT = _(
    "Choose the revenue account under “Revenue accounts” (tab “Account assignment”), then "
    "choose “Retry”."
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
ALREADY_BOOKED = _(
    "Not sent: this invoice is already booked in the same sevDesk account through the "
    "connection “%(connection)s”."
)
ALREADY_BOOKED_HINT = _(
    "Two connections book into one sevDesk account. Remove the shop from one of them."
)
INVOICE_CHANGED = _(
    "Needs action: invoice changed in Billbee, check the voucher in sevDesk (voucher %(voucher)s; "
    "sent: %(sent)s, now: %(now)s)."
)
INVOICE_CHANGED_HINT = _(
    "The voucher in sevDesk was created from the invoice as it was then; nothing is sent again "
    "automatically. Correct the voucher in sevDesk (or book the difference)."
)
AMBIGUOUS_VOUCHERS = _(
    "Needs action: an earlier attempt may have reached sevDesk, and the vouchers found there do "
    "not match this invoice for certain (sevDesk vouchers: %(ids)s). Nothing was sent again."
)
AMBIGUOUS_VOUCHERS_HINT = _(
    "Check these vouchers in sevDesk. If none of them is this invoice's, choose “Retry”."
)
GAVE_UP = _("Order could not be exported after %(attempts)s attempts: %(message)s")
GAVE_UP_HINT = _("Nothing is retried any more by itself. Check the cause, then choose “Retry”.")
INTERRUPTED = _(
    "Export interrupted (worker stopped or time limit reached); it continues by itself."
)
CONNECTION_PAUSED = _(
    "sevDesk is not answering properly (several orders failed within a minute). The connection "
    "pauses until %(until)s and then continues by itself."
)
BILLBEE_RATE_LIMITED = _("Billbee asked us to slow down while fetching the invoice PDF.")
RUN_CRASHED = _("The run stopped because of an internal error: %(error)s")
RUN_ABANDONED = _(
    "The run did not finish: %(missing)s of %(total)s orders were not handled. They are taken up "
    "again by the next run."
)
