"""The general ledger's postings: each summarises sub-ledger entries of one line, kind, day and
GHG category, and its transfers carry exactly its sums (checked at commit, invariant 5)."""

import django.db.models.deletion
from django.db import migrations, models

POSTINGS_CHECKED = """
CREATE FUNCTION carbon_accounts_posting_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'postings are append-only: % refused on posting %', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER posting_append_only BEFORE UPDATE OR DELETE ON carbon_accounts_posting
    FOR EACH ROW EXECUTE FUNCTION carbon_accounts_posting_refuse_change();

-- At commit: a posting's transfers move exactly its signed sums into the line's control account.
CREATE FUNCTION carbon_accounts_posting_matches_transfers() RETURNS trigger AS $$
DECLARE
    control bigint;
    grams bigint;
    points bigint;
BEGIN
    SELECT id INTO control FROM carbon_accounts_account WHERE line_id = NEW.line_id AND kind = 'line';
    SELECT coalesce(sum(CASE WHEN credit_account_id = control THEN amount
                             WHEN debit_account_id = control THEN -amount END) FILTER (WHERE unit = 'gCO2e'), 0),
           coalesce(sum(CASE WHEN credit_account_id = control THEN amount
                             WHEN debit_account_id = control THEN -amount END) FILTER (WHERE unit = 'points'), 0)
      INTO grams, points
      FROM carbon_accounts_transfer WHERE posting_id = NEW.id;
    IF grams <> NEW.grams OR points <> NEW.points THEN
        RAISE EXCEPTION 'posting % sums to % g and % points, its transfers move % g and % points',
            NEW.id, NEW.grams, NEW.points, grams, points
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER posting_matches_transfers AFTER INSERT ON carbon_accounts_posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION carbon_accounts_posting_matches_transfers();

-- A transfer names only a posting of its own transaction: a posting once committed is complete.
CREATE FUNCTION carbon_accounts_transfer_posting_is_new() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_transfers n JOIN carbon_accounts_posting p ON p.id = n.posting_id
                WHERE p.transaction_id <> txid_current()) THEN
        RAISE EXCEPTION 'a transfer may only name a posting written in its own transaction'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER transfer_posting_is_new AFTER INSERT ON carbon_accounts_transfer
    REFERENCING NEW TABLE AS new_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION carbon_accounts_transfer_posting_is_new();
"""

POSTINGS_UNCHECKED = """
DROP TRIGGER IF EXISTS transfer_posting_is_new ON carbon_accounts_transfer;
DROP FUNCTION IF EXISTS carbon_accounts_transfer_posting_is_new();
DROP TRIGGER IF EXISTS posting_matches_transfers ON carbon_accounts_posting;
DROP FUNCTION IF EXISTS carbon_accounts_posting_matches_transfers();
DROP TRIGGER IF EXISTS posting_append_only ON carbon_accounts_posting;
DROP FUNCTION IF EXISTS carbon_accounts_posting_refuse_change();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('carbon_accounts', '0012_verifier_role'),
    ]

    operations = [
        migrations.CreateModel(
            name='Posting',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('entry_kind', models.CharField(choices=[('behaviour_record', 'recorded action'), ('record_reversal', 'reversal of a recorded action'), ('redemption', 'redemption'), ('redemption_cancellation', 'cancelled redemption'), ('points_expiry', 'points expiry'), ('donation', 'donation')], max_length=32, verbose_name='kind of entries')),
                ('period_date', models.DateField(verbose_name='period date')),
                ('ghg_category', models.CharField(default='none', max_length=48, verbose_name='GHG category')),
                ('behaviour_code', models.CharField(blank=True, default='', max_length=60, verbose_name='behaviour')),
                ('basis_id', models.BigIntegerField(blank=True, null=True, verbose_name='quantification basis')),
                ('entries', models.PositiveIntegerField(verbose_name='entries')),
                ('grams', models.BigIntegerField(verbose_name='net grams')),
                ('points', models.BigIntegerField(verbose_name='net points')),
                ('transaction_id', models.BigIntegerField(db_default=models.Func(function='txid_current'), editable=False)),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='posted')),
                ('line', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='postings', to='carbon_accounts.businessline')),
            ],
            options={
                'verbose_name': 'posting',
                'verbose_name_plural': 'postings',
            },
        ),
        migrations.AddField(
            model_name='transfer',
            name='posting',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='transfers', to='carbon_accounts.posting'),
        ),
        migrations.AddIndex(
            model_name='posting',
            index=models.Index(fields=['line', 'period_date'], name='posting_line_period'),
        ),
        migrations.RunSQL(POSTINGS_CHECKED, POSTINGS_UNCHECKED),
    ]
