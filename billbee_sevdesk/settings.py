"""Settings for billbee-sevdesk.

Every value comes from the environment (or a `.env` file beside `manage.py`) through
django-environ. `APP_ENV` picks the mode:

- ``development`` (default): runs on a laptop with nothing installed — SQLite in ``DATA_DIR``,
  a Celery broker on the file system, the sandbox Billbee and sevDesk.
- ``test``: the default under pytest; like development, but with an in-memory broker and a
  throw-away data directory unless ``DATABASE_URL``/``REDIS_URL`` say otherwise.
- ``production``: every secret and address must be given; a missing or malformed one stops
  the start with ``ImproperlyConfigured`` instead of running on a silent default.
"""

import base64
import hashlib
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# Under pytest the default is "test", so a test run never touches a developer's data or queue.
APP_ENV = env.str("APP_ENV", default="test" if "pytest" in sys.modules else "development")
if APP_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"APP_ENV must be development, test or production, not {APP_ENV!r}.")
PRODUCTION = APP_ENV == "production"
TESTING = APP_ENV == "test"


def required(name: str, cast=env.str):
    """Read a value that production cannot run without, and say clearly which one is missing."""
    if name not in env.ENVIRON or not env.str(name).strip():
        raise ImproperlyConfigured(f"{name} must be set when APP_ENV=production.")
    try:
        return cast(name)
    except (ValueError, environ.ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"{name} is malformed: {exc}") from exc


_default_data_dir = (
    tempfile.mkdtemp(prefix="billbee-sevdesk-test-") if TESTING else BASE_DIR / "data"
)
DATA_DIR = Path(env.str("DATA_DIR", default=str(_default_data_dir)))
if not PRODUCTION:
    DATA_DIR.mkdir(parents=True, exist_ok=True)

# --- Security ------------------------------------------------------------------------------

if PRODUCTION:
    SECRET_KEY = required("SECRET_KEY")
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 50 characters.")
    ALLOWED_HOSTS = required("ALLOWED_HOSTS", lambda name: env.list(name))
    DEBUG = env.bool("DEBUG", default=False)
else:
    SECRET_KEY = env.str(
        "SECRET_KEY", default="django-insecure-local-development-only-never-use-in-production"
    )
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
    DEBUG = env.bool("DEBUG", default=not TESTING)

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])


def _encryption_keys() -> list[str]:
    """Fernet keys for secrets at rest (API tokens, passwords); the first one encrypts.

    Several comma-separated keys allow rotation: add the new key in front, keep the old ones
    until every secret has been saved again.
    """
    if PRODUCTION:
        keys = required("ENCRYPTION_KEYS", lambda name: env.list(name))
    else:
        derived = base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
        keys = env.list("ENCRYPTION_KEYS", default=[derived])
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                "ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes); "
                'make one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            ) from exc
    return keys


ENCRYPTION_KEYS = _encryption_keys()

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is hard to undo and the operator's call for their domain, not ours.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # The health check is polled over plain HTTP inside the container network.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# /health/ answers anyone with "ok"/"fail" only; the details (what failed, which workers are
# alive) need a staff login or "Authorization: Bearer <HEALTH_TOKEN>". Empty: staff only.
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")

# --- Applications --------------------------------------------------------------------------

