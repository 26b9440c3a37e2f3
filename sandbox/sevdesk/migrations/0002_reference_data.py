"""sevDesk's fixed lists: countries, communication way keys and SKR04 revenue accounts."""

from django.db import migrations

from sandbox.sevdesk.reference_data import reference_data_ensure


def seed(apps, schema_editor):
    reference_data_ensure(
        country_model=apps.get_model("sandbox_sevdesk", "StaticCountry"),
        key_model=apps.get_model("sandbox_sevdesk", "CommunicationWayKey"),
        revenue_model=apps.get_model("sandbox_sevdesk", "RevenueAccount"),
    )


class Migration(migrations.Migration):
    dependencies = [("sandbox_sevdesk", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
