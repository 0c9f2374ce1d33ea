"""Redemptions, their cancellations and expiries name the general-ledger posting that carries
them (filled from the old per-movement transfers by behaviours 0010, then required by 0008)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("carbon_accounts", "0013_general_ledger_postings"),
        ("rewards", "0006_plural_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="pointsexpiry",
            name="account",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="points_expiries",
                to="carbon_accounts.account",
            ),
        ),
        migrations.AddField(
            model_name="pointsexpiry",
            name="posting",
            field=models.ForeignKey(
                null=True,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="carbon_accounts.posting",
            ),
        ),
        migrations.AddField(
            model_name="redemption",
            name="posting",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="carbon_accounts.posting"
            ),
        ),
        migrations.AddField(
            model_name="redemption",
            name="cancel_posting",
            field=models.ForeignKey(
                blank=True,
                null=True,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="carbon_accounts.posting",
            ),
        ),
    ]
