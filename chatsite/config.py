"""Small typed readers for settings taken from the environment.

Each raises ImproperlyConfigured with the variable's name, so a bad value stops
the process at start-up with a sentence instead of a traceback deep inside.
"""

from collections.abc import Iterable

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

DASHSCOPE_REGIONS = {
    "singapore": "https://dashscope-intl.aliyuncs.com/api/v2/apps/protocols/compatible-mode/v1",
    "beijing": "https://dashscope.aliyuncs.com/api/v2/apps/protocols/compatible-mode/v1",
}

# The models the Responses API reference lists (qwen-api/002).
QWEN_MODELS = (
    "qwen3-max",
    "qwen3-max-2026-01-23",
    "qwen3.6-plus",
    "qwen3.6-plus-2026-04-02",
    "qwen3.5-plus",
    "qwen3.5-plus-2026-02-15",
    "qwen3.5-flash",
    "qwen3.5-flash-2026-02-23",
    "qwen3.5-397b-a17b",
    "qwen3.5-122b-a10b",
    "qwen3.5-27b",
    "qwen3.5-35b-a3b",
    "qwen-plus",
    "qwen-flash",
    "qwen3-coder-plus",
    "qwen3-coder-flash",
)


def _fail(name: str, value: object, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}={value!r} is not valid: expected {expected}.")


def read_bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="")
    if raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise _fail(name, raw, "true or false")


def read_int(name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _fail(name, raw, "an integer") from None
    if not minimum <= value <= maximum:
        raise _fail(name, raw, f"an integer from {minimum} to {maximum}")
    return value


def read_float(name: str, default: float, *, minimum: float, maximum: float) -> float:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise _fail(name, raw, "a number") from None
    if not minimum <= value <= maximum:
        raise _fail(name, raw, f"a number from {minimum} to {maximum}")
    return value


def read_choice(name: str, default: str, choices: Iterable[str]) -> str:
    raw = env.str(name, default="").strip()
    if raw == "":
        return default
    allowed = tuple(choices)
    if raw not in allowed:
        raise _fail(name, raw, "one of " + ", ".join(allowed))
    return raw


def read_url(name: str, default: str) -> str:
    raw = env.str(name, default="").strip()
    if raw == "":
        return default
    if not raw.startswith(("http://", "https://")):
        raise _fail(name, raw, "an http:// or https:// URL")
    return raw.rstrip("/")


def read_list(name: str, default: list[str]) -> list[str]:
    raw = env.str(name, default="")
    if raw.strip() == "":
        return list(default)
    return [part.strip() for part in raw.split(",") if part.strip()]


def read_database(name: str, default: str) -> dict:
    raw = env.str(name, default="") or default
    try:
        config = environ.Env.db_url_config(raw)
    except Exception as exc:
        raise _fail(name, "<hidden>", f"a database URL ({exc})") from None
    if not config.get("ENGINE"):
        raise _fail(
            name, "<hidden>", "a database URL such as postgres://... or sqlite:///..."
        )
    return config


def read_redis_url(name: str) -> str:
    raw = env.str(name, default="").strip()
    if raw and not raw.startswith(("redis://", "rediss://", "unix://")):
        raise _fail(name, "<hidden>", "a redis://, rediss:// or unix:// URL")
    return raw


# The built-in tools the Responses API reference lists (qwen-api/002).
BUILTIN_TOOLS = (
    "web_search",
    "web_extractor",
    "code_interpreter",
    "web_search_image",
    "image_search",
    "file_search",
)


def read_tool_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated subset of `BUILTIN_TOOLS`, in the given order."""
    tools = read_list(name, default)
    unknown = [t for t in tools if t not in BUILTIN_TOOLS]
    if unknown:
        raise _fail(name, ",".join(tools), "names from " + ", ".join(BUILTIN_TOOLS))
    return list(dict.fromkeys(tools))
