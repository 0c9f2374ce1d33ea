from django.urls import path

from rewards import views

urlpatterns = [
    path("me/rights/", views.green_rights, name="green_rights"),
    path("me/rights/<int:right_id>/redeem/", views.redeem, name="redeem"),
    path("me/redemptions/<str:code>/", views.redemption, name="redemption"),
    path("me/reminders/", views.reminder_settings, name="reminder_settings"),
    path("staff/rewards/", views.staff_rewards, name="staff_rewards"),
]
