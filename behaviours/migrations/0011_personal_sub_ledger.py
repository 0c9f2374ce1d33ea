"""The personal sub-ledger under the general ledger.

A behaviour record is its person's entry (grams and points on the row), its factor rows are
reached through a shared quantification basis, and every entry names the general-ledger posting
that carries it. Data made in the old shape (one transfer per movement, points awards, factor
links, day totals) is converted in place: bases from the factor links, postings from the
entries, summary transfers from the postings; the per-movement transfers are then removed. Every
personal balance stays as it was, and equals its entries afterwards.
"""

import django.db.models.deletion
from django.db import migrations, models

# Triggers that name the columns this migration replaces go first; 0010's and rewards 0008's
# own triggers replace them.
BEFORE = """
DROP TRIGGER IF EXISTS behaviour_record_fixed ON behaviours_behaviourrecord;
DROP TRIGGER IF EXISTS behaviour_record_transfer_once ON behaviours_behaviourrecord;
DROP TRIGGER IF EXISTS record_factor_kept ON behaviours_recordfactor;
DROP TRIGGER IF EXISTS redemption_fixed ON rewards_redemption;
DROP TRIGGER IF EXISTS points_expiry_kept ON rewards_pointsexpiry;
DROP TRIGGER IF EXISTS points_award_fixed ON rewards_pointsaward;
DROP TRIGGER IF EXISTS points_award_kept ON rewards_pointsaward;
"""

