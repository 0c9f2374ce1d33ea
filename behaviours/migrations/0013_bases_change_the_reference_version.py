"""Quantification bases are part of the reference data a recorder reads: adding one writes a new
reference version (migration 0006), so the snapshot every recording reads carries every basis and
recording never looks one up row by row."""

from django.db import migrations

FORWARD = """CREATE TRIGGER reference_version_on_change
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON behaviours_quantificationbasis
    FOR EACH STATEMENT EXECUTE FUNCTION behaviours_new_reference_version()"""

BACKWARD = "DROP TRIGGER reference_version_on_change ON behaviours_quantificationbasis"


class Migration(migrations.Migration):
    dependencies = [("behaviours", "0012_entries_share_their_postings_key")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
