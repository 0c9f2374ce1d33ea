from django.urls import path

from carbon_accounts import views

urlpatterns = [
    path("me/leaderboard/", views.leaderboard, name="leaderboard"),
    path("me/join/", views.join, name="join"),
    path("staff/invitations/", views.staff_invitations, name="staff_invitations"),
]
