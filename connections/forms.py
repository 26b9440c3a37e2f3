import re

from django import forms
from django.utils.translation import gettext_lazy as _

from connections.models import Connection
from core import crypto
from orders.enums import ORDER_STATES
from orders.models import Shop

SEVDESK_TOKEN = re.compile(r"^[0-9a-fA-F]{32}$")


class ConnectionForm(forms.ModelForm):
    """Tabs "Eigenschaften" and "API" of a connection; one form, saved together."""

    shops = forms.ModelMultipleChoiceField(
        label=_("Shops"),
        queryset=Shop.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Only orders from these shops are sent to sevDesk."),
    )
    order_states = forms.TypedMultipleChoiceField(
        label=_("Order states"),
        coerce=int,
        choices=sorted(ORDER_STATES.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one order state.")},
        help_text=_(
            "An order is sent only while it is currently in one of these states; its past states "
            "do not count. Choose states in which orders stay for long or for good, such as "
            "paid, shipped or completed."
        ),
    )
    api_token = forms.CharField(
        label=_("API key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "Your sevDesk API token (Settings → Users → API token in sevDesk; 32 characters)."
        ),
    )

    class Meta:
        model = Connection
        fields = [
            "name",
            "start_date",
            "shops",
            "include_manual_orders",
            "order_states",
            "book_unlinked_credit_notes",
            "payment_reconciliation",
            # api_token is a plain form field: the service stores a typed token; an empty
            # field must not overwrite the stored one.
            "create_full_customers",
            "book_unassigned_as_standard",
            "voucher_date_basis",
        ]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "payment_reconciliation": forms.RadioSelect,
            "voucher_date_basis": forms.RadioSelect,
        }
        help_texts = {
            "name": _("An internal name, e.g. the shop or the sevDesk account it books into."),
            "start_date": _("Orders dated before this day are never sent to sevDesk."),
            "include_manual_orders": _(
                "Orders created by hand in Billbee belong to no shop; tick this to send them too."
            ),
            "payment_reconciliation": _(
                "Billbee: paid orders are sent as paid, with the payment booked to the offline "
                "account assigned to the payment method. sevDesk: vouchers are sent as open and "
                "you reconcile the payments in sevDesk."
            ),
            "create_full_customers": _(
                "Create a sevDesk contact for each Billbee customer (once per customer) instead "
                "of writing only the customer's name on the voucher."
            ),
            "book_unassigned_as_standard": _(
                "Payments whose payment method has no offline account assigned are booked to the "
                "standard account. Otherwise such vouchers stay open and the export log says so."
            ),
            "voucher_date_basis": _("Which date of the order becomes the voucher date."),
            "book_unlinked_credit_notes": _(
                "Credit notes are booked when this connection booked their original invoice. "
                "Tick this to book also those whose invoice it never booked (dated before the "
                "start date, or sent through another connection); otherwise the export log "
                "lists them for you to decide."
            ),
        }

    def __init__(self, *args, merchant, held_token: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shops"].queryset = Shop.objects.for_merchant(merchant).order_by("name")
        token_field = self.fields["api_token"]
        self.held_token = held_token
        if held_token:
            self.hold_token(held_token)
        elif self.instance.pk and crypto.is_unreadable(self.instance.api_token):
            # No configured key opens the stored token: it cannot be kept, only replaced.
            token_field.required = True
            token_field.help_text = _("Stored: %(masked)s.") % {
                "masked": self.instance.api_token.label
            }
        elif self.instance.pk and self.instance.api_token_last4:
            token_field.help_text = _(
                "Stored: %(masked)s. Leave empty to keep it; type a new token to replace it."
            ) % {"masked": self.instance.masked_token}
        else:
            token_field.required = True

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("shops") and not cleaned.get("include_manual_orders"):
            self.add_error("shops", _("Choose at least one shop."))
        return cleaned

    def hold_token(self, token: str) -> None:
        """A token typed into a form that came back with errors: kept (server-side, never
        in the page) for the next submit, which uses it unless another one is typed."""
        self.held_token = token
        field = self.fields["api_token"]
        field.required = False
        field.help_text = _(
            "Entered: ••••%(last4)s – it is used when you save. Leave the field empty to keep "
            "it, or type another token."
        ) % {"last4": token[-4:]}
        self["api_token"].help_text = field.help_text  # a bound field copies it when made

    def clean_api_token(self) -> str:
        token = self.cleaned_data["api_token"]
        if token and not SEVDESK_TOKEN.match(token):
            raise forms.ValidationError(
                _("A sevDesk API token has 32 characters, digits and the letters a to f.")
            )
        return token or self.held_token


class ClearingAccountForm(forms.Form):
    """ "Neu" on the account assignment tab: a new offline account in sevDesk."""

    name = forms.CharField(label=_("Name"), max_length=100)
    accounting_number = forms.IntegerField(
        label=_("Booking account"),
        min_value=1,
        help_text=_(
            "Must be unique among your sevDesk payment accounts, e.g. 1361 (SKR03) or 3361 "
            "(SKR04); ask your tax adviser."
        ),
    )