CONVERT = """
-- Deferred checks of earlier statements first: PostgreSQL refuses ALTER TABLE while they wait.
SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE carbon_accounts_transfer DISABLE TRIGGER transfer_append_only;
SET CONSTRAINTS ALL DEFERRED;

-- Bases: one per distinct (methodology, factor a, factor b) the records used.
CREATE TEMP TABLE record_rows ON COMMIT DROP AS
SELECT r.id AS record_id, r.methodology_id, fa.factor_id AS factor_a, fb.factor_id AS factor_b
  FROM behaviours_behaviourrecord r
  JOIN behaviours_recordfactor fa ON fa.record_id = r.id AND fa.role = 'a'
  LEFT JOIN behaviours_recordfactor fb ON fb.record_id = r.id AND fb.role = 'b'
 WHERE r.methodology_id IS NOT NULL;
INSERT INTO behaviours_quantificationbasis (methodology_id, factor_a_id, factor_b_id, method, created_at)
SELECT DISTINCT f.methodology_id, f.factor_a, f.factor_b, m.method, now()
  FROM record_rows f JOIN behaviours_methodology m ON m.id = f.methodology_id;
UPDATE behaviours_behaviourrecord r SET basis_id = b.id
  FROM record_rows f
  JOIN behaviours_quantificationbasis b
    ON b.methodology_id = f.methodology_id AND b.factor_a_id = f.factor_a
   AND b.factor_b_id IS NOT DISTINCT FROM f.factor_b
 WHERE r.id = f.record_id;

-- Records posted in the old shape (accepted, and reversed after acceptance) and their reversals.
CREATE TEMP TABLE record_postings ON COMMIT DROP AS
SELECT nextval(pg_get_serial_sequence('carbon_accounts_posting', 'id')) AS posting_id, s.*
  FROM (SELECT line_id, occurred_on, ghg_category, behaviour_id, basis_id,
               count(*) AS entries, sum(reduction_g) AS grams, sum(points) AS points
          FROM behaviours_behaviourrecord WHERE status IN ('accepted', 'reversed')
         GROUP BY 1, 2, 3, 4, 5) AS s;
INSERT INTO carbon_accounts_posting
       (id, line_id, entry_kind, period_date, ghg_category, behaviour_code, basis_id, entries, grams, points, created_at)
SELECT posting_id, line_id, 'behaviour_record', occurred_on, ghg_category, behaviour_id, basis_id,
       entries, grams, points, now()
  FROM record_postings;
UPDATE behaviours_behaviourrecord r SET posting_id = p.posting_id
  FROM record_postings p
 WHERE r.status IN ('accepted', 'reversed') AND p.line_id = r.line_id AND p.occurred_on = r.occurred_on
   AND p.ghg_category = r.ghg_category AND p.behaviour_id = r.behaviour_id
   AND p.basis_id IS NOT DISTINCT FROM r.basis_id;

CREATE TEMP TABLE reversal_postings ON COMMIT DROP AS
SELECT nextval(pg_get_serial_sequence('carbon_accounts_posting', 'id')) AS posting_id, s.*
  FROM (SELECT line_id, occurred_on, ghg_category, behaviour_id, basis_id,
               count(*) AS entries, -sum(reduction_g) AS grams, -sum(points) AS points
          FROM behaviours_behaviourrecord WHERE status = 'reversed'
         GROUP BY 1, 2, 3, 4, 5) AS s;
INSERT INTO carbon_accounts_posting
       (id, line_id, entry_kind, period_date, ghg_category, behaviour_code, basis_id, entries, grams, points, created_at)
SELECT posting_id, line_id, 'record_reversal', occurred_on, ghg_category, behaviour_id, basis_id,
       entries, grams, points, now()
  FROM reversal_postings;
INSERT INTO behaviours_recordreversal
       (record_id, account_id, reduction_g, points, reason, reversed_by, posting_id, created_at)
SELECT r.id, r.account_id, -r.reduction_g, -r.points, left(r.review_reason, 300), r.decided_by, p.posting_id,
       coalesce(r.decided_at, r.created_at)
  FROM behaviours_behaviourrecord r
  JOIN reversal_postings p
    ON p.line_id = r.line_id AND p.occurred_on = r.occurred_on AND p.ghg_category = r.ghg_category
   AND p.behaviour_id = r.behaviour_id AND p.basis_id IS NOT DISTINCT FROM r.basis_id
 WHERE r.status = 'reversed';

-- Points leaving people: redemptions, their cancellations, donations, expiries, on the day
-- their old transfer was posted.
CREATE TEMP TABLE points_movements ON COMMIT DROP AS
SELECT 'redemption' AS kind, r.id AS row_id, a.line_id, t.period_date, -r.points::bigint AS points
  FROM rewards_redemption r JOIN carbon_accounts_account a ON a.id = r.account_id
  JOIN carbon_accounts_transfer t ON t.id = r.transfer_id
UNION ALL
SELECT 'redemption_cancellation', r.id, a.line_id, t.period_date, r.points
  FROM rewards_redemption r JOIN carbon_accounts_account a ON a.id = r.account_id
  JOIN carbon_accounts_transfer t ON t.id = r.cancel_transfer_id
UNION ALL
SELECT 'donation', d.id, a.line_id, t.period_date, -d.points::bigint
  FROM engagement_donation d JOIN carbon_accounts_account a ON a.id = d.account_id
  JOIN carbon_accounts_transfer t ON t.id = d.transfer_id
UNION ALL
SELECT 'points_expiry', e.id, w.line_id, t.period_date, -e.points::bigint
  FROM rewards_pointsexpiry e JOIN rewards_pointsaward w ON w.id = e.award_id
  JOIN carbon_accounts_transfer t ON t.id = e.transfer_id;
CREATE TEMP TABLE points_postings ON COMMIT DROP AS
SELECT nextval(pg_get_serial_sequence('carbon_accounts_posting', 'id')) AS posting_id, s.*
  FROM (SELECT kind, line_id, period_date, count(*) AS entries, sum(points) AS points
          FROM points_movements GROUP BY 1, 2, 3) AS s;
INSERT INTO carbon_accounts_posting
       (id, line_id, entry_kind, period_date, ghg_category, behaviour_code, basis_id, entries, grams, points, created_at)
SELECT posting_id, line_id, kind, period_date, 'none', '', NULL, entries, 0, points, now() FROM points_postings;
CREATE TEMP TABLE movement_postings ON COMMIT DROP AS
SELECT m.kind, m.row_id, p.posting_id
  FROM points_movements m
  JOIN points_postings p ON p.kind = m.kind AND p.line_id = m.line_id AND p.period_date = m.period_date;
UPDATE rewards_redemption r SET posting_id = m.posting_id
  FROM movement_postings m WHERE m.kind = 'redemption' AND m.row_id = r.id;
UPDATE rewards_redemption r SET cancel_posting_id = m.posting_id
  FROM movement_postings m WHERE m.kind = 'redemption_cancellation' AND m.row_id = r.id;
UPDATE engagement_donation d SET posting_id = m.posting_id
  FROM movement_postings m WHERE m.kind = 'donation' AND m.row_id = d.id;
UPDATE rewards_pointsexpiry e SET posting_id = m.posting_id, account_id = w.account_id
  FROM movement_postings m, rewards_pointsaward w
 WHERE m.kind = 'points_expiry' AND m.row_id = e.id AND w.id = e.award_id;

-- The per-movement transfers give way to the postings' summary transfers.
DELETE FROM carbon_accounts_transfer t
 USING carbon_accounts_account a
 WHERE a.kind = 'personal' AND (a.id = t.debit_account_id OR a.id = t.credit_account_id);
INSERT INTO carbon_accounts_transfer
       (debit_account_id, credit_account_id, amount, unit, kind, line_id, source_type, source_id, ghg_category,
        period_date, idempotency_source, idempotency_key, payload_digest, description, posting_id, created_at)
SELECT CASE WHEN m.amount > 0 THEN m.counter ELSE control.id END,
       CASE WHEN m.amount > 0 THEN control.id ELSE m.counter END,
       abs(m.amount), m.unit, p.entry_kind, p.line_id, 'posting', p.id::text, p.ghg_category, p.period_date,
       'posting', p.id::text || ':' || m.unit, '', '', p.id, now()
  FROM carbon_accounts_posting p
  JOIN carbon_accounts_account control ON control.line_id = p.line_id AND control.kind = 'line'
 CROSS JOIN LATERAL (
       SELECT 'gCO2e' AS unit, p.grams AS amount, c.id AS counter FROM carbon_accounts_account c
        WHERE c.line_id = p.line_id
          AND c.kind = CASE WHEN p.entry_kind IN ('behaviour_record', 'record_reversal') THEN 'reduction_issuance'
                            WHEN p.entry_kind = 'points_expiry' THEN 'points_expired' ELSE 'points_redeemed' END
       UNION ALL
       SELECT 'points', p.points, c.id FROM carbon_accounts_account c
        WHERE c.line_id = p.line_id
          AND c.kind = CASE WHEN p.entry_kind IN ('behaviour_record', 'record_reversal') THEN 'points_budget'
                            WHEN p.entry_kind = 'points_expiry' THEN 'points_expired' ELSE 'points_redeemed' END
       ) AS m
 WHERE m.amount <> 0;

SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE carbon_accounts_transfer ENABLE TRIGGER transfer_append_only;
SET CONSTRAINTS ALL DEFERRED;
"""

