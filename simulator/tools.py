"""Which tools the simulated model calls, decided from the user's text.

Rules (checked on the latest user text, lower-cased, directives removed):

- `web_search` (if enabled): mentions search, latest, news, website or find.
- `web_extractor` (if enabled): contains a URL or the word "extract".
- `code_interpreter` (if enabled): mentions calculate, compute, code or plot.
- `mcp` tool: mentions its `server_label` (or a word of it) or "mcp".
- `function` tool: mentions its name, or a word of its name of 4+ letters
  other than a generic verb (`get_weather` is called for "weather"). String
  arguments come from `backticked` text, else from a proper noun or last word.
  A matching function ends the turn with `function_call` items, no message.
- `tool_choice: "none"` disables tools; `"required"` calls the first tool when
  no rule matched; `{"type": "function", "name": X}` forces that function.
- After `function_call_output` items the model only answers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .state import Item, new_id

_URL = re.compile(r"https?://[^\s)\]>\"']+")
_GENERIC_VERBS = frozenset(
    [
        "get",
        "set",
        "list",
        "fetch",
        "make",
        "create",
        "update",
        "delete",
        "find",
        "search",
        "query",
        "run",
        "call",
    ]
)
BUILTINS = ("web_search", "web_extractor", "code_interpreter")


@dataclass
class Plan:
    """Output items to emit before the message (or instead of it)."""

    tool_items: list[Item] = field(default_factory=list)
    # True when function calls end the turn: the client must answer them.
    awaits_client: bool = False
    usage_tools: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """What the final answer should mention about tool results."""
        notes = []
        for item in self.tool_items:
            kind = item["type"]
            if kind == "web_search_call":
                urls = ", ".join(s["url"] for s in item["action"]["sources"])
                notes.append(
                    f'I searched the web for "{item["action"]["query"]}" ({urls}).'
                )
            elif kind == "web_extractor_call":
                notes.append(f"From {', '.join(item['urls'])}: {item['output']}")
            elif kind == "code_interpreter_call":
                notes.append(
                    f"The code returned `{item['outputs'][0]['logs'].strip()}`."
                )
            elif kind == "mcp_call":
                notes.append(
                    f"The {item['server_label']} server answered: {item['output']}"
                )
        return " ".join(notes)


def _mentions(text: str, *words: str) -> bool:
    return any(re.search(rf"\b{re.escape(w)}", text) for w in words)


def _function_matches(tool: dict[str, Any], text: str) -> bool:
    name = str(tool.get("name", "")).lower()
    if not name:
        return False
    if name in text or name.replace("_", " ") in text:
        return True
    parts = [p for p in re.split(r"[_\W]+", name) if len(p) >= 4]
    return any(p not in _GENERIC_VERBS and _mentions(text, p) for p in parts)


def _arguments(tool: dict[str, Any], original: str) -> str:
    """Fill the function's parameters from the text, deterministically."""
    schema = tool.get("parameters") or {}
    properties: dict[str, Any] = schema.get("properties") or {}
    # Proper nouns make good string arguments ("weather in Paris" -> "Paris").
    capitalised = [
        m.group(0)
        for m in re.finditer(r"\b[A-Z][a-zA-Z]+", original)
        if m.start() > 0 and not re.search(r"[.!?]\s*$", original[: m.start()])
    ]
    numbers = re.findall(r"-?\d+(?:\.\d+)?", original)
    words = re.findall(r"[A-Za-z]{3,}", original)
    # Text in backticks is taken verbatim, in order, for string parameters
    # ("calculate `6*7`", "time in `Asia/Tokyo`").
    quoted = re.findall(r"`([^`]+)`", original)
    args: dict[str, Any] = {}
    for key, spec in properties.items():
        kind = (spec or {}).get("type", "string")
        if kind in ("number", "integer"):
            value: Any = float(numbers[0]) if numbers else 1
            args[key] = int(value) if kind == "integer" else value
        elif kind == "boolean":
            args[key] = True
        elif "enum" in (spec or {}):
            args[key] = spec["enum"][0]
        elif quoted:
            args[key] = quoted.pop(0)
        else:
            args[key] = capitalised[-1] if capitalised else (words[-1] if words else "")
    return json.dumps(args, ensure_ascii=False)


