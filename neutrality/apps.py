from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NeutralityConfig(AppConfig):
    name = "neutrality"
    verbose_name = _("Carbon neutrality")

    def ready(self) -> None:
        from carbon_accounts import demo as ledger_demo
        from carbon_accounts import integrity as ledger_integrity
        from config.navigation import register
        from neutrality import demo, integrity

        ledger_demo.register_hook(demo.set_up_demo_neutrality)
        for check in (
            integrity.activity_rows_recompute,
            integrity.statements_match_their_hashes,
            integrity.credits_within_residual,
        ):
            ledger_integrity.register(check)
        register(url_name="neutrality", label=_("Carbon neutrality"), audience="staff", order=94)
