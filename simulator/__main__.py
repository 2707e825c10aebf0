"""`python -m simulator --port 8001`: run the DashScope simulator standalone."""

from __future__ import annotations

import argparse

from .server import run_forever


def main() -> None:
    parser = argparse.ArgumentParser(description="Offline DashScope simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--ttft", type=float, default=0.35, help="seconds")
    parser.add_argument("--tps", type=float, default=40.0, help="tokens per second")
    parser.add_argument(
        "--api-key", action="append", dest="api_keys", help="accepted key (repeatable)"
    )
    args = parser.parse_args()
    run_forever(
        args.port,
        args.host,
        ttft=args.ttft,
        tps=args.tps,
        api_keys=args.api_keys or ["sk-simulator"],
    )


if __name__ == "__main__":
    main()
