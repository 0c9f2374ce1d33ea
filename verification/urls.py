from django.urls import path

from verification import views

urlpatterns = [
    path("verify/", views.sample, name="verification_sample"),
    path("verify/records/<int:record_id>/", views.record, name="verification_record"),
    path("verify/evidence-pack", views.evidence_pack, name="verification_pack"),
]
