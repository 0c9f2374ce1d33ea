from django.urls import path

from verification import views

urlpatterns = [
    path("verify/", views.sample, name="verification_sample"),
    path("verify/records/<int:record_id>/", views.record, name="verification_record"),
    path("verify/postings/<int:posting_id>/", views.posting, name="verification_posting"),
    path("verify/filings/<int:batch_id>/", views.filing_batch, name="verification_filing_batch"),
    path("verify/evidence-pack", views.evidence_pack, name="verification_pack"),
]
