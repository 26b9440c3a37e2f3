from django import forms
from django.utils.translation import gettext_lazy as _

from connections.models import Connection


class ManualExportForm(forms.Form):
    connection = forms.ModelChoiceField(
        label=_("sevDesk connection"), queryset=Connection.objects.none(), empty_label=None
    )
    tag_orders = forms.BooleanField(
        label=_("Tag exported orders with “sevDesk”"),
        required=False,
        initial=True,
        help_text=_("The tag is added in Billbee and here, so you can filter by it."),
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["connection"].queryset = Connection.objects.for_merchant(merchant).filter(
            is_active=True
        )
