from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BehavioursConfig(AppConfig):
    name = "behaviours"
    verbose_name = _("Behaviours and emission factors")

    def ready(self) -> None:
        from behaviours import checks, demo, entries, integrity, reference_changes  # noqa: F401  (checks register themselves)
        from carbon_accounts import demo as ledger_demo
        from carbon_accounts import integrity as ledger_integrity
        from config import personal_entries
        from config.navigation import register

        ledger_integrity.register(integrity.reductions_trace_to_records)
        ledger_integrity.register(integrity.fileable_claims_are_trusted)
        ledger_integrity.register(reference_changes.changes_by_two_people)
        ledger_integrity.register(integrity.claims_fingerprinted)
        ledger_integrity.register_lag(integrity.unposted_records)
        personal_entries.register(kind="behaviour_record", reader=entries.records, sums=entries.record_sums)
        personal_entries.register(
            kind="record_reversal", reader=entries.reversals, sums=entries.reversal_sums
        )
        personal_entries.register(
            kind="record_correction", reader=entries.corrections, sums=entries.correction_sums
        )
        ledger_demo.register_hook(demo.record_demo_activity)
        ledger_demo.register_hook(demo.record_demo_site_savings)
        register(url_name="my_account", label=_("My carbon account"), audience="member", order=10)
        register(url_name="commute", label=_("Log a commute"), audience="employee", order=15)
        register(url_name="record_behaviour", label=_("Record an action"), audience="member", order=20)
        register(url_name="my_records", label=_("My records"), audience="member", order=22)
        register(url_name="my_badges", label=_("My badges"), audience="member", order=23)
        register(url_name="share_month", label=_("Share my month"), audience="member", order=24)
        register(url_name="methodology", label=_("Methodology"), audience="everyone", order=80)
        register(url_name="staff_dashboard", label=_("Dashboard"), audience="staff", order=88)
        register(url_name="review_queue", label=_("Review queue"), audience="staff", order=90)
        register(url_name="staff_factors", label=_("Factor versions"), audience="staff", order=94)
        register(url_name="staff_sites", label=_("Metered sites"), audience="staff", order=93)
        register(url_name="reference_changes", label=_("Reference changes"), audience="staff", order=95)
        register(url_name="staff_claims", label=_("Claims"), audience="staff", order=96)
        # The lots are records: points about to lapse are worked out here and shown on rewards' pages.
        from behaviours import points_lots
        from config import panels

        panels.register(
            page="green_rights",
            template="rewards/includes/expiry_banner.html",
            context=points_lots.expiry_banner,
        )
