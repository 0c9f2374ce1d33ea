"""A posting of recorded actions says how their claims were trusted and whether they may be
filed, so the export reads fileable and self-declared grams apart from the general ledger."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("carbon_accounts", "0013_general_ledger_postings"),
    ]

    operations = [
        migrations.AddField(
            model_name="posting",
            name="claim_basis",
            field=models.CharField(blank=True, db_default="", default="", max_length=16, verbose_name="claim basis"),
        ),
        migrations.AddField(
            model_name="posting",
            name="fileable",
            field=models.BooleanField(db_default=False, default=False, verbose_name="fileable"),
        ),
    ]
