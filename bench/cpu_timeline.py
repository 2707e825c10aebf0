"""Who takes the cores, every half second: the app's server processes, their
send workers, the simulator, the benchmark client, PostgreSQL and the rest,
in % of one core, read from /proc. Run it beside another benchmark:

    .venv/bin/python bench/cpu_timeline.py 40 &
    .venv/bin/python bench/concurrency.py --streams 300

This is how the start of a 300-stream run was seen to fill both cores of the
machine (README "What limits it now"), which a run's averages do not show.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from common import stat_of

TICKS = os.sysconf("SC_CLK_TCK")
PARTS = ("app", "workers", "simulator", "client", "postgres", "other")


def part_of(command: str, nice: int) -> str:
    if "chatsite.serve" in command:
        return "app"
    if "multiprocessing.forkserver" in command and nice > 0:
        return "workers"  # a send worker runs below its server's priority
    if "-m simulator" in command:
        return "simulator"
    if "bench/" in command and "cpu_timeline" not in command:
        return "client"
    if command.startswith("postgres"):
        return "postgres"
    return "other"


def snapshot() -> dict[int, tuple[str, float]]:
    """Each process's part and CPU seconds so far."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = stat_of(entry)[1]
        except (OSError, UnicodeDecodeError):  # gone meanwhile
            continue
        seconds = (fields[11] + fields[12]) / TICKS
        found[int(entry.name)] = (part_of(command, fields[16]), seconds)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("seconds", type=float, help="how long to watch")
    parser.add_argument("--every", type=float, default=0.5)
    args = parser.parse_args()
    print("     s  " + "  ".join(f"{p:>9}" for p in PARTS) + "   total", flush=True)
    start = last_at = time.monotonic()
    last = snapshot()
    while last_at - start < args.seconds:
        time.sleep(args.every)
        now, at = snapshot(), time.monotonic()
        used = dict.fromkeys(PARTS, 0.0)
        for pid, (part, seconds) in now.items():
            before = last.get(pid)
            used[part] += seconds - (before[1] if before else 0.0)
        share = {p: 100 * s / (at - last_at) for p, s in used.items()}
        if share["app"] or share["simulator"]:  # quiet before and after a run
            print(
                f"{at - start:6.1f}  "
                + "  ".join(f"{share[p]:9.0f}" for p in PARTS)
                + f"  {sum(share.values()):6.0f}",
                flush=True,
            )
        last, last_at = now, at


if __name__ == "__main__":
    main()
