from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BehavioursConfig(AppConfig):
    name = "behaviours"
    verbose_name = _("Behaviours and emission factors")
