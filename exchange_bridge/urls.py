from django.urls import path

from exchange_bridge import views

urlpatterns = [path("filings/", views.filings, name="filings")]
