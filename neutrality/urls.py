from django.urls import path

from neutrality import views

urlpatterns = [
    path("neutrality/", views.overview, name="neutrality"),
    path("neutrality/<int:year>/", views.year_detail, name="neutrality_year"),
    path("neutrality/<int:year>/statements/", views.issue_statement, name="neutrality_issue"),
    path(
        "neutrality/statements/<int:statement_id>.<str:kind>",
        views.statement_file,
        name="neutrality_statement_file",
    ),
    path("neutrality/activity/", views.activity, name="neutrality_activity"),
    path("neutrality/imports/<int:import_id>/", views.import_results, name="neutrality_import"),
    path("neutrality/credits/", views.credits, name="neutrality_credits"),
    path("neutrality/targets/", views.targets, name="neutrality_targets"),
]
