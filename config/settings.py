"""Settings for Resonance, every deployment difference read from the environment.

With nothing set this is the embedded default: SQLite in the project folder,
Celery tasks run eagerly in the web process, media in ``./media``, DEBUG on.
``.env.example`` lists every variable.
"""
import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if DEBUG:
    SECRET_KEY = SECRET_KEY or "django-insecure-development-only-key-do-not-deploy"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "testserver"]
else:
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "DEBUG is off but SECRET_KEY is not set: set SECRET_KEY to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DEBUG is off but ALLOWED_HOSTS is not set: list the host names this site answers to, "
            "comma-separated (ALLOWED_HOSTS=study.example.org)."
        )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "recommender",
    "explanations",
    "study",
    "research",
]

MIDDLEWARE = [
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before sessions and authentication: an address past its refused API requests costs nothing more.
    "config.api_throttle.RefusedApiRequestThrottle",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # It answers a locked-out admin login itself, before anything below runs.
    "axes.middleware.AxesMiddleware",
    # Innermost, so its process_exception sees a view's database error first: a friendly 503, not a 500.
    "config.database_unavailable.DatabaseUnavailableMiddleware",
]

# Admin logins: after AXES_FAILURE_LIMIT wrong passwords for one user from one address, that pair is locked
# out for AXES_COOLOFF_HOURS (django-axes; each attempt is logged in the admin's Axes pages).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_HOURS", 1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Behind a proxy, the client's address is the X-Forwarded-For hop this many from the right (0: REMOTE_ADDR).
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0)
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_HOPS or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if TRUSTED_PROXY_HOPS else ["REMOTE_ADDR"]

# Content-Security-Policy: scripts and everything else from this site only; no inline script anywhere
# (the pages' JS is the ES modules in static/js/study/; the API docs use drf-spectacular's split view).
# Inline styles stay allowed (admin templates and figure pages use them); images may be data: URIs
# (report figures).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        # A pooled connection is checked before reuse: after a database restart the first request of each
        # worker gets a fresh connection instead of an error.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        # SQLite allows one writer at a time. A transaction that starts as a reader and
        # later writes cannot wait for the lock (waiting could deadlock), so SQLite fails
        # it at once with "database is locked", whatever the timeout. IMMEDIATE takes the
        # write lock at BEGIN, where waiting is safe, so every atomic block queues for up
        # to ``timeout`` seconds instead.
        transaction_mode="IMMEDIATE",
        timeout=20,
        # WAL lets readers go on while one request writes; NORMAL syncs at checkpoints,
        # not every commit, which WAL keeps consistent (a power cut may lose the last commits).
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
    # Tests get a file, not Django's default shared-cache in-memory database: there a
    # locked table fails at once and WAL does not apply, so live-server tests would not
    # exercise what participants meet. One file per process, removed after the run.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"resonance-test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
# Media (clips, spectrogram files, explanation figures) is served by Django itself:
# participants' pages need it in every deployment, and files are named by content
# hash, so a front proxy may cache them forever. SERVE_MEDIA=false hands it to a proxy.
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "config.storage.StaticStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Uploaded catalogs (CSV + zip of clips) may be large; Django's 2.5 MB form default is for forms.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Fetching preview clips from URLs: seconds to wait for a server, and the largest clip accepted.
CLIP_FETCH_TIMEOUT = env_int("CLIP_FETCH_TIMEOUT", 15)
# Clips are fetched from public addresses only (no loopback, private, link-local...): host names listed here
# (comma-separated, e.g. a lab's own mirror, clips.lab.internal) may resolve to internal ones.
CLIP_FETCH_ALLOWED_HOSTS = frozenset(h.lower().rstrip(".") for h in env_list("CLIP_FETCH_ALLOWED_HOSTS"))
CLIP_MAX_BYTES = env_int("CLIP_MAX_BYTES", 20 * 1024 * 1024)
# The most one upload (a catalog CSV, or a zip of clips, also once unpacked) may hold; every clip, fetched,
# uploaded or imported from a folder, is at most CLIP_MAX_BYTES and must decode as audio.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 1024 * 1024 * 1024)

# Participants keep their place through the session cookie for the length of a study.
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
SESSION_COOKIE_SAMESITE = "Lax"

# Production hardening: on unless DEBUG, each switch overridable for a proxy set-up.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS")

# Celery: with no broker configured, tasks run eagerly in the calling process.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or (CELERY_BROKER_URL or None)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
# Without a broker, jobs a participant waits for (recommendations) run in a thread of the web
# process, so the page that asked returns at once and shows progress; off: in the request itself.
EAGER_JOBS_IN_BACKGROUND = env_bool("EAGER_JOBS_IN_BACKGROUND", True)
# How long the web process tries to reach the broker before computing in-process.
CELERY_PUBLISH_TIMEOUT = env_int("CELERY_PUBLISH_TIMEOUT", 2)
# Redis re-delivers an unacknowledged task after the visibility timeout; keep it well
# above the hard time limit so a long task is never run twice at the same time.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 2 * CELERY_TASK_TIME_LIMIT,
    "socket_connect_timeout": CELERY_PUBLISH_TIMEOUT,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The result store (Redis too) retries 20 times by default: a web request would hang
# ~20 s when Redis is down. A few quick retries, then the caller's own fallback.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
}
CELERY_TASK_SERIALIZER = "json"
# Two queues, so that participants never wait behind batch work: their recommendation jobs go to "interactive",
# everything else (a catalog's analysis, embedding, CNN training, figure prerendering, the daily purge) to
# "batch". Every worker names the queues it takes (-Q interactive,batch for one worker doing both; in
# docker-compose.yml one worker per queue), so a CNN training or 3,000 figures never hold a participant's job.
CELERY_TASK_DEFAULT_QUEUE = "batch"
CELERY_TASK_ROUTES = {"study.tasks.recommend_for_participant": {"queue": "interactive"}}
# Data protection: Prolific ids (participant, study, session) are blanked this many days after a participant
# started (0: kept). The worker's beat runs the purge daily; `python manage.py purge_identifiers` runs it now.
RETENTION_DAYS = env_int("RETENTION_DAYS", 0)
CELERY_BEAT_SCHEDULE = (
    {"purge-identifiers": {"task": "research.tasks.purge_identifiers", "schedule": 60 * 60 * 24}} if RETENTION_DAYS else {}
)
CELERY_RESULT_EXPIRES = 60 * 60 * 24

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    # Researchers' API: a token (or a staff session) makes at most this many requests.
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle", "rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("API_THROTTLE_USER", "600/hour"), "anon": env_str("API_THROTTLE_ANON", "60/hour"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Resonance API",
    "DESCRIPTION": "Researchers' access to studies and their responses.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs are for staff, and Swagger UI comes from the pinned sidecar package, not a CDN.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAdminUser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Participants' endpoints: (requests per browser session, per address, window in seconds). Generous for a
# person (the page saves each answer once, with one save per question in flight); a script is stopped.
PARTICIPANT_RATE_LIMITS = {
    "enter": (60, 600, 60),
    "answer": (300, 6000, 60),
    "listen": (120, 3000, 60),
    "status": (240, 6000, 60),
    "retry": (5, 300, 60),  # the waiting page's "try again" (one job in flight at a time besides)
}
# Rate limits and other short-lived counters live in the cache: the process's memory by default, Redis
# shared by every web worker when CACHE_URL names one (docker-compose.yml does).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("CACHE_URL")}
    if env_str("CACHE_URL") else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"numba": {"level": "WARNING"}, "matplotlib": {"level": "WARNING"}},
}
