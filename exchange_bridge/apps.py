from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeBridgeConfig(AppConfig):
    name = "exchange_bridge"
    verbose_name = _("Exchange filings")
