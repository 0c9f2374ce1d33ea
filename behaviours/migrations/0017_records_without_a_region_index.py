"""A record's region keeps its foreign key but loses its two indexes (the key and its pattern
copy): nothing reads records by region. Only the indexes are dropped, so the constraint is not
checked again over every record."""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = [
    "DROP INDEX IF EXISTS behaviours_behaviourrecord_region_id_fb3c6bdd",
    "DROP INDEX IF EXISTS behaviours_behaviourrecord_region_id_fb3c6bdd_like",
]
BACKWARD = [
    "CREATE INDEX behaviours_behaviourrecord_region_id_fb3c6bdd ON behaviours_behaviourrecord (region_id)",
    "CREATE INDEX behaviours_behaviourrecord_region_id_fb3c6bdd_like"
    " ON behaviours_behaviourrecord (region_id varchar_pattern_ops)",
]


class Migration(migrations.Migration):
    dependencies = [
        ("behaviours", "0016_record_corrections"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="behaviourrecord",
                    name="region",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="records",
                        to="behaviours.region",
                        verbose_name="region",
                    ),
                ),
            ],
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
        ),
    ]
