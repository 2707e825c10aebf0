"""The embedded simulator: the upstream when no key and no base URL are set.

It runs in a daemon thread of this process and is reached over real HTTP on a
loopback port, so the SDK, streaming and error paths are the production ones.
"""

import threading

from django.conf import settings

SIMULATOR_API_KEY = "sk-simulator"

_lock = threading.Lock()
_server = None


def embedded_base_url() -> str:
    global _server
    with _lock:
        if _server is None:
            from simulator import SimulatorServer

            server = SimulatorServer(
                api_keys={SIMULATOR_API_KEY},
                ttft=settings.SIMULATOR_TTFT,
                tps=settings.SIMULATOR_TPS,
            )
            server.start()
            _server = server
        return _server.base_url
