"""The management commands, run as a newcomer would run them."""

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ask_streams_a_reply_and_prints_its_usage(upstream_server):
    result = subprocess.run(
        [sys.executable, "manage.py", "ask", "My name is John, please remember it."],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DASHSCOPE_BASE_URL": upstream_server.base_url,
            "DASHSCOPE_API_KEY": "sk-simulator",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "John" in result.stdout
    assert "-- response " in result.stdout
    assert "input " in result.stdout and "total " in result.stdout


def test_ask_reports_a_failure_clearly(upstream_server):
    result = subprocess.run(
        [sys.executable, "manage.py", "ask", "hello"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DASHSCOPE_BASE_URL": upstream_server.base_url,
            "DASHSCOPE_API_KEY": "sk-wrong-key",
            "UPSTREAM_MAX_RETRIES": "0",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "auth:" in result.stderr
    assert "sk-wrong-key" not in result.stderr + result.stdout


def test_the_simulator_command_serves_the_api_under_the_real_prefix():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "simulator", "--port", str(port), "--ttft", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        banner = process.stdout.readline()
        assert f"127.0.0.1:{port}/api/v2/apps/protocols/compatible-mode/v1" in banner
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v2/apps/protocols/compatible-mode/v1/responses",
            data=json.dumps({"model": "qwen3-max", "input": "hello"}).encode(),
            headers={
                "Authorization": "Bearer sk-simulator",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.load(response)
        assert body["object"] == "response"
        assert body["status"] == "completed"
    finally:
        process.terminate()
        process.wait(timeout=10)