def plan_tools(
    *,
    user_text: str,
    tools: list[dict[str, Any]],
    tool_choice: Any,
    answering_function_output: bool,
) -> Plan:
    plan = Plan()
    if not tools or tool_choice == "none" or answering_function_output:
        return plan
    text = user_text.lower()
    forced_name = tool_choice.get("name") if isinstance(tool_choice, dict) else None
    forced_type = tool_choice.get("type") if isinstance(tool_choice, dict) else None

    functions = [t for t in tools if t.get("type") == "function"]
    chosen = [
        t
        for t in functions
        if (forced_name and t.get("name") == forced_name)
        or (not forced_type and _function_matches(t, text))
    ]
    if chosen:
        for tool in chosen:
            plan.tool_items.append(_function_call(tool, user_text))
        plan.awaits_client = True
        return plan

    enabled = {t.get("type") for t in tools}
    if forced_type and forced_type != "function":
        enabled = {forced_type}
    wanted = []
    if "web_search" in enabled and _mentions(
        text, "search", "latest", "news", "website", "find"
    ):
        wanted.append("web_search")
    if "web_extractor" in enabled and (_URL.search(user_text) or "extract" in text):
        wanted.append("web_extractor")
    if "code_interpreter" in enabled and _mentions(
        text, "calculate", "compute", "code", "plot"
    ):
        wanted.append("code_interpreter")
    mcps = [
        t
        for t in tools
        if t.get("type") == "mcp" and (forced_type == "mcp" or _mcp_matches(t, text))
    ]
    if not wanted and not mcps and (tool_choice == "required" or forced_type):
        first = tools[0]
        if first.get("type") == "function":
            plan.tool_items.append(_function_call(first, user_text))
            plan.awaits_client = True
            return plan
        if first.get("type") == "mcp":
            mcps = [first]
        elif first.get("type") in BUILTINS:
            wanted.append(first["type"])

    for kind in wanted:
        if kind == "web_search":
            plan.tool_items.append(_web_search(user_text))
        elif kind == "web_extractor":
            plan.tool_items.append(_web_extractor(user_text, plan.tool_items))
        else:
            plan.tool_items.append(_code_interpreter(user_text))
        plan.usage_tools[kind] = plan.usage_tools.get(kind, 0) + 1
    for tool in mcps:
        plan.tool_items.append(_mcp_call(tool, user_text))
    return plan


def _mcp_matches(tool: dict[str, Any], text: str) -> bool:
    label = str(tool.get("server_label", "")).lower()
    parts = [p for p in re.split(r"[_\W]+", label) if len(p) >= 3]
    return "mcp" in text or bool(label and label in text) or _mentions(text, *parts)


def _query(user_text: str) -> str:
    words = re.findall(r"[\w'-]+", _URL.sub("", user_text))
    return " ".join(words[:8]) or "query"


def _function_call(tool: dict[str, Any], user_text: str) -> Item:
    return {
        "type": "function_call",
        "id": new_id("fc_"),
        "call_id": new_id("call_").replace("-", "")[:29],
        "name": tool.get("name", ""),
        "arguments": _arguments(tool, user_text),
        "status": "completed",
    }


def _web_search(user_text: str) -> Item:
    slug = re.sub(r"\W+", "-", _query(user_text).lower()).strip("-")[:40] or "q"
    return {
        "type": "web_search_call",
        "id": new_id("ws_"),
        "status": "completed",
        "action": {
            "type": "search",
            "query": _query(user_text),
            "sources": [
                {"type": "url", "url": f"https://example.com/search/{slug}"},
                {"type": "url", "url": f"https://news.example.org/{slug}"},
            ],
        },
    }


def _web_extractor(user_text: str, earlier: list[Item]) -> Item:
    urls = _URL.findall(user_text)
    if not urls:
        searched = [i for i in earlier if i["type"] == "web_search_call"]
        urls = [searched[0]["action"]["sources"][0]["url"]] if searched else []
    urls = urls or ["https://example.com/"]
    return {
        "type": "web_extractor_call",
        "id": new_id("we_"),
        "status": "completed",
        "goal": f"Extract key information from {urls[0]}",
        "urls": urls,
        "output": f"Title: Example page. Summary: key facts extracted from {urls[0]}.",
    }


def _code_interpreter(user_text: str) -> Item:
    numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", user_text)[:6]]
    total = sum(numbers) if numbers else 42
    code = f"values = {numbers or [42]}\nprint(sum(values))"
    return {
        "type": "code_interpreter_call",
        "id": new_id("ci_"),
        "status": "completed",
        "code": code,
        "container_id": "cntr_simulator",
        "outputs": [{"type": "logs", "logs": f"{total:g}\n"}],
    }


def _mcp_call(tool: dict[str, Any], user_text: str) -> Item:
    label = str(tool.get("server_label", "mcp"))
    allowed = tool.get("allowed_tools")
    name = allowed[0] if isinstance(allowed, list) and allowed else f"{label}_query"
    return {
        "type": "mcp_call",
        "id": new_id("mcp_"),
        "status": "completed",
        "server_label": label,
        "name": name,
        "arguments": json.dumps({"query": _query(user_text)}, ensure_ascii=False),
        "output": f"Result from {label} for '{_query(user_text)}'.",
        "error": None,
    }
