"""Changes of reference data, proposed by one staff member and decided by another.

The table holds what each person did and why, so it is kept as written: no row is deleted,
what was proposed is never edited, and a decision is made once. The check constraints of the
model refuse a decision by the proposer to anyone connected to the database.
"""

import django.core.serializers.json
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


KEEP_CHANGES = """
CREATE FUNCTION behaviours_reference_change_kept() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'reference change % is never deleted', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.state <> 'proposed' THEN
        RAISE EXCEPTION 'reference change % was decided already; a decision is final', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (to_jsonb(NEW) - ARRAY['state', 'decided_by_id', 'decided_at', 'decision_reason', 'applied_row_id'])
       IS DISTINCT FROM
       (to_jsonb(OLD) - ARRAY['state', 'decided_by_id', 'decided_at', 'decision_reason', 'applied_row_id']) THEN
        RAISE EXCEPTION 'reference change % is kept as proposed; propose another change instead', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER reference_change_kept BEFORE UPDATE OR DELETE ON behaviours_referencechange
    FOR EACH ROW EXECUTE FUNCTION behaviours_reference_change_kept();
"""

ALLOW_CHANGES = """
DROP TRIGGER IF EXISTS reference_change_kept ON behaviours_referencechange;
DROP FUNCTION IF EXISTS behaviours_reference_change_kept();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('behaviours', '0009_names_for_people'),
        ('carbon_accounts', '0011_plural_names'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ReferenceChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('factor', 'emission factor'), ('methodology', 'methodology'), ('caps', 'daily limits of a behaviour'), ('points_rule', 'points rule')], max_length=16, verbose_name='kind')),
                ('subject', models.CharField(max_length=200, verbose_name='subject')),
                ('key', models.JSONField(encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='key')),
                ('current_row_id', models.BigIntegerField(blank=True, null=True, verbose_name='row in force when proposed')),
                ('before', models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='values in force')),
                ('after', models.JSONField(encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='proposed values')),
                ('reason', models.CharField(max_length=500, verbose_name='reason')),
                ('proposed_at', models.DateTimeField(auto_now_add=True, verbose_name='proposed')),
                ('state', models.CharField(choices=[('proposed', 'waiting for a second person'), ('approved', 'approved and applied'), ('refused', 'refused')], default='proposed', max_length=12, verbose_name='state')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided')),
                ('decision_reason', models.CharField(blank=True, default='', max_length=500, verbose_name='reason for the decision')),
                ('applied_row_id', models.BigIntegerField(blank=True, null=True, verbose_name='row added')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                ('line', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='carbon_accounts.businessline', verbose_name='business line')),
                ('proposed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='proposed by')),
            ],
            options={
                'verbose_name': 'reference change',
                'verbose_name_plural': 'reference changes',
                'indexes': [models.Index(fields=['state', 'proposed_at'], name='change_queue')],
                'constraints': [models.CheckConstraint(condition=models.Q(('decided_by__isnull', True), models.Q(('decided_by', models.F('proposed_by')), _negated=True), _connector='OR'), name='change_decided_by_another_person'), models.CheckConstraint(condition=models.Q(models.Q(('state', 'proposed'), ('decided_by__isnull', True), ('decided_at__isnull', True)), models.Q(('state__in', ['approved', 'refused']), ('decided_by__isnull', False), ('decided_at__isnull', False)), _connector='OR'), name='change_decision_complete'), models.CheckConstraint(condition=models.Q(('reason', ''), _negated=True), name='change_has_a_reason'), models.CheckConstraint(condition=models.Q(models.Q(('state', 'refused'), _negated=True), models.Q(('decision_reason', ''), _negated=True), _connector='OR'), name='refusal_has_a_reason'), models.UniqueConstraint(condition=models.Q(('state', 'proposed')), fields=('kind', 'subject'), name='one_open_change_per_subject')],
            },
        ),
        migrations.RunSQL(KEEP_CHANGES, ALLOW_CHANGES),
    ]