# Invariants 1 and 5 on the new shape. Entries and bases keep what was computed; a record's
# posting and points are written once, with its acceptance; an entry names only a posting of its
# own transaction; and at commit each posting equals the sums of the entries that name it.
GUARDS = """
CREATE TRIGGER behaviour_record_fixed
    BEFORE UPDATE OF line_id, account_id, behaviour_id, quantity, counted_quantity, cap_note, occurred_on,
                     region_id, attributes, evidence_id, source, idempotency_key, payload_digest,
                     reduction_g, basis_id, ghg_category, fileable, created_at
    ON behaviours_behaviourrecord
    FOR EACH ROW
    WHEN ((OLD.line_id, OLD.account_id, OLD.behaviour_id, OLD.quantity, OLD.counted_quantity, OLD.cap_note,
           OLD.occurred_on, OLD.region_id, OLD.attributes, OLD.evidence_id, OLD.source, OLD.idempotency_key,
           OLD.payload_digest, OLD.reduction_g, OLD.basis_id, OLD.ghg_category, OLD.fileable, OLD.created_at)
          IS DISTINCT FROM
          (NEW.line_id, NEW.account_id, NEW.behaviour_id, NEW.quantity, NEW.counted_quantity, NEW.cap_note,
           NEW.occurred_on, NEW.region_id, NEW.attributes, NEW.evidence_id, NEW.source, NEW.idempotency_key,
           NEW.payload_digest, NEW.reduction_g, NEW.basis_id, NEW.ghg_category, NEW.fileable, NEW.created_at))
    EXECUTE FUNCTION behaviours_record_refuse_change();
CREATE TRIGGER behaviour_record_posted_once
    BEFORE UPDATE OF posting_id, points ON behaviours_behaviourrecord
    FOR EACH ROW
    WHEN ((OLD.posting_id IS NOT NULL
           AND (NEW.posting_id IS DISTINCT FROM OLD.posting_id OR NEW.points IS DISTINCT FROM OLD.points))
          OR (OLD.posting_id IS NULL AND NEW.posting_id IS NOT NULL
              AND NOT (OLD.status = 'pending_review' AND NEW.status = 'accepted')))
    EXECUTE FUNCTION behaviours_record_refuse_change();
CREATE TRIGGER basis_kept BEFORE UPDATE OR DELETE ON behaviours_quantificationbasis
    FOR EACH ROW EXECUTE FUNCTION behaviours_record_refuse_change();
CREATE TRIGGER record_reversal_kept BEFORE UPDATE OR DELETE ON behaviours_recordreversal
    FOR EACH ROW EXECUTE FUNCTION behaviours_record_refuse_change();

CREATE FUNCTION behaviours_entries_name_new_postings() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries n JOIN carbon_accounts_posting p ON p.id = n.posting_id
                WHERE p.transaction_id <> txid_current()) THEN
        RAISE EXCEPTION 'an entry of % may only name a posting written in its own transaction', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER record_names_new_posting AFTER INSERT ON behaviours_behaviourrecord
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION behaviours_entries_name_new_postings();
CREATE FUNCTION behaviours_approvals_name_new_postings() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries n JOIN old_entries o ON o.id = n.id
                 JOIN carbon_accounts_posting p ON p.id = n.posting_id
                WHERE o.posting_id IS NULL AND p.transaction_id <> txid_current()) THEN
        RAISE EXCEPTION 'an approval may only name a posting written in its own transaction'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER approval_names_new_posting AFTER UPDATE ON behaviours_behaviourrecord
    REFERENCING OLD TABLE AS old_entries NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION behaviours_approvals_name_new_postings();
CREATE TRIGGER reversal_names_new_posting AFTER INSERT ON behaviours_recordreversal
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION behaviours_entries_name_new_postings();

CREATE FUNCTION behaviours_posting_matches_entries() RETURNS trigger AS $$
DECLARE
    entries bigint;
    grams bigint;
    points bigint;
BEGIN
    IF NEW.entry_kind = 'behaviour_record' THEN
        SELECT count(*), coalesce(sum(reduction_g), 0), coalesce(sum(r.points), 0) INTO entries, grams, points
          FROM behaviours_behaviourrecord r WHERE posting_id = NEW.id;
    ELSE
        SELECT count(*), coalesce(sum(reduction_g), 0), coalesce(sum(r.points), 0) INTO entries, grams, points
          FROM behaviours_recordreversal r WHERE posting_id = NEW.id;
    END IF;
    IF entries <> NEW.entries OR grams <> NEW.grams OR points <> NEW.points THEN
        RAISE EXCEPTION 'posting % says % entries, % g, % points; its entries are %, % g, % points',
            NEW.id, NEW.entries, NEW.grams, NEW.points, entries, grams, points
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER posting_matches_records AFTER INSERT ON carbon_accounts_posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.entry_kind IN ('behaviour_record', 'record_reversal'))
    EXECUTE FUNCTION behaviours_posting_matches_entries();
"""

