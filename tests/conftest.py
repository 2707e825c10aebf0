"""Shared fixtures: a real simulator on a loopback port, users, sockets."""

from collections.abc import Iterator

import pytest
from channels.layers import channel_layers
from django.contrib.auth import get_user_model
from django.test import override_settings

from simulator import SimulatorServer


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Iterator[None]:
    # Each test runs on its own event loop. A consumer or listener still waiting
    # in an earlier test's closed loop would leave channels_redis's receive lock
    # bound to that loop; a fresh layer object per test keeps tests independent.
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    # Nearly every test makes its users, and Django's PBKDF2 takes ~0.3 s a
    # password here: most of the suite's time. No test is about the hasher; the
    # servers the browser and production tests start keep the real one.
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(PASSWORD_HASHERS=hashers):
        yield


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[SimulatorServer]:
    # One server for the session; fast pacing unless a test asks for slow.
    server = SimulatorServer(ttft=0, tps=5000).start()
    yield server
    server.stop()


@pytest.fixture
def upstream(upstream_server: SimulatorServer, settings) -> Iterator[SimulatorServer]:
    """Point the app at the simulator, with a clean slate of faults."""
    settings.DASHSCOPE_BASE_URL = upstream_server.base_url
    settings.DASHSCOPE_API_KEY = "sk-simulator"
    settings.UPSTREAM_MAX_RETRIES = 0
    settings.CHAT_FRAME_INTERVAL_MS = 20
    settings.CHAT_SAVE_INTERVAL_MS = 100
    upstream_server.faults.clear()
    upstream_server.state.clock_offset = 0.0
    upstream_server.compat.outages.clear()
    yield upstream_server
    upstream_server.faults.clear()
    upstream_server.state.clock_offset = 0.0
    upstream_server.compat.outages.clear()


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password="alice-pass-123")


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", password="bob-pass-123")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Sync Playwright keeps an event loop running in the main thread while its
    # browser is open; async tests after it would fail, so browser tests go last.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def _quiet_background_work(settings, tmp_path_factory) -> None:
    # Issue #11: no background embedding thread racing a test's database, and
    # uploads go to a scratch directory. Tests of those paths turn them on.
    settings.EMBEDDINGS_AUTO = False
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))
    # Sends on the test's own database thread: a send worker is a process of
    # its own, reading the settings from the environment, not the test's
    # database. The servers the browser and production tests start use them.
    settings.CHAT_SEND_WORKERS = 0


@pytest.fixture(autouse=True)
def _no_background_sweep(settings) -> None:
    # The periodic reply sweep (conversations/sweep.py) would run on each test's
    # event loop beside the test; tests of the sweep call it directly, and the
    # multi-process tests turn it on in the processes they start.
    settings.CHAT_SWEEP_INTERVAL_S = 0
