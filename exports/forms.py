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
        field = self.fields["connection"]
        field.queryset = Connection.objects.for_merchant(merchant).filter(is_active=True)
        preselected = preselected_connection(field.queryset, merchant)
        if preselected is not None:
            field.initial = preselected.pk
        else:  # several, none used yet: the merchant chooses, nothing is guessed
            field.empty_label = _("– choose a connection –")


def preselected_connection(connections, merchant) -> Connection | None:
    """A working connection (active, sevDesk reached, token not rejected): the one this
    merchant last exported through by hand, else the only one."""
    from exports.models import ExportRun

    working = connections.filter(status=Connection.Status.OK, token_rejected_at__isnull=True)
    last = (
        ExportRun.objects.for_merchant(merchant)
        .filter(kind=ExportRun.Kind.MANUAL, connection__in=working)
        .order_by("-created_at")
        .values_list("connection_id", flat=True)
        .first()
    )
    if last is not None:
        return working.get(pk=last)
    only = list(working[:2])
    return only[0] if len(only) == 1 else None
