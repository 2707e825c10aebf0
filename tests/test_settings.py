"""Settings from the environment: bad values stop start-up with a sentence."""

import subprocess
import sys

import pytest

from chatsite import config


def fresh_settings(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter that reads the settings with `env`."""
    return subprocess.run(
        [sys.executable, "-c", f"import chatsite.settings as s; {code}"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def settings_error(**env: str) -> str:
    """Import the settings in a fresh interpreter with `env`; return stderr."""
    result = fresh_settings("", env)
    return result.stderr if result.returncode else ""


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DASHSCOPE_REGION": "mars"},
            "DASHSCOPE_REGION='mars' is not valid: expected one of singapore, beijing",
        ),
        ({"QWEN_MODEL": "gpt-4o"}, "QWEN_MODEL='gpt-4o' is not valid"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not valid: expected true or false"),
        ({"DEBUG": "false"}, "SECRET_KEY must be set when DEBUG is false"),
        (
            {"DASHSCOPE_BASE_URL": "ftp://x"},
            "DASHSCOPE_BASE_URL='ftp://x' is not valid",
        ),
        (
            {"CHAT_FRAME_INTERVAL_MS": "fast"},
            "CHAT_FRAME_INTERVAL_MS='fast' is not valid",
        ),
        ({"CHAT_SEND_WORKERS": "-1"}, "CHAT_SEND_WORKERS='-1' is not valid"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
    ],
)
def test_a_bad_value_is_a_clear_improperly_configured(env, message):
    error = settings_error(**env)
    assert "ImproperlyConfigured" in error
    assert message in error


def test_defaults_are_the_embedded_ones():
    assert settings_error() == ""


def setting(name: str, **env: str) -> str:
    """A setting's value as a fresh interpreter reads it with `env`."""
    result = fresh_settings(f"print(s.{name})", env)
    result.check_returncode()
    return result.stdout.strip()


def test_sends_have_a_worker_process_on_postgresql_and_none_on_sqlite():
    postgres = "postgres://qtc@db.example/qtc"
    assert setting("CHAT_SEND_WORKERS") == "0"
    assert setting("CHAT_SEND_WORKERS", DATABASE_URL=postgres) == "1"
    assert (
        setting("CHAT_SEND_WORKERS", DATABASE_URL=postgres, CHAT_SEND_WORKERS="0")
        == "0"
    )
    assert setting("CHAT_SEND_WORKERS", CHAT_SEND_WORKERS="2") == "2"


def test_a_secret_never_appears_in_the_error(monkeypatch):
    error = settings_error(DATABASE_URL="postgres://u:hunter2@/x?bad=%%")
    assert "hunter2" not in error


def test_the_region_picks_the_base_url():
    assert config.DASHSCOPE_REGIONS["beijing"].startswith(
        "https://dashscope.aliyuncs.com/"
    )
    assert config.DASHSCOPE_REGIONS["singapore"].startswith(
        "https://dashscope-intl.aliyuncs.com/"
    )


def test_default_tools_must_be_built_in_tools():
    error = settings_error(QWEN_DEFAULT_TOOLS="web_search,shell")
    assert "ImproperlyConfigured" in error
    assert "QWEN_DEFAULT_TOOLS='web_search,shell' is not valid" in error


def test_default_tools_and_thinking_are_read():
    assert config.read_tool_list("UNSET_FOR_TEST", ["web_search"]) == ["web_search"]
    assert (
        settings_error(
            QWEN_DEFAULT_TOOLS="web_search, web_extractor", QWEN_ENABLE_THINKING="true"
        )
        == ""
    )
