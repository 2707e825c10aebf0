"""`/healthz`, request ids in structured logs, and no secret in any log line."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.test import Client

from chatsite.logs import REDACTED, ContextFilter, JsonFormatter

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_database_and_the_channel_layer(client: Client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "channel_layer": "ok",
        # The test client's loop; a served process says "uvloop" (test_serve.py).
        "event_loop": "asyncio",
    }
    assert response["Cache-Control"] == "no-store"


def test_healthz_answers_probes_whatever_the_host_and_scheme(settings):
    # A container probe uses the container's address over plain HTTP.
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    probe = Client(HTTP_HOST="10.0.0.7:8000")
    assert probe.get("/healthz").status_code == 200
    assert probe.get("/accounts/login/").status_code == 400


def test_healthz_fails_when_the_channel_layer_is_unreachable(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {"address": "redis://127.0.0.1:1/0", "socket_connect_timeout": 0.5}
                ]
            },
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "failing",
        "database": "ok",
        "channel_layer": "failing",
        "event_loop": "asyncio",
    }


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged, formatted as production formats it (JSON lines)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def test_each_request_has_an_id_in_its_log_lines_and_response(client, log_lines):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-42.a")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-42.a"
    entries = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    not_found = [e for e in entries if e["message"].startswith("Not Found")]
    assert not_found and not_found[0]["request_id"] == "req-42.a"
    assert not_found[0]["level"] == "WARNING"


def test_a_made_up_request_id_replaces_a_hostile_one(client):
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="<script>\n")
    assert len(response["X-Request-ID"]) == 32


def test_no_secret_reaches_a_log_line(settings, log_lines):
    settings.DASHSCOPE_API_KEY = "sk-real-looking-key-123456"
    settings.DATABASES["default"]["PASSWORD"] = "db-password-xyz"
    logger = logging.getLogger("conversations.test")
    logger.error("calling with key %s", settings.DASHSCOPE_API_KEY)
    logger.warning("Authorization: Bearer abcdefghijklmnop")
    logger.info("connect postgres://chat:db-password-xyz@db:5432/chat")
    logger.info("secret key is %s", settings.SECRET_KEY)
    try:
        raise RuntimeError(f"upstream refused {settings.DASHSCOPE_API_KEY}")
    except RuntimeError:
        logger.exception("failed")
    output = log_lines.getvalue()
    for secret in (
        "sk-real-looking-key-123456",
        "abcdefghijklmnop",
        "db-password-xyz",
        settings.SECRET_KEY,
    ):
        assert secret not in output
    assert output.count(REDACTED) >= 5
    assert "upstream refused" in output
