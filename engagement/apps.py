from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "engagement"
    verbose_name = _("Campaigns and public-welfare projects")

    def ready(self) -> None:
        from carbon_accounts import demo as ledger_demo
        from config import panels, personal_entries
        from config.navigation import register
        from engagement import demo, entries
        from engagement.panels import campaign_card, donations_in_history

        ledger_demo.register_hook(demo.set_up_demo_engagement)
        personal_entries.register(kind="donation", reader=entries.donations, sums=entries.donation_sums)
        register(url_name="campaigns", label=_("Campaigns"), audience="member", order=32)
        register(url_name="welfare_projects", label=_("Donate points"), audience="member", order=34)
        register(url_name="staff_campaigns", label=_("Campaigns"), audience="staff", order=92)
        panels.register(page="my_account", template="engagement/campaign_card.html", context=campaign_card)
        panels.register(
            page="points_history",
            template="engagement/donations_in_history.html",
            context=donations_in_history,
        )