UNGUARDED = """
DROP TRIGGER IF EXISTS posting_matches_records ON carbon_accounts_posting;
DROP FUNCTION IF EXISTS behaviours_posting_matches_entries();
DROP TRIGGER IF EXISTS record_names_new_posting ON behaviours_behaviourrecord;
DROP TRIGGER IF EXISTS approval_names_new_posting ON behaviours_behaviourrecord;
DROP TRIGGER IF EXISTS reversal_names_new_posting ON behaviours_recordreversal;
DROP FUNCTION IF EXISTS behaviours_entries_name_new_postings();
DROP FUNCTION IF EXISTS behaviours_approvals_name_new_postings();
DROP TRIGGER IF EXISTS record_reversal_kept ON behaviours_recordreversal;
DROP TRIGGER IF EXISTS basis_kept ON behaviours_quantificationbasis;
DROP TRIGGER IF EXISTS behaviour_record_posted_once ON behaviours_behaviourrecord;
DROP TRIGGER IF EXISTS behaviour_record_fixed ON behaviours_behaviourrecord;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("behaviours", "0010_reference_changes_by_two_people"),
        ("carbon_accounts", "0013_general_ledger_postings"),
        ("rewards", "0007_entries_name_their_postings"),
        ("engagement", "0002_donation_names_its_posting"),
    ]

    operations = [
        migrations.RunSQL(BEFORE, migrations.RunSQL.noop),
        migrations.CreateModel(
            name="QuantificationBasis",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("method", models.CharField(max_length=16, verbose_name="method")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "methodology",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="bases", to="behaviours.methodology"
                    ),
                ),
                (
                    "factor_a",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="behaviours.emissionfactor"
                    ),
                ),
                (
                    "factor_b",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="behaviours.emissionfactor",
                    ),
                ),
            ],
            options={"verbose_name": "quantification basis", "verbose_name_plural": "quantification bases"},
        ),
        migrations.AddConstraint(
            model_name="quantificationbasis",
            constraint=models.UniqueConstraint(
                fields=("methodology", "factor_a", "factor_b"), name="one_basis_per_rows", nulls_distinct=False
            ),
        ),
        migrations.AddField(
            model_name="behaviourrecord",
            name="basis",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="records",
                to="behaviours.quantificationbasis",
                verbose_name="quantification basis",
            ),
        ),
        migrations.AddField(
            model_name="behaviourrecord",
            name="posting",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="carbon_accounts.posting",
                verbose_name="posting",
            ),
        ),
        migrations.CreateModel(
            name="RecordReversal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reduction_g", models.BigIntegerField(verbose_name="reduction (g CO2e)")),
                ("points", models.BigIntegerField(verbose_name="points")),
                ("reason", models.CharField(max_length=300, verbose_name="reason")),
                ("reversed_by", models.CharField(max_length=150, verbose_name="reversed by")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="reversed")),
                (
                    "account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="carbon_accounts.account",
                    ),
                ),
                (
                    "posting",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="carbon_accounts.posting"
                    ),
                ),
                (
                    "record",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reversal",
                        to="behaviours.behaviourrecord",
                    ),
                ),
            ],
            options={"verbose_name": "record reversal", "verbose_name_plural": "record reversals"},
        ),
        migrations.AddConstraint(
            model_name="recordreversal",
            constraint=models.CheckConstraint(
                condition=models.Q(("reduction_g__lte", 0), ("points__lte", 0)), name="reversal_takes_back"
            ),
        ),
        migrations.AddIndex(
            model_name="recordreversal",
            index=models.Index(fields=["account", "-id"], name="reversal_statement"),
        ),
        migrations.RunSQL(CONVERT, migrations.RunSQL.noop),
        # The many-to-many and the constraints naming a field go before the field, so that the
        # migration can be reversed (to an empty shape; the conversion is one way).
        migrations.RemoveField(model_name="behaviourrecord", name="factors"),
        migrations.RemoveConstraint(model_name="recordfactor", name="one_factor_per_role"),
        migrations.RemoveConstraint(model_name="factordayuse", name="one_factor_use_per_day"),
        migrations.RemoveConstraint(model_name="reductiondaytotal", name="one_reduction_total_per_day"),
        migrations.RemoveField(model_name="factordayuse", name="factor"),
        migrations.RemoveField(model_name="factordayuse", name="line"),
        migrations.RemoveField(model_name="recordfactor", name="factor"),
        migrations.RemoveField(model_name="recordfactor", name="record"),
        migrations.RemoveField(model_name="reductiondaytotal", name="behaviour"),
        migrations.RemoveField(model_name="reductiondaytotal", name="line"),
        migrations.DeleteModel(name="RollupMark"),
        migrations.DeleteModel(name="FactorDayUse"),
        migrations.DeleteModel(name="RecordFactor"),
        migrations.DeleteModel(name="ReductionDayTotal"),
        migrations.RemoveIndex(model_name="behaviourrecord", name="record_daily_caps"),
        migrations.RemoveIndex(model_name="behaviourrecord", name="record_review_queue"),
        migrations.RemoveField(model_name="behaviourrecord", name="methodology"),
        migrations.RemoveField(model_name="behaviourrecord", name="reduction_transfer_id"),
        migrations.AddIndex(
            model_name="behaviourrecord",
            index=models.Index(fields=["account", "occurred_on"], name="record_person_days"),
        ),
        migrations.AddIndex(
            model_name="behaviourrecord",
            index=models.Index(
                condition=models.Q(("status", "pending_review")), fields=["created_at"], name="record_review_queue"
            ),
        ),
        migrations.RunSQL(GUARDS, UNGUARDED),
    ]