# The simulated Billbee and sevDesk (under /sandbox/) for demos and tests: their apps, tables,
# pages and admin exist only while this is on. Production refuses to run with it (the system
# check sandbox.E001 fails `manage.py check --deploy` and `migrate`).
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=not PRODUCTION)
SANDBOX_APPS = ["sandbox", "sandbox.sevdesk", "sandbox.billbee"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "axes",
    "core",
    "merchants",
    "orders",
    "connections",
    "accounts_mapping",
    "exports",
    "reconciliation",
    "dashboard",
    *(SANDBOX_APPS if SANDBOX_ENABLED else []),
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "merchants.middleware.CurrentMerchantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a lockout into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "billbee_sevdesk.urls"
WSGI_APPLICATION = "billbee_sevdesk.wsgi.application"

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
                "merchants.context_processors.current_merchant",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------------


def database_url(name: str) -> dict:
    scheme = env.str(name).split("://", 1)[0]
    if scheme not in environ.Env.DB_SCHEMES:
        raise ValueError(f"unknown database scheme {scheme!r} (use postgres:// or sqlite://)")
    return env.db_url(name)


if PRODUCTION:
    DATABASES = {"default": required("DATABASE_URL", database_url)}
else:
    DATABASES = {
        "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: WAL lets readers run beside the writer,
    # IMMEDIATE transactions take the write lock up front instead of failing half-way.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    # Tests run live servers and threads; persistent connections there outlive the test
    # database and block its teardown.
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if TESTING else env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ----------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Password guessing (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one user
# name from one IP address, that pair is locked out for LOGIN_LOCKOUT_MINUTES, on the login
# page and the admin's alike (they share the count). A successful login resets the count.
# Locking per pair keeps others at the same address (an office) able to log in, and keeps a
# guesser from locking a user out from everywhere. Staff unlock early under Admin → Axes or
# with `manage.py axes_reset_username <name>`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out pairs before checking
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.views.login_locked_out"
AXES_HTTP_RESPONSE_CODE = 429
# Behind reverse proxies the client's address is in X-Forwarded-For: set LOGIN_PROXY_COUNT to
# the number of proxies in front that append to it (1 for one TLS proxy); 0 uses REMOTE_ADDR.
LOGIN_PROXY_COUNT = env.int("LOGIN_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "core.views.login_client_ip"

# --- Language and time ---------------------------------------------------------------------

LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Berlin"
USE_TZ = True

# --- Static and uploaded files -------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
MEDIA_URL = "media/"
WHITENOISE_USE_FINDERS = not PRODUCTION  # serve straight from the apps' folders while developing
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Celery --------------------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if PRODUCTION:
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL) or required("REDIS_URL")
elif TESTING:
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
else:
    # No server needed: kombu's file-system transport keeps messages as files in DATA_DIR.
    # It only works while web, worker and beat run on one machine; production uses Redis.
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")

if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Else kombu keeps its exchange tables in ./control, wherever the process was started.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Longer than the longest countdown we schedule, so Redis does not redeliver early.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60 * 2}

# Under test a queue of its own, so a developer's worker never picks up a test's messages.
CELERY_TASK_DEFAULT_QUEUE = env.str(
    "CELERY_TASK_DEFAULT_QUEUE", default="billbee-sevdesk-test" if TESTING else "celery"
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # outcomes live in our own tables
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False

# How often the scheduled jobs run (minutes); written into django-celery-beat on first start,
# editable afterwards in the admin under "Periodic tasks".
BILLBEE_SYNC_INTERVAL_MINUTES = env.int("BILLBEE_SYNC_INTERVAL_MINUTES", default=2)
SEVDESK_EXPORT_INTERVAL_MINUTES = env.int("SEVDESK_EXPORT_INTERVAL_MINUTES", default=15)
# Seconds between the attempts of a failing export (after attempts 1…7; the 8th gives up) and
# the growing pauses of a connection during a sevDesk outage. Empty: the built-in schedules
# (about a day in all; see exports/delivery.py). Tests shorten them.
EXPORT_RETRY_DELAYS = env.list("EXPORT_RETRY_DELAYS", cast=int, default=[])
EXPORT_OUTAGE_PAUSES = env.list("EXPORT_OUTAGE_PAUSES", cast=int, default=[])

# --- Billbee and sevDesk -------------------------------------------------------------------

# Where this installation is reachable; the sandbox APIs are served by the app itself.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# The sandbox Billbee throttles like the real one (2 requests/s per endpoint, then 429).
SANDBOX_BILLBEE_THROTTLE = env.bool("SANDBOX_BILLBEE_THROTTLE", default=True)
# Milliseconds the sandbox Billbee waits before every answer, as the real one's round trip
# (bench/latency.py); 0 answers at once.
SANDBOX_BILLBEE_LATENCY_MS = env.int("SANDBOX_BILLBEE_LATENCY_MS", default=0)
# Without real credentials a laptop installation talks to the sandbox.
_use_sandbox = SANDBOX_ENABLED and not PRODUCTION
# Tests point the clients at a sandbox explicitly; by default they reach nothing (port 9
# refuses at once), never a developer's running instance.
_api_site = "http://127.0.0.1:9" if TESTING else SITE_URL
BILLBEE_API_BASE_URL = env.str(
    "BILLBEE_API_BASE_URL",
    default=f"{_api_site}/sandbox/billbee/api/v1"
    if _use_sandbox
    else "https://app.billbee.io/api/v1",
)
SEVDESK_API_BASE_URL = env.str(
    "SEVDESK_API_BASE_URL",
    default=f"{_api_site}/sandbox/sevdesk/api/v1"
    if _use_sandbox
    else "https://my.sevdesk.de/api/v1",
)
# sevDesk's web app, for links to a voucher ("…/#/ex/detail/id/<id>").
SEVDESK_APP_URL = env.str("SEVDESK_APP_URL", default="https://my.sevdesk.de")
# The incremental sync asks Billbee for orders changed since the last run minus this overlap.
BILLBEE_SYNC_OVERLAP_MINUTES = env.int("BILLBEE_SYNC_OVERLAP_MINUTES", default=10)
# A sync run without a sign of life for this long is taken as dead and resumed.
BILLBEE_SYNC_STALE_MINUTES = env.int("BILLBEE_SYNC_STALE_MINUTES", default=15)
BILLBEE_TIMEOUT_SECONDS = env.float("BILLBEE_TIMEOUT_SECONDS", default=30)
SEVDESK_TIMEOUT_SECONDS = env.float("SEVDESK_TIMEOUT_SECONDS", default=30)
# sevDesk documents no limit but blocks error-heavy tokens: stay modest per token.
SEVDESK_REQUESTS_PER_SECOND = env.float("SEVDESK_REQUESTS_PER_SECOND", default=5)

# --- Logging -------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # failures and lockouts; not every successful login
    },
}
