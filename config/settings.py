"""The one settings module. Every value comes from the environment (docs/configuration.md).

With no DATABASE_URL or CELERY_BROKER_URL in the environment, the values written by
`python -m config.embedded start` (the embedded PostgreSQL and Redis under .data/) are used,
so that `make run` works on a bare machine with the same engines as production.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.sign_in_limits import sign_in_rate_limits

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Values already in the environment win: read_env only fills in what is missing.
_embedded_env_file = env.str("PLATFORM_ENV_FILE", default=str(BASE_DIR / ".data" / "embedded.env"))
if _embedded_env_file and Path(_embedded_env_file).is_file():
    environ.Env.read_env(_embedded_env_file)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "string (for example: python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=true for local development."
        )
    SECRET_KEY = "development-only-insecure-key"  # noqa: S105 - only ever used with DEBUG on

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "config",
    "carbon_accounts",
    "rewards",
    "behaviours",
    "exchange_bridge",
    "engagement",
    "verification",
    "neutrality",
]

MIDDLEWARE = [
    "config.request_log.RequestLogMiddleware",
    "config.api.ApiBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "config.api.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "config.staff_two_factor.StaffTwoFactorMiddleware",
    "config.read_only_roles.ReadOnlyRoleMiddleware",
    "config.request_guard.NulCharacterGuardMiddleware",
]


ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "config.navigation.navigation",
            ],
        },
    },
]

# --- Database: PostgreSQL only -------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set and no embedded PostgreSQL is configured. Run `make run` "
        "(it starts the embedded one under .data/), or set DATABASE_URL, for example "
        "postgres://postgres@127.0.0.1:5432/postgres."
    )
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Django's PostgreSQL backend, with a health check that sends nothing (config/database/base.py).
DATABASES["default"]["ENGINE"] = "config.database"
# Parameters go to PostgreSQL apart from the query, so psycopg prepares a statement the fifth
# time it sees it and PostgreSQL stops planning it again: the recording path's statements are
# the same on every request (bench/NOTES.md). SET takes no parameters this way (set_config does).
# Behind a pooler in transaction mode that keeps no prepared statements, set
# DATABASE_PREPARE_THRESHOLD=off (docs/operations.md).
_prepare = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
DATABASES["default"].setdefault("OPTIONS", {}).update(
    server_side_binding=True, prepare_threshold=None if _prepare == "off" else int(_prepare)
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and the shared cache (sign-in throttling needs a shared one) ------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
if not CELERY_BROKER_URL:
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL is not set and no embedded Redis is configured. Run `make run`, or "
        "set CELERY_BROKER_URL, for example redis://127.0.0.1:6379/0."
    )
REDIS_CACHE_URL = env.str("REDIS_CACHE_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_CACHE_URL}
        if REDIS_CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Celery (config/celery.py reads every CELERY_* name). Why each: acks_late with
# reject_on_worker_lost means a task whose worker dies is delivered again instead of lost;
# prefetch 1 keeps one slow task from holding others hostage; time limits stop a hung task.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A task countdown must stay below this, or Redis would hand the message to a second worker.
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Points lapse 12 months after they were earned; checked every hour so a restart never skips a day.
    "expire-points": {"task": "behaviours.expire_points", "schedule": 3600.0},
    # Emails about points expiring within 30 days, once per person and expiry date; hourly, like expiry.
    "remind-expiring-points": {"task": "behaviours.send_expiry_reminders", "schedule": 3600.0},
    # Close finished periods into filing batches; push stuck batches on; check against the exchange.
    "close-filing-periods": {"task": "exchange_bridge.close_periods", "schedule": 60.0},
    "sweep-filing-batches": {"task": "exchange_bridge.sweep", "schedule": 30.0},
    "reconcile-filings": {"task": "exchange_bridge.reconcile", "schedule": 600.0},
}

# --- Authentication: django-allauth ----------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_GET = False
# --- Client address and sign-in throttling (config/sign_in_limits.py, docs/configuration.md) --
# X-Forwarded-For is read only past the proxies we run; with none trusted, REMOTE_ADDR is the
# client's. Failed sign-ins count per account always, and per address only when it is known
# to be the client's (counted in the shared cache).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
SIGN_IN_LIMITS_PER_ADDRESS = env.bool("SIGN_IN_LIMITS_PER_ADDRESS", default=TRUSTED_PROXY_COUNT > 0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
ACCOUNT_RATE_LIMITS = sign_in_rate_limits(
    per_address=SIGN_IN_LIMITS_PER_ADDRESS, login_failed=env.str("LOGIN_FAILED_RATE_LIMIT", default=None)
)
ACCOUNT_ADAPTER = "config.client_address.AccountAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="1+N Carbon Account")
# A code typed in the last seconds of its 30-second step reaches us in the next one; RFC 6238
# (section 5.2) allows one step of such delay, and allauth's default of none refuses it.
MFA_TOTP_TOLERANCE = env.int("MFA_TOTP_TOLERANCE", default=1)
LOGIN_REDIRECT_URL = "/me/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
LOGIN_URL = "account_login"

# --- Two-factor secrets encrypted at rest (docs/configuration.md, config/mfa_secrets.py) ------
# Fernet keys, comma-separated: the first encrypts, every one decrypts (rotation).
MFA_ADAPTER = "config.mfa_secrets.EncryptingMFAAdapter"
MFA_ENCRYPTION_KEYS = env.list("MFA_ENCRYPTION_KEYS", default=[])
if not MFA_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "MFA_ENCRYPTION_KEYS is not set. It encrypts the staff's two-factor secrets; set it to a "
            "Fernet key (python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'), or set DEBUG=true for local development."
        )
    # Development only: a key that follows the development SECRET_KEY.
    MFA_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(f"mfa:{SECRET_KEY}".encode()).digest()).decode()
    ]
for _key in MFA_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            "MFA_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 bytes, URL-safe base64)."
        ) from None

# --- Claim fingerprints (behaviours/claims.py, docs/configuration.md) ---------------------------
# The secret salt of the fingerprints that keep one activity claimed once. Set it explicitly in
# production and never change it: records keep the fingerprint they were made with, and partner
# programmes match fingerprints made with the same salt. Unset, it follows SECRET_KEY.
CLAIM_FINGERPRINT_SALT = env.str("CLAIM_FINGERPRINT_SALT", default="")
CLAIM_FINGERPRINT_SALT_IS_SET = bool(CLAIM_FINGERPRINT_SALT)
if not CLAIM_FINGERPRINT_SALT:
    CLAIM_FINGERPRINT_SALT = hashlib.sha256(f"claim-fingerprint:{SECRET_KEY}".encode()).hexdigest()

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="carbon-account@localhost")
# Where links in emails point (the address people open the site at).
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")

# --- Security: safe unless DEBUG is asked for -------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Content-Security-Policy (django-csp) ---------------------------------------------------------
# Scripts and styles come only from our own static files: no page has inline script, event
# handler or style attribute. data: images are allauth's TOTP QR code. The API docs page
# (config/api_urls.py) relaxes styles for Swagger UI.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Language and time ------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".data" / "media")

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api.CredentialAuthentication",
        "config.api.SessionAuthenticationWith401",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["config.api.StrictJSONParser", "config.api.NDJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["config.api.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["config.api.CredentialRateThrottle"],
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "1+N carbon account API",
    "DESCRIPTION": "Business-line systems record behaviours and read totals; people read their accounts. See docs/api.md.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",  # served from the package: no CDN, works offline
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}
# The API's per-address throttle reads the client's address as sign-in throttling does.
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=8 * 1024 * 1024)
API_MAX_UPLOAD_BYTES = env.int("API_MAX_UPLOAD_BYTES", default=512 * 1024 * 1024)

# --- Logging: one JSON line per request when not in DEBUG ---------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "config.request_log.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain" if DEBUG else "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # The request log replaces Django's own per-request lines.
        "django.server": {"handlers": [], "propagate": False},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "httpx": {"level": "WARNING"},
        # PDF statements: WeasyPrint and fontTools report each layout step at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
REQUEST_LOG_JSON = not DEBUG

# --- Filing with the carbon exchanges (docs/configuration.md) --------------------------------------
# Per business line: {"exchange": "seee"|"ceex", "url": ..., "member_id": ..., "key_id": ...,
# "secret": ..., "salt": ..., "period_days": 1}. Secrets come from the environment only; `make run`
# generates development ones into .data/embedded.env.
EXCHANGE_MEMBERSHIPS: dict[str, dict[str, object]] = env.json("EXCHANGE_MEMBERSHIPS", default={})
EXCHANGE_REQUEST_TIMEOUT = env.float("EXCHANGE_REQUEST_TIMEOUT", default=10.0)
EXCHANGE_MAX_ATTEMPTS = env.int("EXCHANGE_MAX_ATTEMPTS", default=8)
# How long a batch may sit in one state before the sweeper sends its next step again.
EXCHANGE_SWEEP_AFTER_SECONDS = env.int("EXCHANGE_SWEEP_AFTER_SECONDS", default=120)
# Seconds between two looks at a filing under review.
EXCHANGE_POLL_SECONDS = env.float("EXCHANGE_POLL_SECONDS", default=5.0)

# --- The platform -------------------------------------------------------------------------------
PLATFORM_TIME_ZONE = TIME_ZONE
