"""Django settings for one Relief site, built from its site config (see relief.config)."""

from __future__ import annotations

import os
from pathlib import Path

import pymysql
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from relief import config

pymysql.install_as_MySQLdb()

try:
    SITE_CONFIG = config.load()
    _DB = config.parse_db_url(SITE_CONFIG.db_url, SITE_CONFIG.site_dir)
    RELIEF_LIMITS = SITE_CONFIG.limits
except config.ConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from exc

BASE_DIR = Path(__file__).resolve().parent
RELIEF_SITE = SITE_CONFIG.site
RELIEF_REDIS_URL = SITE_CONFIG.redis_url
RELIEF_QUEUE_PREFIX = SITE_CONFIG.queue_prefix
RELIEF_ORGANISATION = SITE_CONFIG.organisation
RELIEF_DOMAIN_APPS = ["inventory", "households", "shelter", "distribution", "replenishment", "accountability"]
# Feedback: days to close a case, by category (a sensitive case is due sooner), and the roles that see
# sensitive cases besides the person each is assigned to.
RELIEF_FEEDBACK_DUE_DAYS = {"complaint": 7, "question": 3, "request": 14, "appreciation": 14, "sensitive": 2,
                            **SITE_CONFIG.raw.get("feedback_due_days", {})}
RELIEF_SENSITIVE_FEEDBACK_ROLES = SITE_CONFIG.raw.get("sensitive_feedback_roles", ["Administrator"])
# Purchase requests: who approves, by total in US dollars (the first row whose limit the total is within;
# a null limit is the top), and the rates that convert other currencies to US dollars (approx.).
RELIEF_PURCHASE_APPROVAL = SITE_CONFIG.raw.get("purchase_approval", [
    {"up_to_usd": 5000, "role": "Logistics Manager"}, {"up_to_usd": None, "role": "Administrator"}])
RELIEF_USD_RATES = {"USD": "1", "TZS": "0.0004", "EUR": "1.08", "CHF": "1.12", "GBP": "1.27",
                    **SITE_CONFIG.raw.get("usd_rates", {})}

SECRET_KEY = SITE_CONFIG.secret_key
DEBUG = SITE_CONFIG.debug
ALLOWED_HOSTS = ["*"] if DEBUG else SITE_CONFIG.raw.get("allowed_hosts", ["127.0.0.1", "localhost", "[::1]"])
if SITE_CONFIG.site and SITE_CONFIG.site not in ALLOWED_HOSTS:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, SITE_CONFIG.site]
CSRF_TRUSTED_ORIGINS = SITE_CONFIG.raw.get("csrf_trusted_origins", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "simple_history",
    "django_rq",
    "axes",
    "csp",
    # Its Swagger UI from local static files (without the app, ninja's docs page loads them from a CDN).
    "ninja",
    "relief.core",
    *[f"relief.{app}" for app in RELIEF_DOMAIN_APPS],
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "relief.core.middleware.NotFoundMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into a clear refusal.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "relief.urls"
WSGI_APPLICATION = "relief.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "relief.core.context_processors.relief",
            ],
        },
    }
]

DATABASES = {"default": config.django_database(_DB)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if RELIEF_REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": RELIEF_REDIS_URL,
            "KEY_PREFIX": f"relief:{RELIEF_SITE or 'nosite'}:{RELIEF_QUEUE_PREFIX}",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    # With Redis down the cache misses instead of failing the page; /health/ shows the outage.
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Queue names carry the prefix so test runs and sites sharing one Redis never see each other's jobs.
RELIEF_QUEUES = ["short", "default", "long"]
RQ_QUEUES = {
    f"{RELIEF_QUEUE_PREFIX}{name}": {"URL": RELIEF_REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 3600}
    for name in RELIEF_QUEUES
}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Five wrong passwords for one username from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "home"

LANGUAGE_CODE = SITE_CONFIG.language
LANGUAGES = [("en", _("English")), ("sw", _("Kiswahili")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = SITE_CONFIG.time_zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Assets are served by the app itself, from the package: field sites have no CDN.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_ROOT = str(SITE_CONFIG.files_dir) if (SITE_CONFIG.site_dir or os.environ.get("RELIEF_FILES_DIR")) else ""

# Behind TLS in production set "https": true in the site config: cookies then travel only over HTTPS.
RELIEF_HTTPS = config._as_bool("https", SITE_CONFIG.raw.get("https", False))
SESSION_COOKIE_SECURE = RELIEF_HTTPS
CSRF_COOKIE_SECURE = RELIEF_HTTPS
SECURE_SSL_REDIRECT = RELIEF_HTTPS and SITE_CONFIG.raw.get("ssl_redirect", True)
SECURE_HSTS_SECONDS = 31536000 if RELIEF_HTTPS else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if RELIEF_HTTPS else None
SESSION_COOKIE_HTTPONLY = True
# Pages read the CSRF token from the form or the csrf meta tag, never from the cookie.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# No inline script anywhere: every script is a static file of the project.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'wasm-unsafe-eval'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}


def _whole_number(name: str, default: int, low: int, high: int) -> int:
    value = SITE_CONFIG.raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ImproperlyConfigured(f"site config {name}: give a whole number from {low} to {high}")
    return value


# The scanning station: how long the camera leaves a card it has just judged alone, and when the offline
# list counts as out of date.
RELIEF_SCAN_REPEAT_SECONDS = _whole_number("scan_repeat_seconds", 10, 1, 600)
RELIEF_SCAN_STALE_MINUTES = _whole_number("scan_stale_minutes", 60, 1, 7 * 24 * 60)

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
