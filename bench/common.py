"""What the benchmarks share: the simulator as its own process (its per-delta
send times read back over `/_simulator/timings`), the app as real Daphne
processes (tests/production/cluster.py), and the arithmetic.

Every figure compares the app's output with the simulator's own send times,
measured in the same run on the same machine (one wall clock).
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.production.cluster import Cluster, start_cluster  # noqa: E402

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
TAG = re.compile(r"<[^>]+>")


@dataclass
class Simulator:
    process: subprocess.Popen[bytes]
    url: str

    @property
    def base_url(self) -> str:
        return self.url + "/api/v2/apps/protocols/compatible-mode/v1"

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def record(self) -> None:
        self._call("POST", "/_simulator/timings", {"record": True})

    def timings(self) -> list[tuple[str, int, str, float]]:
        return [tuple(row) for row in self._call("GET", "/_simulator/timings")["data"]]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_simulator(*, ttft: float = 0.35, tps: float = 40) -> Simulator:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "--port",
            str(port),
            "--ttft",
            str(ttft),
            "--tps",
            str(tps),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    simulator = Simulator(process, f"http://127.0.0.1:{port}")
    for _ in range(200):
        try:
            simulator._call("GET", "/_simulator/health")
            return simulator
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the simulator did not start")


# Production settings, but over plain HTTP on loopback (no TLS terminator here).
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
    # One signed-in user stands for many people here: the per-user flood
    # guard would refuse the benchmark's own sends.
    "CHAT_RATE_LIMIT_BURST": "100000",
    "CHAT_RATE_LIMIT_PER_MINUTE": "1000000",
}


def start_app(
    simulator: Simulator,
    *,
    redis: bool = False,
    extra_env: dict[str, str] | None = None,
) -> Cluster:
    """A fresh database; the in-memory layer unless `redis` (start processes
    after). The app runs with production settings, static files collected as
    the Dockerfile does."""
    env = {"LOG_LEVEL": "WARNING", **PRODUCTION_ENV, **(extra_env or {})}
    cluster = start_cluster(
        upstream_url=simulator.base_url,
        database_url=DATABASE_URL,
        redis_url=REDIS_URL if redis else "",
        suffix=f"run{os.getpid()}",
        extra_env=env,
    )
    cluster.manage("collectstatic", "--noinput")
    return cluster


class CpuCap:
    """Holds a process to `share` of one core with a CPU cgroup of its own
    (v1's `cpu` controller or v2's `cpu.max`; needs root). Over a 10 ms
    period, so a process over its share waits milliseconds, not the 100 ms
    of the default period.

    What it is for: showing on a 2-core machine that two processes carry
    twice what one does, by giving each half a core and leaving the other
    core to the simulator, the client and PostgreSQL."""

    PERIOD_US = 10_000

    def __init__(self, pid: int, share: float, name: str) -> None:
        quota = max(1_000, round(share * self.PERIOD_US))
        v1 = Path("/sys/fs/cgroup/cpu")
        if (v1 / "cpu.cfs_quota_us").exists():
            self.path = v1 / name
            self.path.mkdir(exist_ok=True)
            (self.path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))
        else:
            self.path = Path("/sys/fs/cgroup") / name
            self.path.mkdir(exist_ok=True)
            (self.path / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
        (self.path / "cgroup.procs").write_text(str(pid))

    def throttled_s(self) -> float:
        """Seconds the process waited for its share so far."""
        stat = dict(
            line.split()
            for line in (self.path / "cpu.stat").read_text().splitlines()
            if line.strip()
        )
        if "throttled_time" in stat:  # v1: nanoseconds
            return int(stat["throttled_time"]) / 1e9
        return int(stat.get("throttled_usec", 0)) / 1e6

    def remove(self) -> None:
        """Once its process has exited (a group with tasks cannot go)."""
        with contextlib.suppress(OSError):
            self.path.rmdir()


def stat_of(process: Path) -> tuple[str, list[int]]:
    """A /proc/<pid> directory's command name and its stat fields after it
    (state first, as a 0; then ppid, ...; utime and stime are [11] and [12],
    cutime and cstime [13] and [14], nice [16])."""
    head, rest = (process / "stat").read_text().rsplit(")", 1)
    _state, *fields = rest.split()
    return head.split("(", 1)[1], [0, *map(int, fields)]


def cpu_seconds(pid: int) -> float:
    fields = stat_of(Path(f"/proc/{pid}"))[1]
    return (fields[11] + fields[12]) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU seconds of this machine's PostgreSQL so far: its processes now, and
    through the postmaster's children's times, those that have ended
    (connections closed, autovacuum workers)."""
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name, fields = stat_of(entry)
        except OSError:  # gone meanwhile
            continue
        if name == "postgres":
            processes[int(entry.name)] = fields
    ticks = 0
    for fields in processes.values():
        ticks += fields[11] + fields[12]
        if fields[1] not in processes:  # the postmaster: add its children's
            ticks += fields[13] + fields[14]
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def visible_words(markup: str) -> int:
    return len(html.unescape(TAG.sub(" ", markup)).split())


def percentile(values: Iterable[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (
        f"n={len(values)} median={statistics.median(values):.1f} ms "
        f"p95={percentile(values, 95):.1f} ms max={max(values):.1f} ms"
    )


def delta_delays(
    sends: list[tuple[str, int, str, float]], seen: list[tuple[float, int]]
) -> list[float]:
    """Per delta of one reply: ms from the simulator sending it to its words
    being visible (`seen`: (wall time, visible word count), in arrival order)."""
    delays: list[float] = []
    words = 0
    cursor = 0
    for _, _, text, sent_at in sends:
        words += len(text.split())
        if not text.split():
            continue
        while cursor < len(seen) and seen[cursor][1] < words:
            cursor += 1
        if cursor == len(seen):
            break  # never seen: counted as lost by the caller
        delays.append((seen[cursor][0] - sent_at) * 1000)
    return delays


def by_response(
    rows: list[tuple[str, int, str, float]],
) -> dict[str, list[tuple[str, int, str, float]]]:
    grouped: dict[str, list[tuple[str, int, str, float]]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    for group in grouped.values():
        group.sort(key=lambda r: r[1])
    return grouped


def marker_of(rows: list[tuple[str, int, str, float]]) -> str:
    """The stream marker an echoed reply starts with (`m<number>`)."""
    first = "".join(r[2] for r in rows[:3]).split()
    return first[0] if first else ""


def words_text(count: int, marker: str, *, paragraph: int = 25) -> str:
    """An answer to echo: the marker, then `count - 1` plain words, in short
    paragraphs (as answers come; it also keeps the client's counting cheap)."""
    filler = [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "eta",
        "theta",
        "iota",
        "kappa",
    ]
    words = [marker, *(filler[i % len(filler)] for i in range(count - 1))]
    return "\n\n".join(
        " ".join(words[i : i + paragraph]) for i in range(0, len(words), paragraph)
    )


class SeenWords:
    """Words visible at a client applying frames: the stable part is counted
    once as it grows, the small unfinished tail on every frame."""

    def __init__(self) -> None:
        self.stable = 0
        self.tail = 0

    def apply(self, frame: dict) -> int:
        if frame["t"] == "frame":
            self.stable += visible_words(frame["add"])
            self.tail = visible_words(frame["tail"])
        elif frame["t"] == "snap":
            self.stable = visible_words(frame["stable"])
            self.tail = visible_words(frame["tail"])
        return self.stable + self.tail
