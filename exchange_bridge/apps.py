from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeBridgeConfig(AppConfig):
    name = "exchange_bridge"
    verbose_name = _("Exchange filings")

    def ready(self) -> None:
        from carbon_accounts import integrity as ledger_integrity
        from config.navigation import register
        from exchange_bridge import integrity

        ledger_integrity.register(integrity.one_live_filing_per_reduction)
        register(url_name="filings", label=_("Filings"), audience="staff", order=92)
