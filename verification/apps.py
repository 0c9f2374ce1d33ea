from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    """A verifier's view: reads across the apps below it, writes nothing."""

    name = "verification"
    verbose_name = _("Verification")

    def ready(self) -> None:
        from config.navigation import register

        register(url_name="verification_sample", label=_("Verification"), audience="staff", order=97)
