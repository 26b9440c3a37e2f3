from django import forms
from django.utils.translation import gettext_lazy as _

from core import crypto
from orders.enums import ORDER_STATES
from orders.models import BillbeeAccount, Shop
from orders.selectors import OrderFilters

SECRET_FIELDS = ("api_key", "api_password")


def masked(secret: str) -> str:
    """Enough of a secret to recognise it (the last 4 characters of a long one), no more.

    A secret no configured key can decrypt says so: the merchant has to enter it again.
    """
    if crypto.is_unreadable(secret):
        return secret.label
    if not secret:
        return ""
    return "••••" + (secret[-4:] if len(secret) >= 16 else "")


class BillbeeAccountForm(forms.Form):
    """The setup form; a secret left empty keeps the stored one (it is never sent back)."""

    api_key = forms.CharField(
        label=_("API key"), required=False, widget=forms.PasswordInput(render_value=False)
    )
    username = forms.CharField(label=_("User name"), max_length=200)
    api_password = forms.CharField(
        label=_("API password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Set in Billbee under Settings → API; not your login password."),
    )
    sync_since = forms.DateField(
        label=_("Start date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Only orders placed on or after this date are fetched."),
    )
    sync_enabled = forms.BooleanField(label=_("Sync automatically"), required=False)

    def __init__(self, *args, account: BillbeeAccount | None = None, **kwargs):
        self.account = account
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            stored = getattr(account, name, "") if account else ""
            if stored:
                self.fields[name].widget.attrs["placeholder"] = masked(stored)

    def clean(self):
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            if not cleaned.get(name) and not (self.account and getattr(self.account, name)):
                self.add_error(name, _("This field is required."))
        return cleaned


class OrderFilterForm(forms.Form):
    """The order list's sidebar; every field optional, invalid values are ignored."""

    YES_NO = [("", _("All")), ("yes", _("Yes")), ("no", _("No"))]

    q = forms.CharField(label=_("Search"), required=False)
    shop = forms.ModelChoiceField(
        label=_("Shop"), queryset=Shop.objects.none(), required=False, empty_label=_("All")
    )
    state = forms.TypedChoiceField(label=_("State"), required=False, coerce=int, empty_value=None)
    invoice = forms.ChoiceField(label=_("Invoice"), choices=YES_NO, required=False)
    paid = forms.ChoiceField(label=_("Paid"), choices=YES_NO, required=False)
    tag = forms.CharField(label=_("Tag"), required=False)
    export_status = forms.ChoiceField(label=_("sevDesk export"), required=False)

    # Filled in by the exports app (it builds on this one, not the other way round).
    export_status_choices: list[tuple[str, str]] = []

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shop"].queryset = Shop.objects.for_merchant(merchant)
        self.fields["state"].choices = [("", _("All")), *sorted(ORDER_STATES.items())]
        self.fields["export_status"].choices = [
            ("", _("All")),
            ("none", _("Not exported")),
            *self.export_status_choices,
        ]

    def to_filters(self) -> OrderFilters:
        """The valid filters; an invalid form filters nothing rather than failing."""
        if not self.is_valid():
            return OrderFilters()
        data = self.cleaned_data
        return OrderFilters(
            shop_id=data["shop"].pk if data["shop"] else None,
            state=data["state"],
            has_invoice=_yes_no(data["invoice"]),
            paid=_yes_no(data["paid"]),
            tag=data["tag"].strip(),
            search=data["q"].strip(),
            export_status=data["export_status"],
        )


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)
