from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CarbonAccountsConfig(AppConfig):
    name = "carbon_accounts"
    verbose_name = _("Carbon ledger")

    def ready(self) -> None:
        from config.navigation import register

        register(url_name="leaderboard", label=_("Leaderboard"), order=35)
