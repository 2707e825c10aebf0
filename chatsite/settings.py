"""Settings for Qwen Team Chat, read from the environment (see README's table).

Nothing configured gives the embedded defaults: SQLite, the in-memory channel
layer and the built-in DashScope simulator.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from chatsite import config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = config.read_bool("DEBUG", True)

_secret = config.env.str("SECRET_KEY", default="")
if not _secret:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")
    _secret = "django-insecure-development-only-key-never-use-in-production"
SECRET_KEY = _secret

ALLOWED_HOSTS = config.read_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = config.read_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "conversations",
]

MIDDLEWARE = [
    # First: probes reach /healthz without an allowed Host or HTTPS.
    "chatsite.health.HealthCheckMiddleware",
    "chatsite.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "conversations.context_processors.site",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": config.read_database(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the page read while a reply's partial text is being saved.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
else:
    DATABASES["default"]["CONN_MAX_AGE"] = config.read_int(
        "DB_CONN_MAX_AGE", 60, minimum=0, maximum=3600
    )
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = config.read_redis_url("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 times reads out after 5 s by default, exactly as
                # long as channels_redis blocks waiting for a message (BZPOPMIN,
                # 5 s): every consumer idle for 5 s would die. Reads may block
                # longer than that; a dead connection is still noticed.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chatsite.layers.LocalChannelLayer",
            "CONFIG": {"capacity": 1000},
        }
    }

_VALIDATORS = "django.contrib.auth.password_validation."
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": _VALIDATORS + name}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# The UI's languages: chosen from the browser's Accept-Language, or by the
# user with the language switch (a cookie). Catalogues live in locale/ and are
# compiled by `make setup` (compilemessages).
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Development serves static files through WhiteNoise from the app folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Model output is untrusted: no inline script or style, no remote images.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

if not DEBUG:
    SESSION_COOKIE_SECURE = config.read_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = config.read_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = config.read_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = config.read_int(
        "SECURE_HSTS_SECONDS", 31536000, minimum=0, maximum=10**9
    )
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- The upstream (DashScope / Model Studio) ---------------------------------
DASHSCOPE_API_KEY = config.env.str("DASHSCOPE_API_KEY", default="")
DASHSCOPE_REGION = config.read_choice(
    "DASHSCOPE_REGION", "singapore", config.DASHSCOPE_REGIONS
)
DASHSCOPE_BASE_URL = config.read_url("DASHSCOPE_BASE_URL", "")
QWEN_MODELS = config.QWEN_MODELS
QWEN_MODEL = config.read_choice("QWEN_MODEL", "qwen3-max", QWEN_MODELS)
QWEN_SESSION_CACHE = config.read_bool("QWEN_SESSION_CACHE", False)
UPSTREAM_TIMEOUT = config.read_float("UPSTREAM_TIMEOUT", 120.0, minimum=1, maximum=3600)
UPSTREAM_CONNECT_TIMEOUT = config.read_float(
    "UPSTREAM_CONNECT_TIMEOUT", 10.0, minimum=0.1, maximum=600
)
UPSTREAM_MAX_RETRIES = config.read_int("UPSTREAM_MAX_RETRIES", 2, minimum=0, maximum=10)
# Pacing of the embedded simulator (used only when no key and no base URL is set).
SIMULATOR_TTFT = config.read_float("SIMULATOR_TTFT", 0.35, minimum=0, maximum=60)
SIMULATOR_TPS = config.read_float("SIMULATOR_TPS", 40.0, minimum=0.1, maximum=100000)

# --- Chat behaviour ------------------------------------------------------------
CHAT_MAX_MESSAGE_CHARS = config.read_int(
    "CHAT_MAX_MESSAGE_CHARS", 20000, minimum=1, maximum=1_000_000
)
# Deltas are coalesced into frames of at most one per interval (leading edge).
# 20 ms: below the 25 ms between deltas at a model's usual 40 tokens/s, so a
# delta is not held back waiting for the next frame (bench/latency.py).
CHAT_FRAME_INTERVAL_MS = config.read_int(
    "CHAT_FRAME_INTERVAL_MS", 20, minimum=0, maximum=1000
)
# The most frames a process sends a second: a round of frames to n replies is
# followed by at least n / this. 5,000: a frame per 20 ms to each of 100
# replies, per 60 ms to each of 300, where a frame per delta would take the
# process's core (bench/concurrency.py, README "Benchmarks").
CHAT_FRAME_RATE = config.read_int(
    "CHAT_FRAME_RATE", 5000, minimum=100, maximum=1_000_000
)
# Partial text of a streaming reply is saved at most this often.
CHAT_SAVE_INTERVAL_MS = config.read_int(
    "CHAT_SAVE_INTERVAL_MS", 1000, minimum=50, maximum=60000
)
SIGNUP_ENABLED = config.read_bool("SIGNUP_ENABLED", True)
# Per-user flood guard on websocket frames (issue #9): a bucket of BURST frames
# refilled at PER_MINUTE; frames beyond it are refused with a clear message.
CHAT_RATE_LIMIT_BURST = config.read_int(
    "CHAT_RATE_LIMIT_BURST", 30, minimum=1, maximum=100_000
)
CHAT_RATE_LIMIT_PER_MINUTE = config.read_int(
    "CHAT_RATE_LIMIT_PER_MINUTE", 120, minimum=1, maximum=1_000_000
)

# --- Several processes (issue #8) ----------------------------------------------
# Each process touches the heartbeat of the replies it writes and sweeps the
# replies whose writer is gone (heartbeat older than CHAT_STALE_AFTER_S) every
# CHAT_SWEEP_INTERVAL_S seconds; 0 switches both off (tests of one process).
CHAT_SWEEP_INTERVAL_S = config.read_float(
    "CHAT_SWEEP_INTERVAL_S", 10.0, minimum=0, maximum=3600
)
CHAT_STALE_AFTER_S = config.read_float(
    "CHAT_STALE_AFTER_S", 60.0, minimum=1, maximum=86400
)
if CHAT_SWEEP_INTERVAL_S and CHAT_STALE_AFTER_S < 2 * CHAT_SWEEP_INTERVAL_S:
    raise ImproperlyConfigured(
        "CHAT_STALE_AFTER_S must be at least twice CHAT_SWEEP_INTERVAL_S, or live "
        "replies would be swept between two heartbeats."
    )

# A send's database trip runs in this many worker processes of each server
# process, at a lower CPU priority than its streams (conversations/workers.py);
# 0 runs it on the server process's own database thread. None by default on
# SQLite: it takes one writer at a time, so a worker would only wait its turn.
CHAT_SEND_WORKERS = config.read_int(
    "CHAT_SEND_WORKERS",
    0 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 1,
    minimum=0,
    maximum=32,
)

# Viewers on another process are shown until that process has not mentioned
# them for this long (it died without saying goodbye); announced every third.
CHAT_PRESENCE_STALE_S = config.read_float(
    "CHAT_PRESENCE_STALE_S", 60.0, minimum=1, maximum=3600
)

LOG_FORMAT = config.read_choice(
    "LOG_FORMAT", "plain" if DEBUG else "json", ("plain", "json")
)
# A thread page shows this many of the newest messages; older ones load as the
# reader scrolls up, so a very long thread opens as fast as a short one.
CHAT_PAGE_MESSAGES = config.read_int("CHAT_PAGE_MESSAGES", 40, minimum=2, maximum=10000)

# --- Tools and thinking (issue #5) --------------------------------------------
# Defaults of new threads (an admin's "Tool defaults" row overrides them).
QWEN_BUILTIN_TOOLS = config.BUILTIN_TOOLS
QWEN_DEFAULT_TOOLS = config.read_tool_list("QWEN_DEFAULT_TOOLS", [])
QWEN_ENABLE_THINKING = config.read_bool("QWEN_ENABLE_THINKING", False)
# The agent loop: seconds one function call may run, upstream calls per reply.
CHAT_TOOL_TIMEOUT = config.read_float(
    "CHAT_TOOL_TIMEOUT", 10.0, minimum=0.01, maximum=600
)
CHAT_MAX_TOOL_STEPS = config.read_int("CHAT_MAX_TOOL_STEPS", 5, minimum=1, maximum=50)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "chatsite.logs.ContextFilter"}},
    "formatters": {
        "plain": {
            "()": "chatsite.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s%(ids)s %(message)s",
        },
        "json": {"()": "chatsite.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {
        "handlers": ["console"],
        "level": config.env.str("LOG_LEVEL", default="INFO"),
    },
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # Every query, for counting writes (bench/reply_cost.py); needs DEBUG.
        "django.db.backends": {
            "level": "DEBUG" if config.read_bool("LOG_SQL", False) else "INFO"
        },
    },
}

# --- Images, documents, search by meaning, batch jobs (issue #11) -------------
# Chat Completions, Embedding, File and Batch live under `compatible-mode/v1`;
# derived from DASHSCOPE_BASE_URL / the region unless set.
DASHSCOPE_COMPAT_BASE_URL = config.read_url("DASHSCOPE_COMPAT_BASE_URL", "")
QWEN_VISION_MODELS = config.read_list(
    "QWEN_VISION_MODELS", ["qwen3-vl-plus", "qwen3-vl-flash"]
)
QWEN_LONG_MODEL = config.env.str("QWEN_LONG_MODEL", default="qwen-long")
QWEN_EMBEDDING_MODEL = config.env.str(
    "QWEN_EMBEDDING_MODEL", default="text-embedding-v4"
)
# text-embedding-v4's dimensions (overview 004); vectors of another size are
# re-embedded by `embed_messages`.
QWEN_EMBEDDING_DIMENSIONS = int(
    config.read_choice(
        "QWEN_EMBEDDING_DIMENSIONS",
        "1024",
        ["2048", "1536", "1024", "768", "512", "256", "128", "64"],
    )
)
# Embed each stored message in the background (off: run `embed_messages`).
EMBEDDINGS_AUTO = config.read_bool("EMBEDDINGS_AUTO", True)
SEMANTIC_MIN_SCORE = config.read_float(
    "SEMANTIC_MIN_SCORE", 0.35, minimum=-1, maximum=1
)
QWEN_BATCH_MODEL = config.env.str("QWEN_BATCH_MODEL", default="qwen-plus")
QWEN_BATCH_COMPLETION_WINDOW = config.env.str(
    "QWEN_BATCH_COMPLETION_WINDOW", default="24h"
)
CHAT_MAX_IMAGE_BYTES = config.read_int(
    "CHAT_MAX_IMAGE_BYTES", 5 * 1024 * 1024, minimum=1024, maximum=10 * 1024 * 1024
)
CHAT_MAX_DOCUMENT_BYTES = config.read_int(
    "CHAT_MAX_DOCUMENT_BYTES", 20 * 1024 * 1024, minimum=1024, maximum=150 * 1024 * 1024
)
MEDIA_ROOT = config.env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Uploads are served only through an access-checked view, never as /media/.
MEDIA_URL = "/attachments-not-public/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
