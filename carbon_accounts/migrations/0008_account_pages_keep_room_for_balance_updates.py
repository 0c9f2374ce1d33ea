"""Account pages keep room for balance updates.

Every recorded behaviour updates its person's balance row. With pages filled to the brim, the new
version of the row goes to another page, and every index of the table gets an entry for it:
until VACUUM comes, each lookup of a person walks the dead entries too. On a page with room,
PostgreSQL keeps the new version on the same page without touching the indexes (a heap-only
update), and prunes the old one itself. Over HTTP on a new database, throughput fell from 300
to 214 requests/s within 30 seconds with full pages, and from 337 to 288 with this setting; every
balance update was heap-only (bench/NOTES.md). Pages written before this
migration keep their density until the table is rewritten.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("carbon_accounts", "0007_fewer_redundant_indexes"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE carbon_accounts_account SET (fillfactor = 70)",
            reverse_sql="ALTER TABLE carbon_accounts_account RESET (fillfactor)",
        ),
    ]
