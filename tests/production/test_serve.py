"""The entrypoint, `python -m chatsite.serve`: Daphne on uvloop, or on asyncio's
loop when `ASGI_LOOP=asyncio` says so."""

import json
import os
import subprocess
import sys
import urllib.request

import pytest

from tests.browser.liveserver import REPO, start_live_server


@pytest.mark.parametrize(
    ("setting", "loop"),
    [(None, "uvloop"), ("uvloop", "uvloop"), ("asyncio", "asyncio")],
)
def test_the_server_runs_on_the_loop_asked_for(setting, loop):
    # Nothing here calls the upstream: a closed port stands in for it.
    server = start_live_server(
        upstream_url="http://127.0.0.1:9",
        extra_env={"ASGI_LOOP": setting} if setting else None,
    )
    try:
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as response:
            health = json.loads(response.read())
    finally:
        server.stop()
    assert health["status"] == "ok"
    assert health["event_loop"] == loop


def test_an_unknown_loop_is_refused_clearly():
    result = subprocess.run(
        [sys.executable, "-m", "chatsite.serve", "chatsite.asgi:application"],
        cwd=REPO,
        env={**os.environ, "ASGI_LOOP": "tokio"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ASGI_LOOP must be one of uvloop, asyncio, not 'tokio'." in result.stderr
