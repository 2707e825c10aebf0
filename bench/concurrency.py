"""Concurrent streams: N simultaneous replies (40 deltas/s, 500 deltas each),
p95 delay from the simulator sending a delta to a websocket client seeing it
(all deltas, and only those sent while every stream was streaming: no starts
or ends then), replies lost or short, and the CPU of the app processes, of
their send workers, of the simulator, of this client and of PostgreSQL.

    .venv/bin/python bench/concurrency.py --streams 50,100,200,300 [--processes 2]
        [--cpu-share 0.5]

One process: PostgreSQL + the in-memory layer. Two processes: PostgreSQL +
Redis, each stream's socket on the process that generates it, alternating.
The simulator and this client run on the same machine and take CPU too.
`--cpu-share` holds each app process to that share of one core (a cgroup;
root): how scale-out is shown on a machine with too few cores for two whole
processes and their load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

import uvloop
from common import (
    CpuCap,
    SeenWords,
    by_response,
    cpu_seconds,
    delta_delays,
    marker_of,
    percentile,
    postgres_cpu_seconds,
    start_app,
    start_simulator,
    visible_words,
)

from tests.production.cluster import Client, descendants

DELTAS = 500
# Prose of this many words, in deltas of 1-4 words: ~500 deltas. The question
# is short, as people's are: the cost measured is the answer's.
WORDS = 1250


async def one_stream(
    client: Client, thread: str, via: str, marker: str, start: float, words: int
):
    socket = await client.socket(thread, via=via)
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    sent_at = time.time()
    await socket.send(
        action="send", message=f"[[prose:{words}]] {marker}", client_id=marker
    )
    # Each frame's arrival time and text, read once every stream has ended:
    # parsing and counting words as they arrived took a fifth of a core from
    # the machine the app is measured on.
    arrived: list[tuple[float, str]] = []
    try:
        async with asyncio.timeout(30 + words / 40):
            while True:
                text = await socket.receive(wait=60)
                arrived.append((time.time(), text))
                if _is_final(text):
                    break
    except TimeoutError:
        pass
    await socket.close()
    return marker, arrived, sent_at


def _is_final(text: str) -> bool:
    return (
        not text.startswith("{")
        and "outerHTML" in text
        and 'data-role="assistant"' in text
    )


def _seen(arrived: list[tuple[float, str]]) -> tuple[list[tuple[float, int]], str]:
    """(arrival time, words visible) for each frame, and the reply's final
    status ("timeout" if it never came)."""
    seen: list[tuple[float, int]] = []
    counter, status = SeenWords(), "timeout"
    for at, text in arrived:
        if text.startswith("{"):
            seen.append((at, counter.apply(json.loads(text))))
        elif _is_final(text):
            status = text.split('data-status="', 1)[1].split('"', 1)[0]
            seen.append((at, visible_words(text.split("message-body", 1)[1])))
    return seen, status


async def run_point(
    cluster,
    simulator,
    streams: int,
    ramp: float,
    words: int = WORDS,
    profile: str | None = None,
    caps: list[CpuCap] | None = None,
) -> dict:
    processes = cluster.processes
    threads = cluster.threads_create(streams)
    clients = [await Client(p.url).login("alice") for p in processes]
    simulator.record()
    cpu_before = [cpu_seconds(p.process.pid) for p in processes]
    # Their send workers (conversations/workers.py), started by the logins.
    workers_before = _workers_cpu(processes)
    caps = caps or []
    throttled_before = [cap.throttled_s() for cap in caps]
    # The simulator and this client share the two cores: their CPU is printed
    # too, as a saturated machine delays frames whoever is at fault.
    others_before = (
        cpu_seconds(simulator.process.pid),
        _own_cpu(),
        postgres_cpu_seconds(),
    )
    wall = time.monotonic()
    # Starts spread over `ramp` seconds, as people do not press Send together.
    start = time.monotonic() + 2
    profilers = (
        [
            asyncio.create_task(
                _profile_steady(
                    p.process.pid, start + ramp, words, f"{profile}-{streams}-{n}"
                )
            )
            for n, p in enumerate(processes)
        ]
        if profile
        else []
    )
    raw = await asyncio.gather(
        *(
            one_stream(
                clients[i % len(processes)],
                thread,
                processes[i % len(processes)].url,
                f"s{i}x",
                start + ramp * i / streams,
                words,
            )
            for i, thread in enumerate(threads)
        )
    )
    wall = time.monotonic() - wall
    for profiler in profilers:
        await profiler
    cpu = [
        cpu_seconds(p.process.pid) - b
        for p, b in zip(processes, cpu_before, strict=True)
    ]
    workers_cpu = _workers_cpu(processes) - workers_before
    throttled = [
        cap.throttled_s() - b for cap, b in zip(caps, throttled_before, strict=True)
    ]
    simulator_cpu = cpu_seconds(simulator.process.pid) - others_before[0]
    client_cpu = _own_cpu() - others_before[1]
    postgres_cpu = postgres_cpu_seconds() - others_before[2]
    for client in clients:
        await client.close()
    results = [(marker, *_seen(arrived), sent_at) for marker, arrived, sent_at in raw]
    sends = {
        marker_of(rows): rows for rows in by_response(simulator.timings()).values()
    }
    delays: list[float] = []
    timed: list[tuple[float, float]] = []  # (simulator send time, delay)
    lost = 0
    frames = sum(len(seen) for _, seen, _, _ in results)
    # Send to first delta at the simulator (its TTFT included): what starting
    # a reply costs, and how long starts queue when many come at once.
    first_token = [sends[m][0][3] - at for m, _, _, at in results if sends.get(m)]
    spans: list[tuple[float, float, int]] = []
    for marker, seen, status, _ in results:
        rows = sends.get(marker, [])
        if len(rows) > 1:
            spans.append((rows[0][3], rows[-1][3], len(rows)))
        expected = sum(len(r[2].split()) for r in rows)
        got = seen[-1][1] if seen else 0
        if status != "completed" or not rows or got < expected:
            lost += 1
        got_delays = delta_delays(rows, seen)
        delays.extend(got_delays)
        sent_at = [r[3] for r in rows if r[2].split()]
        timed.extend(zip(sent_at, got_delays, strict=False))
    return {
        "streams": streams,
        "deltas": len(delays),
        "frames": frames,
        "median_ms": percentile(delays, 50),
        "p95_ms": percentile(delays, 95),
        "p99_ms": percentile(delays, 99),
        # While every stream was streaming: no starts or ends in the window.
        "steady_p95_ms": percentile(_while_all_streamed(spans, timed), 95),
        "lost": lost,
        "ttft_p95_s": percentile(first_token, 95),
        # How many replies streamed at once at the peak, and how fast the
        # simulator really sent (both from its own send times).
        "peak": peak_overlap(spans),
        "upstream_tps": percentile(
            [(n - 1) / max(b - a, 1e-9) for a, b, n in spans], 50
        )
        if spans
        else 0.0,
        "cpu_percent": [round(100 * c / wall) for c in cpu],
        "workers_cpu_percent": round(100 * workers_cpu / wall),
        # Seconds each capped process waited for its share (--cpu-share).
        "throttled_s": [round(t, 1) for t in throttled],
        "simulator_cpu_percent": round(100 * simulator_cpu / wall),
        "client_cpu_percent": round(100 * client_cpu / wall),
        "postgres_cpu_percent": round(100 * postgres_cpu / wall),
        "wall_s": round(wall, 1),
        "timed": sorted(timed),
    }


async def _profile_steady(pid: int, after: float, words: int, path: str) -> None:
    """py-spy over the middle of the steady state (every stream streaming)."""
    length = words / 100  # ~2.5 words a delta, 40 deltas a second
    await asyncio.sleep(max(0.0, after - time.monotonic()) + length / 4)
    spy = await asyncio.create_subprocess_exec(
        os.path.join(os.path.dirname(sys.executable), "py-spy"),
        *("record", "-p", str(pid), "-d", str(max(1, round(length / 2)))),
        *("-r", "200", "-f", "raw", "--nonblocking", "-o", f"{path}.txt"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await spy.wait()


def _while_all_streamed(
    spans: list[tuple[float, float, int]], timed: list[tuple[float, float]]
) -> list[float]:
    if not spans:
        return []
    first, last = max(a for a, _, _ in spans), min(b for _, b, _ in spans)
    return [delay for at, delay in timed if first <= at <= last]


def _workers_cpu(processes) -> float:
    return sum(
        cpu_seconds(child) for p in processes for child in descendants(p.process.pid)
    )


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def peak_overlap(spans: list[tuple[float, float, int]]) -> int:
    edges = sorted([(a, 1) for a, _, _ in spans] + [(b, -1) for _, b, _ in spans])
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", default="50,100,200,300")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument(
        "--ramp",
        type=float,
        default=1.0,
        help="seconds over which the streams start (12.5: one reply's length)",
    )
    parser.add_argument(
        "--words",
        type=int,
        default=WORDS,
        help="words per reply (more: a longer steady state, e.g. for py-spy)",
    )
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="py-spy each app process in the steady state (PREFIX-<streams>-<n>.txt,"
        " raw: flamegraph.pl or speedscope) and write each delta's send time and"
        " delay (PREFIX-<streams>-delays.json)",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        help="Redis as the channel layer with one process too (two or more use it"
        " anyway)",
    )
    parser.add_argument(
        "--cpu-share",
        type=float,
        metavar="SHARE",
        help="hold each app process to SHARE of one core (0.5: half), a CPU"
        " cgroup of its own; needs root",
    )
    args = parser.parse_args()
    simulator = start_simulator(ttft=0.35, tps=40)
    cluster = None
    redis = args.processes > 1 or args.redis
    layer = "Redis" if redis else "in-memory layer"
    cap_note = f", each held to {args.cpu_share:g} of a core" if args.cpu_share else ""
    print(
        f"Concurrent streams: {args.processes} process(es){cap_note},"
        f" PostgreSQL + {layer}"
    )
    print(
        "streams  peak  up_tps  deltas  frames  median_ms  p95_ms  p99_ms"
        "  steady_p95  lost  ttft_p95_s  app_cpu_%  workers_%  sim_%  client_%  pg_%"
        "  wall_s" + ("  throttled_s" if args.cpu_share else "")
    )
    caps: list[CpuCap] = []
    try:
        cluster = start_app(simulator, redis=redis)
        for index in range(args.processes):
            process = cluster.start(f"app{index}").process
            if args.cpu_share:
                name = f"qtc-bench-{os.getpid()}-{index}"
                caps.append(CpuCap(process.pid, args.cpu_share, name))
        for streams in [int(s) for s in args.streams.split(",")]:
            point = asyncio.run(
                run_point(
                    cluster,
                    simulator,
                    streams,
                    args.ramp,
                    args.words,
                    args.profile,
                    caps,
                ),
                # The client shares the cores with the app it measures.
                loop_factory=uvloop.new_event_loop,
            )
            p = point
            if args.profile:
                # Each delta's send time and delay: pauses, against the profile.
                with open(f"{args.profile}-{streams}-delays.json", "w") as out:
                    json.dump(p["timed"], out)
            cpu = "+".join(map(str, p["cpu_percent"]))
            print(
                f"{p['streams']:>7}  {p['peak']:>4}  {p['upstream_tps']:>6.1f}"
                f"  {p['deltas']:>6}  {p['frames']:>6}  {p['median_ms']:>9.1f}"
                f"  {p['p95_ms']:>6.1f}  {p['p99_ms']:>6.1f}"
                f"  {p['steady_p95_ms']:>10.1f}  {p['lost']:>4}"
                f"  {p['ttft_p95_s']:>10.2f}"
                f"  {cpu:>9}  {p['workers_cpu_percent']:>9}"
                f"  {p['simulator_cpu_percent']:>5}"
                f"  {p['client_cpu_percent']:>8}  {p['postgres_cpu_percent']:>4}"
                f"  {p['wall_s']:>6}"
                + (f"  {'+'.join(map(str, p['throttled_s']))}" if caps else ""),
                flush=True,
            )
    finally:
        if cluster is not None:
            cluster.stop()
        for cap in caps:
            cap.remove()
        simulator.stop()


if __name__ == "__main__":
    main()
