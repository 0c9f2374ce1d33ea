from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "rewards"
    verbose_name = _("Green points and rights")

    def ready(self) -> None:
        from carbon_accounts import demo as ledger_demo
        from carbon_accounts import integrity as ledger_integrity
        from config import personal_entries
        from config.navigation import register
        from rewards import demo, entries, integrity

        ledger_demo.register_hook(demo.set_up_demo_rewards)
        ledger_integrity.register(integrity.rights_never_oversold)
        personal_entries.register(kind="redemption", reader=entries.redemptions, sums=entries.redemption_sums)
        personal_entries.register(
            kind="redemption_cancellation", reader=entries.cancellations, sums=entries.cancellation_sums
        )
        personal_entries.register(kind="points_expiry", reader=entries.expiries, sums=entries.expiry_sums)
        register(url_name="points_history", label=_("Green points"), audience="member", order=25)
        register(url_name="green_rights", label=_("Green rights"), audience="member", order=30)
        register(url_name="staff_rewards", label=_("Rewards and liability"), audience="staff", order=91)
        ledger_integrity.register(integrity.points_postings_match_entries)
