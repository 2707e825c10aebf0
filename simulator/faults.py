"""Injectable upstream failures.

A fault comes either from a directive in the input (`[[fault:kind,k=v]]`) or
from the queue (`server.faults.push(kind, **params)` or
`POST /_simulator/faults {"kind": ..., ...}`); the next `POST /responses` it
matches consumes it.

Kinds and params (`after` = number of text deltas sent first, default 3):

- `401`, `429` (`retry_after` seconds, default 1), `500`: HTTP error before any
  body. `times` (default 1) makes the fault apply to that many requests.
- `moderation`: HTTP 400 `DataInspectionFailed` before the stream.
- `drop` (`after`): the connection is aborted mid-body, no chunked terminator.
- `stop` (`after`): the body ends cleanly with no terminal event.
- `failed` (`after`, `code`, `message`): a `response.failed` event.
- `incomplete` (`after`): `response.incomplete`, reason `max_output_tokens`.
- `moderation_output` (`after`): `response.failed` with `DataInspectionFailed`;
  the response is flagged, so later turns chained onto it are refused too.
- `error_event` (`after`, `code`, `message`): an OpenAI-style `error` event.
- `slow` (`ttft` default 5, `tps` default 2): slow pacing.
- `hang`: headers sent, then nothing until the client goes away.

Queue entries may carry `match`: a substring the latest user text must contain.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = frozenset(
    {
        "401",
        "429",
        "500",
        "moderation",
        "drop",
        "stop",
        "failed",
        "incomplete",
        "moderation_output",
        "error_event",
        "slow",
        "hang",
    }
)
# Faults answered before the stream starts (no response is created upstream).
PRE_STREAM = frozenset({"401", "429", "500", "moderation"})


@dataclass
class Fault:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def after(self) -> int:
        return int(self.params.get("after", 3))

    def get(self, key: str, default: Any) -> Any:
        return self.params.get(key, default)


def make_fault(kind: str, params: dict[str, Any]) -> Fault:
    kind = str(kind)
    if kind not in KINDS:
        raise ValueError(
            f"unknown fault kind {kind!r}; expected one of {sorted(KINDS)}"
        )
    return Fault(kind, dict(params))


class FaultQueue:
    """Thread-safe: tests push from their own thread while the server streams."""

    def __init__(self) -> None:
        self._entries: list[tuple[Fault, int]] = []
        self._lock = threading.Lock()

    def push(self, kind: str | int, *, times: int = 1, **params: Any) -> None:
        fault = make_fault(str(kind), params)
        with self._lock:
            self._entries.append((fault, int(times)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"kind": f.kind, "times": n, **f.params} for f, n in self._entries]

    def take(self, user_text: str) -> Fault | None:
        with self._lock:
            for index, (fault, times) in enumerate(self._entries):
                match = fault.params.get("match")
                if match and str(match) not in user_text:
                    continue
                if times <= 1:
                    del self._entries[index]
                else:
                    self._entries[index] = (fault, times - 1)
                return fault
        return None
