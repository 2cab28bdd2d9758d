"""Settings for Privacy Portal.

Every value comes from the environment (see `.env.example` and the README's table).
Unset values fall back to safe local defaults; `DJANGO_ENV=production` turns the
production safety switches on and makes the secrets mandatory. A malformed value
stops start-up with a message naming the variable.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="")
    if raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(
        f"Environment variable {name} must be a boolean (true/false, 1/0, yes/no, on/off), got {raw!r}."
    )


def _int(name: str, default: int) -> int:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"Environment variable {name} must be a whole number, got {raw!r}.") from None


DJANGO_ENV = env.str("DJANGO_ENV", default="local")
if DJANGO_ENV not in {"local", "test", "production"}:
    raise ImproperlyConfigured(
        f"Environment variable DJANGO_ENV must be local, test or production, got {DJANGO_ENV!r}."
    )
PRODUCTION = DJANGO_ENV == "production"

DEBUG = _bool("DJANGO_DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("Environment variable DJANGO_DEBUG must be off when DJANGO_ENV=production.")

if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("Environment variable SECRET_KEY must be set (50+ characters) in production.")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Environment variable ALLOWED_HOSTS must be set in production.")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="local-only-insecure-key-" + "x" * 40)
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "guardian",
    "simple_history",
    "django_htmx",
    "csp",
    "privacy_portal",
    "customers",
    "requests.apps.RequestsConfig",
    # Demo and scale data (seed_demo, seed_scale, seed_scale_cases): commands only, no models.
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's, but a session that cannot be saved after the view never hides a committed change.
    "privacy_portal.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "privacy_portal.middleware.SessionTimeoutMiddleware",
    "privacy_portal.middleware.NoStoreMiddleware",
    # After the session checks: the permissions a request reads once (privacy_portal/auth.py).
    "privacy_portal.auth.PermissionCacheMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "privacy_portal.middleware.ErrorPageMiddleware",
    # Axes last, as its documentation asks, so it sees the final authentication outcome.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "privacy_portal.urls"
WSGI_APPLICATION = "privacy_portal.wsgi.application"

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
                "privacy_portal.context_processors.portal",
                "privacy_portal.context_processors.abilities",
                "privacy_portal.context_processors.legal_figures",
            ],
        },
    }
]

# Database: unset means an embedded SQLite file so `make run` works with no server.
# PostgreSQL is the production and test database.
try:
    DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
except (environ.ImproperlyConfigured, ValueError, KeyError) as exc:
    raise ImproperlyConfigured(f"Environment variable DATABASE_URL has a bad value: {exc}") from exc
if not DATABASES["default"].get("ENGINE"):
    raise ImproperlyConfigured("Environment variable DATABASE_URL has an unknown scheme.")
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = _int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0)
# With persistent connections, check one is alive before a request reuses it: after the
# database restarts or drops connections, the next request reconnects instead of failing.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "privacy_portal.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "privacy_portal.auth.PortalModelBackend",
    # guardian's, each object's grants read once per request (privacy_portal/auth.py).
    "privacy_portal.auth.PortalObjectPermissionBackend",
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# guardian: no anonymous user object; we never grant anything to anonymous visitors.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# Second factor (TOTP). On by default in production, off in the local demo.
PORTAL_REQUIRE_MFA = _bool("PORTAL_REQUIRE_MFA", default=PRODUCTION)
OTP_TOTP_ISSUER = "Privacy Portal"

# Brute-force lockout (django-axes): lock the username after a few failures.
AXES_FAILURE_LIMIT = _int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=_int("AXES_COOLOFF_MINUTES", 30))
# By username only: the call centre shares one public IP address, and locking by IP would
# lock every agent out after five typos by any one of them.
AXES_LOCKOUT_PARAMETERS = ["username"]
# guardian.W001: guardian's check looks for its own backend by name; ours subclasses it, so it is hooked.
SILENCED_SYSTEM_CHECKS = ["axes.W006", "guardian.W001"]
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_HTTP_RESPONSE_CODE = 403
AXES_RESET_ON_SUCCESS = True
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]
AXES_ENABLED = _bool("AXES_ENABLED", default=True)
AXES_VERBOSE = False

# Sessions: NIST SP 800-63B AAL2 -- reauthenticate after 30 minutes idle and 12 hours in all.
# Fixed, not configurable: the messages staff see and the security policy both say so.
SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "privacy_portal.views.accounts.csrf_failure"

# Production safety switches.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content-Security-Policy: nothing inline, nothing from elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "d/m/Y"
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d %m %Y"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# History change reasons are free text (a DPO's sign-off note can be long): a text column, not 100 characters.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# Private files (identity documents, exports, suppression feeds): never under a public URL,
# served only through access-checked views.
PRIVATE_STORAGE_ROOT = Path(env.str("PRIVATE_STORAGE_ROOT", default=str(BASE_DIR / "private")))
# The replay ledger of erasures and purges (privacy_portal/services/replay.py): outside the database, so a
# restored backup can be brought up to date; on storage backed up apart from the database.
REPLAY_LEDGER_PATH = Path(env.str("REPLAY_LEDGER_PATH", default=str(PRIVATE_STORAGE_ROOT / "replay-ledger.jsonl")))
WHITENOISE_USE_FINDERS = not PRODUCTION

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = _int("EMAIL_PORT", 25)
# Where staff reach the portal: used in links the portal emails (set-password links).
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = _bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = _bool("EMAIL_USE_SSL", default=False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set only one of EMAIL_USE_TLS (STARTTLS, port 587) and EMAIL_USE_SSL (port 465).")
# A public form waits for the acknowledgement to be handed to the mail server: never for ever.
EMAIL_TIMEOUT = _int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="privacy-portal@localhost")
# The company's name on the public pages and in the emails they send.
COMPANY_NAME = env.str("COMPANY_NAME", default="The London Mint Office")

# The public forms' rate limits (django-ratelimit) count in a cache shared by every web
# worker: Redis in production (RATELIMIT_CACHE_URL, or the Celery broker's Redis); locally, an
# in-process cache. With the cache unreachable the forms stay open (the law requires them to
# be available) and the failure is logged.
RATELIMIT_CACHE_URL = env.str("RATELIMIT_CACHE_URL", default="")
RATELIMIT_ENABLE = _bool("PUBLIC_RATE_LIMITS", default=True)
RATELIMIT_USE_CACHE = "ratelimit"
RATELIMIT_FAIL_OPEN = True
DPO_EMAIL = env.str("DPO_EMAIL", default="dpo@localhost")

# Celery: unset broker means tasks run eagerly in-process so the demo needs no broker.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
if CELERY_BROKER_URL and not CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured("Environment variable CELERY_BROKER_URL must be a redis:// or rediss:// URL.")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
_ratelimit_redis = RATELIMIT_CACHE_URL or CELERY_BROKER_URL
if _ratelimit_redis and not _ratelimit_redis.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured("Environment variable RATELIMIT_CACHE_URL must be a redis:// or rediss:// URL.")
if PRODUCTION and not _ratelimit_redis:
    raise ImproperlyConfigured("Set RATELIMIT_CACHE_URL (or CELERY_BROKER_URL): the public forms' limits need Redis.")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    RATELIMIT_USE_CACHE: (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _ratelimit_redis,
            "KEY_PREFIX": "pp-ratelimit",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
        if _ratelimit_redis
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ratelimit"}
    ),
}
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Lose nothing: acknowledge after the task ran, requeue when a worker dies mid-task
# (our tasks are idempotent), and never let one task hang a worker for ever.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = _int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = _int("CELERY_TASK_TIME_LIMIT", 360)
if not 0 < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_SOFT_TIME_LIMIT must be positive and below CELERY_TASK_TIME_LIMIT.")
# Redis hands an unacknowledged message to another worker once it has been out this long. A
# live worker never runs a task past the hard time limit, so anything above it never
# duplicates running work; the margin covers the wait for a free pool process and the ack
# itself. Kept just above the limit (not Celery's default hour) so that the work of a worker
# killed as a whole comes back within minutes. Every task here is idempotent; none uses an
# ETA or countdown (Redis would redeliver those after this timeout too).
CELERY_VISIBILITY_MARGIN_SECONDS = 60
CELERY_VISIBILITY_TIMEOUT = _int("CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + CELERY_VISIBILITY_MARGIN_SECONDS)
if CELERY_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must be above CELERY_TASK_TIME_LIMIT.")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # Workers look for such messages every 10 s (kombu's interval) rather than every 10th look
    # (~100 s): one cheap sorted-set read, so a dead worker's task returns within 10 s of the timeout.
    "unacked_restore_throttle": 1,
    # An unreachable broker must not hang the page that enqueues: fail fast, the outbox keeps the work.
    "socket_connect_timeout": 3,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# The outbox sweep sends again a background request not started this long after it was sent.
OUTBOX_REQUEUE_AFTER_SECONDS = _int("OUTBOX_REQUEUE_AFTER_SECONDS", 120)
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.security": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "portal.security": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# Keyed hash for the suppression list (HMAC-SHA256). Changing it orphans every entry, so
# it is set once per installation and kept secret; required in production.
SUPPRESSION_HASH_KEY = env.str("SUPPRESSION_HASH_KEY", default="" if PRODUCTION else "local-suppression-key")
if PRODUCTION and len(SUPPRESSION_HASH_KEY) < 32:
    raise ImproperlyConfigured("Environment variable SUPPRESSION_HASH_KEY must be set (32+ characters) in production.")
# Key of the access log's signatures (HMAC-SHA256): the scrub entries' records of what erasure
# redacted beside the log, and the checkpoint of the chain's head written outside the database.
# Kept out of the database, so that someone who can write to it cannot forge either.
AUDIT_LOG_KEY = env.str("AUDIT_LOG_KEY", default="" if PRODUCTION else "local-audit-log-key")
if PRODUCTION and len(AUDIT_LOG_KEY) < 32:
    raise ImproperlyConfigured("Environment variable AUDIT_LOG_KEY must be set (32+ characters) in production.")
# Shared secret of the SMS gateway's inbound webhook (HMAC-SHA256 over the body).
SMS_WEBHOOK_SECRET = env.str("SMS_WEBHOOK_SECRET", default="" if PRODUCTION else "local-sms-secret")
if PRODUCTION and len(SMS_WEBHOOK_SECRET) < 32:
    raise ImproperlyConfigured("Environment variable SMS_WEBHOOK_SECRET must be set (32+ characters) in production.")

# The address customers and the gateways reach the public pages at (/p/...), as they see it: behind
# a proxy or load balancer the request that reaches Django names another scheme, host or port, and
# Twilio signs the URL it called. Also the origin of the signed one-click unsubscribe URLs the
# List-Unsubscribe export gives the email platform. Unset: the request's own URL (local use).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")
if PUBLIC_BASE_URL and not PUBLIC_BASE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("Environment variable PUBLIC_BASE_URL must be an http:// or https:// URL.")
# The mailbox that takes unsubscribe emails, given as the List-Unsubscribe export's mailto (RFC
# 2369) beside the one-click URL; unset: the URL only (RFC 8058 needs only the URL).
LIST_UNSUBSCRIBE_MAILTO = env.str("LIST_UNSUBSCRIBE_MAILTO", default="").strip()
if LIST_UNSUBSCRIBE_MAILTO and not re.fullmatch(r"[^@\s<>?,\"]+@[^@\s<>?,\"]+\.[A-Za-z]{2,}", LIST_UNSUBSCRIBE_MAILTO):
    raise ImproperlyConfigured("Environment variable LIST_UNSUBSCRIBE_MAILTO must be one plain email address.")
# The SMS gateways' own webhooks (customers/services/sms_gateways.py); an unset secret refuses
# every request to that gateway's receiver.
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
VONAGE_SIGNATURE_SECRET = env.str("VONAGE_SIGNATURE_SECRET", default="")
VONAGE_SIGNATURE_METHOD = env.str("VONAGE_SIGNATURE_METHOD", default="md5hash")
if VONAGE_SIGNATURE_METHOD not in ("md5hash", "md5", "sha1", "sha256", "sha512"):
    raise ImproperlyConfigured(
        "Environment variable VONAGE_SIGNATURE_METHOD must be one of md5hash, md5, sha1, sha256, sha512."
    )
# SendGrid's Event Webhook verification key: the base64 public key of "Signed Event Webhook
# Requests" in SendGrid's Mail Settings (customers/services/email_events.py); unset refuses it.
SENDGRID_WEBHOOK_PUBLIC_KEY = "".join(env.str("SENDGRID_WEBHOOK_PUBLIC_KEY", default="").split())
ESENDEX_PUSH_SECRET = env.str("ESENDEX_PUSH_SECRET", default="")
ESENDEX_PUSH_USERNAME = env.str("ESENDEX_PUSH_USERNAME", default="")
ESENDEX_PUSH_PASSWORD = env.str("ESENDEX_PUSH_PASSWORD", default="")
if PRODUCTION and ESENDEX_PUSH_SECRET and len(ESENDEX_PUSH_SECRET) < 32:
    raise ImproperlyConfigured("Environment variable ESENDEX_PUSH_SECRET must be 32+ characters.")

# Access exports' "who has seen your data" names staff by role only, unless the DPO chooses names too.
EXPORT_NAMES_STAFF = _bool("EXPORT_NAMES_STAFF", default=False)

# Demo sign-in password for `seed_demo` (generated and printed when unset).
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="")
