"""OpenPRM settings: everything comes from environment variables (see .env.example)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


VAR_DIR = Path(os.environ.get("PRM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)


def _secret_key() -> str:
    """Use PRM_SECRET_KEY, else a key generated on first start and kept in var/secret_key."""
    configured = os.environ.get("PRM_SECRET_KEY")
    if configured:
        return configured
    path = VAR_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# Fernet key(s) for data encrypted at rest (partners' payout details), comma-separated: the first
# encrypts, every one decrypts (rotation). Unset: a key derived from SECRET_KEY (HKDF-SHA256).
PRM_ENCRYPTION_KEY = os.environ.get("PRM_ENCRYPTION_KEY", "")
# Whether the SECRET_KEY-derived key still decrypts once PRM_ENCRYPTION_KEY is set: turn it off after
# `prm payout_details reseal` so a SECRET_KEY leak opens no payout details.
PRM_ENCRYPTION_DERIVED_KEY = env_bool("PRM_ENCRYPTION_DERIVED_KEY", default=True)
# The vendor as printed on self-billing invoices (commission statements): address and tax/VAT id.
PRM_VENDOR_ADDRESS = os.environ.get("PRM_VENDOR_ADDRESS", "")
PRM_VENDOR_TAX_ID = os.environ.get("PRM_VENDOR_TAX_ID", "")
DEBUG = env_bool("PRM_DEBUG")
ALLOWED_HOSTS = env_list("PRM_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("PRM_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "huey.contrib.djhuey",
    "ninja",  # serves the API docs assets locally (no CDN)
    "django_countries",
    "axes",
    "openprm.core",
    "openprm.accounts",
    "openprm.notifications",
    "openprm.partners",
    "openprm.deals",
    "openprm.activity",
    "openprm.finance",
    "openprm.customers",
    "openprm.metrics",
    "openprm.scorecards",
    "openprm.dashboards",
    "openprm.alerts",
    "openprm.reports",
    "openprm.commissions",
    "openprm.portal",
    "openprm.integrations",
    "openprm.demo",
    "openprm.bench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "openprm.core.middleware.ContentSecurityPolicyMiddleware",  # outermost: on every response
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "openprm.accounts.middleware.ScopeMiddleware",
    "openprm.core.middleware.ApiErrorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "openprm" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "openprm.accounts.context_processors.access",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'openprm.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that asks the socket, not the server (no extra round trip),
    # and prepared statements for the few hot statements run through its prepared_cursor() (Django's own
    # cursors never prepare). PRM_DB_PREPARE=false behind a pooler that cannot keep prepared statements
    # (PgBouncer in transaction mode before 1.21).
    DATABASES["default"]["ENGINE"] = "openprm.core.dbbackends.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        5 if env_bool("PRM_DB_PREPARE", True) else None
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"  # 64 MiB page cache per connection
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout after repeated failed logins (django-axes): per user name and client address.
AXES_FAILURE_LIMIT = int(os.environ.get("PRM_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("PRM_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLED = env_bool("PRM_LOGIN_LOCKOUT", True)
AXES_USERNAME_CALLABLE = "openprm.accounts.auth.lockout_username"  # e-mails count case-insensitively
# Password-reset mails per hour, per address and per client address (kept in the database).
PRM_RESET_PER_ADDRESS = int(os.environ.get("PRM_RESET_PER_ADDRESS", "3"))
PRM_RESET_PER_CLIENT = int(os.environ.get("PRM_RESET_PER_CLIENT", "10"))

# Sessions and cookies. PRM_SECURE=true is for deployments behind HTTPS.
SECURE = env_bool("PRM_SECURE")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(os.environ.get("PRM_SESSION_HOURS", "12")) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE and env_bool("PRM_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("PRM_BEHIND_PROXY") else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("PRM_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# SQLite ignores an index's INCLUDE columns (the certification rollup index covers its two counts on
# PostgreSQL; on SQLite it is a plain partial index): not worth a warning on every command.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # created above so whitenoise finds it
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "openprm.dashboards.staticfiles.NodeModulesFinder",  # the chart library from node_modules (npm lockfile)
]
MEDIA_ROOT = Path(os.environ.get("PRM_MEDIA_DIR", VAR_DIR / "media"))
MEDIA_URL = "media/"  # never served publicly; attachments go through scoped views
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("PRM_STATIC_MANIFEST", True)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
PRM_MAX_ATTACHMENT_BYTES = int(os.environ.get("PRM_MAX_ATTACHMENT_MB", "20")) * 1024 * 1024
PRM_MAX_IMPORT_BYTES = int(os.environ.get("PRM_MAX_IMPORT_MB", "200")) * 1024 * 1024

# Mail: SMTP when PRM_EMAIL_HOST is set, otherwise messages are printed by the server.
EMAIL_HOST = os.environ.get("PRM_EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("PRM_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("PRM_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("PRM_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("PRM_EMAIL_TLS")
EMAIL_TIMEOUT = 20
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("PRM_FROM_EMAIL", "OpenPRM <noreply@openprm.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Job queue (prm worker): huey, on a SQLite file shared by the web processes and the worker (embedded:
# `make run` needs nothing else). PRM_REDIS_URL (redis://host:6379/0) puts the queue on Redis instead, for
# several workers on one or more machines sharing the database: each periodic run is claimed once
# (core.jobruns). PRM_QUEUE_NAME names the queue (its Redis keys; one per installation sharing a Redis).
# PRM_QUEUE_IMMEDIATE=true runs jobs inline instead (tests, single-process development).
# Jobs are built on openprm.core.tasks; every periodic job is in config/tasks.py (the one schedule).
PRM_REDIS_URL = os.environ.get("PRM_REDIS_URL", "")
HUEY: dict[str, Any] = {
    "huey_class": "openprm.core.jobqueue.SqliteQueue",
    "name": os.environ.get("PRM_QUEUE_NAME") or "openprm",
    "filename": os.environ.get("PRM_QUEUE_FILE") or str(VAR_DIR / "queue.sqlite3"),
    "immediate": env_bool("PRM_QUEUE_IMMEDIATE"),
    "results": False,
    "utc": True,
    "consumer": {"workers": int(os.environ.get("PRM_QUEUE_WORKERS", "2")), "worker_type": "thread"},
}
if PRM_REDIS_URL:
    del HUEY["filename"]
    HUEY.update({"huey_class": "openprm.core.jobqueue.RedisQueue", "url": PRM_REDIS_URL})
# Job runs (the Jobs page, /api/v1/jobs/runs) older than this many days are pruned daily.
PRM_JOB_RUNS_KEEP_DAYS = int(os.environ.get("PRM_JOB_RUNS_KEEP_DAYS", "30"))

# Server (prm serve).
PRM_BIND = os.environ.get("PRM_BIND", "127.0.0.1:8000")
PRM_WORKERS = int(os.environ.get("PRM_WORKERS", "2"))
PRM_THREADS = int(os.environ.get("PRM_THREADS", "4"))

# Agreements whose end date falls within this many days count as "expiring soon".
PRM_EXPIRING_DAYS = int(os.environ.get("PRM_EXPIRING_DAYS", "60"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PRM_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_PER_PAGE_SIZE = 500
