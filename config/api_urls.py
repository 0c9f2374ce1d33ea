from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

import config.api_schema  # noqa: F401 - registers the authentication schemes
from behaviours import api as behaviours_api
from carbon_accounts import api as accounts_api
from exchange_bridge import api as filing_api
from neutrality import api as neutrality_api
from rewards import api as rewards_api

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # Swagger UI's script is served apart (the split view) so the CSP keeps inline scripts out;
    # its page still carries a <style> block.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api_schema")
        ),
        name="api_docs",
    ),
    path("api/v1/behaviours", behaviours_api.BehaviourCatalogue.as_view(), name="api_behaviours"),
    path("api/v1/lines/<slug:line>/records", behaviours_api.RecordBehaviour.as_view(), name="api_record"),
    path(
        "api/v1/lines/<slug:line>/records/bulk",
        behaviours_api.BulkRecordBehaviours.as_view(),
        name="api_bulk",
    ),
    path(
        "api/v1/lines/<slug:line>/sites/<slug:site>/metered-savings",
        behaviours_api.RecordMeteredSaving.as_view(),
        name="api_metered_saving",
    ),
    path("api/v1/lines/<slug:line>/imports", behaviours_api.UploadImport.as_view(), name="api_imports"),
    path(
        "api/v1/lines/<slug:line>/imports/<uuid:import_id>",
        behaviours_api.ImportStatus.as_view(),
        name="api_import",
    ),
    path(
        "api/v1/lines/<slug:line>/imports/<uuid:import_id>/results",
        behaviours_api.ImportResults.as_view(),
        name="api_import_results",
    ),
    path(
        "api/v1/lines/<slug:line>/binding-codes",
        accounts_api.BindingCodes.as_view(),
        name="api_binding_codes",
    ),
    path("api/v1/lines/<slug:line>/totals", accounts_api.LineTotals.as_view(), name="api_line_totals"),
    path("api/v1/lines/<slug:line>/green-rights", rewards_api.GreenRights.as_view(), name="api_green_rights"),
    path(
        "api/v1/lines/<slug:line>/filing-batches",
        filing_api.FilingBatches.as_view(),
        name="api_filing_batches",
    ),
    path(
        "api/v1/lines/<slug:line>/activity-rows",
        neutrality_api.ActivityRows.as_view(),
        name="api_activity_rows",
    ),
    path("api/v1/totals", accounts_api.GroupTotals.as_view(), name="api_group_totals"),
    path("api/v1/neutrality/years", neutrality_api.NeutralityYears.as_view(), name="api_neutrality_years"),
    path(
        "api/v1/neutrality/years/<int:year>",
        neutrality_api.NeutralityYear.as_view(),
        name="api_neutrality_year",
    ),
    path("api/v1/neutrality/paths", neutrality_api.NeutralityPaths.as_view(), name="api_neutrality_paths"),
    path("api/v1/me/accounts", accounts_api.MyAccounts.as_view(), name="api_my_accounts"),
    path(
        "api/v1/me/accounts/<int:account_id>/statement",
        accounts_api.MyStatement.as_view(),
        name="api_my_statement",
    ),
    path("api/v1/me/redemptions", rewards_api.Redeem.as_view(), name="api_redeem"),
]
