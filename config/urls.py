from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from config import health

# The admin's own sign-in form asks for a password only: send staff through allauth's, which
# asks for the second factor too.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include("config.api_urls")),
    path("", include("carbon_accounts.urls")),
    path("", include("behaviours.urls")),
    path("", include("rewards.urls")),
    path("", include("exchange_bridge.urls")),
    path("", include("engagement.urls")),
    path("", include("verification.urls")),
    path("", include("neutrality.urls")),
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]

handler400 = "config.errors.bad_request"
handler403 = "config.errors.forbidden"
handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
