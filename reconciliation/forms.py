import datetime
import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reconciliation.services import month_bounds, previous_month

MONTH = re.compile(r"(\d{4})-(\d{2})")
MAX_DAYS = 366


class ReconciliationForm(forms.Form):
    """ "Jetzt prüfen": a calendar month, or a period from/to (both days included)."""

    PERIOD_MONTH = "month"
    PERIOD_RANGE = "range"

    period = forms.ChoiceField(
        label=_("Period"),
        choices=[(PERIOD_MONTH, _("Calendar month")), (PERIOD_RANGE, _("From/to"))],
        initial=PERIOD_MONTH,
        widget=forms.RadioSelect,
    )
    month = forms.CharField(
        label=_("Month"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-11"}),
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        start, _end = previous_month(timezone.localdate())
        self.fields["month"].initial = f"{start:%Y-%m}"

    def clean(self):
        data = super().clean()
        if data.get("period") == self.PERIOD_RANGE:
            start, end = data.get("date_from"), data.get("date_to")
            if not start or not end:
                raise forms.ValidationError(_("Enter both days of the period."))
        else:
            match = MONTH.fullmatch((data.get("month") or "").strip())
            if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
                raise forms.ValidationError(_("Choose a month, e.g. 2026-11."))
            start, end = month_bounds(int(match.group(1)), int(match.group(2)))
        if end < start:
            raise forms.ValidationError(_("The period ends before it starts."))
        if (end - start) >= datetime.timedelta(days=MAX_DAYS):
            raise forms.ValidationError(_("A reconciliation covers at most one year."))
        data["start"], data["end"] = start, end
        return data
