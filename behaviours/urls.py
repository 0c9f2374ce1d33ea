from django.urls import path

from behaviours import change_views, claim_views, engagement, site_views, staff_views, statements, views

urlpatterns = [
    path("methodology/", views.methodology, name="methodology"),
    path("me/", views.my_account, name="my_account"),
    path("me/commute/", views.commute, name="commute"),
    path("me/record/", views.record, name="record_behaviour"),
    path("me/records/", views.my_records, name="my_records"),
    path("me/accounts/<int:account_id>/statement/", statements.account_statement, name="account_statement"),
    path("me/points/", statements.points_history, name="points_history"),
    path("me/records/<int:record_id>/", views.record_detail, name="record_detail"),
    path("me/programmes/", claim_views.external_programmes, name="external_programmes"),
    path("me/badges/", engagement.my_badges, name="my_badges"),
    path("me/share/", engagement.share, name="share_month"),
    path("me/share/<str:month>.png", engagement.share_card_image, name="share_card"),
    path("review/", views.review_queue, name="review_queue"),
    path("review/<int:record_id>/decision/", views.review_decision, name="review_decision"),
    path("staff/", staff_views.dashboard, name="staff_dashboard"),
    path("staff/export", staff_views.export, name="staff_export"),
    path("staff/factors/", staff_views.factor_versions, name="staff_factors"),
    path("staff/claims/", claim_views.staff_claims, name="staff_claims"),
    path("staff/sites/", site_views.site_list, name="staff_sites"),
    path("staff/sites/<int:site_id>/record/", site_views.record_saving, name="staff_site_record"),
    path("staff/claims/export", claim_views.staff_claims_export, name="staff_claims_export"),
    path("staff/changes/", change_views.change_queue, name="reference_changes"),
    path("staff/changes/history/", change_views.change_history, name="reference_change_history"),
    path("staff/changes/<int:change_id>/", change_views.change_detail, name="reference_change"),
    path(
        "staff/changes/<int:change_id>/restatement.csv",
        change_views.restatement_csv,
        name="reference_change_restatement",
    ),
    path("staff/changes/new/<slug:kind_path>/", change_views.propose_change, name="propose_reference_change"),
]
