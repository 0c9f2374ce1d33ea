"""One row that changes whenever the reference data does, so the recording path can tell
whether its cached snapshot is current by reading one row instead of fingerprinting every
reference row on every record.

A statement trigger on each reference table writes a new random version in the same transaction
as the change: readers see the new version exactly when they see the new rows, a rolled-back
change leaves the old version, and no version is ever reused (a test database flushed and loaded
again gets new ones). The table is not a Django model: flushing test data leaves it alone.
"""

from django.db import migrations

TABLES = ["behaviours_behaviour", "behaviours_region", "behaviours_methodology", "behaviours_emissionfactor"]

FORWARD = [
    """CREATE TABLE behaviours_referenceversion (
           id smallint PRIMARY KEY CHECK (id = 1),
           version uuid NOT NULL)""",
    "INSERT INTO behaviours_referenceversion (id, version) VALUES (1, gen_random_uuid())",
    """CREATE FUNCTION behaviours_new_reference_version() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           INSERT INTO behaviours_referenceversion (id, version) VALUES (1, gen_random_uuid())
           ON CONFLICT (id) DO UPDATE SET version = excluded.version;
           RETURN NULL;
       END $$""",
    *(
        f"""CREATE TRIGGER reference_version_on_change
               AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
               FOR EACH STATEMENT EXECUTE FUNCTION behaviours_new_reference_version()"""
        for table in TABLES
    ),
]

BACKWARD = [
    *(f"DROP TRIGGER reference_version_on_change ON {table}" for table in TABLES),
    "DROP FUNCTION behaviours_new_reference_version()",
    "DROP TABLE behaviours_referenceversion",
]


class Migration(migrations.Migration):
    dependencies = [("behaviours", "0005_reduction_day_totals")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
