"""Settings for mechgrade, read from the environment with safe defaults.

Environment:
  MECHGRADE_DATA_DIR  where runtime state lives (SQLite file, secret key, broker socket); default ./var
  DATABASE_URL        e.g. postgres://user@127.0.0.1:5432/mechgrade; default SQLite in the data folder
  REDIS_URL           the Celery broker; unset means the private Redis that `scripts/run` starts
  SECRET_KEY          unset means a key generated once and kept in the data folder (never committed)
  DEBUG               "1"/"true" turns debug on; off by default
  ALLOWED_HOSTS       comma-separated; default 127.0.0.1,localhost
  MECHGRADE_DEMO      "1" lets `manage.py seed_demo` create demo accounts; never set it in production
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("MECHGRADE_DATA_DIR", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Use SECRET_KEY if given, else a key generated once and kept (0600) in the data folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_flag("DEBUG")
DEMO_MODE = _env_flag("MECHGRADE_DEMO")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",  # log-in throttling (see "Log-in throttling" below)
    "ninja",  # Swagger UI for /api/docs from its bundled static files, not from a CDN
    "accounts",
    "courses",
    "grader",
    "workers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes asks: turns a lock into AXES_LOCKOUT_CALLABLE's page
]

ROOT_URLCONF = "config.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'mechgrade.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and the sweeper share the file without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "courses:catalog"
LOGOUT_REDIRECT_URL = "courses:catalog"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _env_flag("SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Celery (broker: Redis). See workers/celery_app.py for the app itself. ---
# Unset REDIS_URL means the private Redis started by scripts/run on a unix socket in the data folder.
REDIS_URL = os.environ.get("REDIS_URL", f"redis+socket://{DATA_DIR / 'redis.sock'}")
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ACKS_LATE = True  # at-least-once: a task is acknowledged only after it finished
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # a killed worker's task goes back to the queue
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longer than the longest grading limit (grader.models.submissions.MAX_WALL_SECONDS), or Redis redelivers running tasks.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))}
# Per-learner limits and the sweeper (grader.submissions.services); the sweeper runs inside `manage.py serve_all`.
GRADER_MAX_PENDING = int(os.environ.get("GRADER_MAX_PENDING", "3"))  # queued or running at once
GRADER_RATE_LIMIT = int(os.environ.get("GRADER_RATE_LIMIT", "10"))  # submissions per learner per minute
GRADER_QUEUED_TIMEOUT = float(os.environ.get("GRADER_QUEUED_TIMEOUT", "300"))  # resend if not picked up by then
GRADER_RUNNING_GRACE = float(os.environ.get("GRADER_RUNNING_GRACE", "30"))  # beyond the wall limit: the worker died
# The private Redis (workers.broker) refuses writes beyond this instead of evicting anything (noeviction).
REDIS_MAXMEMORY = os.environ.get("REDIS_MAXMEMORY", "512mb")
# A playground run counts against its learner's GRADER_MAX_PENDING until it finished, or this long.
PLAYGROUND_PENDING_TIMEOUT = float(os.environ.get("PLAYGROUND_PENDING_TIMEOUT", "600"))
GRADER_MAX_DELIVERIES = int(os.environ.get("GRADER_MAX_DELIVERIES", "3"))  # then give up with state `error`

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Log-in throttling: django-axes, in the database (axes.AccessAttempt) so every server process shares it.
# Five failed log-ins within 15 minutes for one username (from any address), or from one address (for any
# usernames), lock it for 15 minutes after the last one, even for the right password; the admin's log-in
# shares it. axes has one AXES_FAILURE_LIMIT for every lockout parameter, so the address limit is also 5.
# A success resets that username's failures. Staff lift a lock in the admin (Axes › Access attempts) or with
# `manage.py axes_reset_username USERNAME` / `axes_reset_ip ADDRESS`.
AUTHENTICATION_BACKENDS = ["accounts.backends.AxesBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # no row per successful log-in (nothing here reads them)
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # refused tries while locked do not extend the lock
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"  # 429 saying when to retry
# The client's address is REMOTE_ADDR only: behind a reverse proxy, have the proxy set it (X-Forwarded-For
# is not trusted).
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
AXES_IPWARE_PROXY_COUNT = None

# Sign-up throttling (accounts.throttle): new accounts per address per window.
SIGNUP_THROTTLE_WINDOW = float(os.environ.get("SIGNUP_THROTTLE_WINDOW", str(60 * 60)))  # seconds
SIGNUPS_PER_ADDRESS = int(os.environ.get("SIGNUPS_PER_ADDRESS", "10"))

# Longest answers accepted (grader.text_input): per numeric answer part, and per written (self-assessed) answer.
ANSWER_MAX_CHARS = int(os.environ.get("ANSWER_MAX_CHARS", "1000"))
WRITTEN_ANSWER_MAX_CHARS = int(os.environ.get("WRITTEN_ANSWER_MAX_CHARS", "20000"))
