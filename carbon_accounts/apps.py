from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CarbonAccountsConfig(AppConfig):
    name = "carbon_accounts"
    verbose_name = _("Carbon ledger")

    def ready(self) -> None:
        from config.navigation import register

        register(url_name="join", label=_("Join a business line"), audience="no_line", order=5)
        register(url_name="leaderboard", label=_("Leaderboard"), audience="employee", order=35)
        register(url_name="join", label=_("Link another account"), audience="member", order=70)
        register(url_name="staff_invitations", label=_("Invitations"), audience="staff", order=94)
