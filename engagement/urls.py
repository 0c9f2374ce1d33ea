from django.urls import path

from engagement import views

urlpatterns = [
    path("me/campaigns/", views.campaigns, name="campaigns"),
    path("me/campaigns/<int:campaign_id>/", views.campaign, name="campaign"),
    path("me/campaigns/<int:campaign_id>/join/", views.join_campaign, name="join_campaign"),
    path("me/projects/", views.projects, name="welfare_projects"),
    path("me/projects/<int:project_id>/", views.project, name="welfare_project"),
    path("me/projects/<int:project_id>/donate/", views.donate, name="donate"),
    path("me/donations/<str:number>/", views.certificate, name="donation_certificate"),
    path("staff/campaigns/", views.staff_campaigns, name="staff_campaigns"),
    path("staff/campaigns/new/", views.staff_campaign_edit, name="staff_campaign_new"),
    path("staff/campaigns/<int:campaign_id>/", views.staff_campaign_edit, name="staff_campaign_edit"),
]
