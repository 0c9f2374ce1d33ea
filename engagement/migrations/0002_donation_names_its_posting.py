"""A donation names the general-ledger posting of the points given (filled by behaviours 0010)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("carbon_accounts", "0013_general_ledger_postings"),
        ("engagement", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="donation",
            name="posting",
            field=models.ForeignKey(
                null=True,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="carbon_accounts.posting",
            ),
        ),
    ]
