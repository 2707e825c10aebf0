"""In-band directives that tests and demos put in the user's text.

Syntax (anywhere in the latest user message; removed before the "model" reads it):

- `[[fault:<kind>]]` or `[[fault:<kind>,key=value,...]]`: inject a fault, see
  `faults.py` (e.g. `[[fault:drop,after=5]]`, `[[fault:500,times=2]]`).
- `[[pace:ttft=<seconds>,tps=<tokens per second>]]`: pacing for this reply.
- `[[echo]]`: answer with the rest of the input verbatim.
- `[[tokens:N]]`: answer with exactly N deterministic tokens (N deltas).
- `[[prose:N]]`: answer with N words of plain prose in paragraphs of 25 words,
  cut into deltas of 1-4 words; the first word is the message's own first word,
  so a client running many replies at once can tell them apart (bench/).
- `[[tool_rounds:N]]`: call the matching function tools in N successive rounds
  (each answered by the client's `function_call_output`) before answering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

DIRECTIVE_RE = re.compile(
    r"\[\[(fault|pace|echo|tokens|prose|tool_rounds)(?::([^\]]*))?\]\]"
)


@dataclass
class Directives:
    fault: dict[str, Any] | None = None
    # The directive's own text: counts `times` across the SDK's retries.
    fault_key: str = ""
    pace: dict[str, float] = field(default_factory=dict)
    echo: bool = False
    tokens: int | None = None
    prose: int | None = None
    tool_rounds: int = 1


def _params(raw: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for chunk in filter(None, (c.strip() for c in raw.split(","))):
        key, sep, value = chunk.partition("=")
        if not sep:
            continue
        params[key.strip()] = _number(value.strip())
    return params


def _number(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def parse_directives(text: str) -> Directives:
    found = Directives()
    for match in DIRECTIVE_RE.finditer(text):
        name, arg = match.group(1), match.group(2) or ""
        if name == "fault":
            kind, _, rest = arg.partition(",")
            found.fault = {"kind": kind.strip(), **_params(rest)}
            found.fault_key = match.group(0)
        elif name == "pace":
            found.pace = {k: float(v) for k, v in _params(arg).items()}
        elif name == "echo":
            found.echo = True
        elif name == "tokens" and arg.strip().isdigit():
            found.tokens = int(arg.strip())
        elif name == "prose" and arg.strip().isdigit():
            found.prose = int(arg.strip())
        elif name == "tool_rounds" and arg.strip().isdigit():
            found.tool_rounds = max(1, int(arg.strip()))
    return found


def strip_directives(text: str) -> str:
    return DIRECTIVE_RE.sub("", text).strip() if "[[" in text else text
