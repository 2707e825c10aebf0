"""Function tools: server-side Python the model may call, and how they are run.

Each tool declares its JSON schema (sent upstream as a `function` tool) and a
plain synchronous implementation taking the user it runs for. `run_function`
applies the time limit and turns every failure into text for the model: a tool
error is part of the conversation, never an exception at the user.
"""

import ast
import asyncio
import json
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from channels.db import database_sync_to_async
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q


class ToolError(Exception):
    """A failure meant for the model to read (bad arguments, nothing found)."""


@dataclass(frozen=True, slots=True)
class FunctionTool:
    name: str
    label: str
    description: str
    parameters: dict[str, Any]
    run: Callable[..., Any]

    def schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }


@dataclass(frozen=True, slots=True)
class FunctionResult:
    output: str
    error: str = ""


# --- the tools ----------------------------------------------------------------


def current_time(*, user: AbstractBaseUser, timezone: str = "UTC") -> str:
    try:
        zone = ZoneInfo(timezone.strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ToolError(
            f"Unknown time zone {timezone!r}: use an IANA name such as Europe/Paris."
        ) from exc
    now = datetime.now(zone)
    return json.dumps(
        {
            "timezone": str(zone),
            "iso": now.isoformat(timespec="seconds"),
            "weekday": now.strftime("%A"),
        }
    )


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
    "log": math.log,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_EXPRESSION_CHARS = 500
# Bounds that keep `9**9**9` from eating the CPU: no eval, and no huge powers.
MAX_EXPONENT = 1000
MAX_MAGNITUDE = 10**100


def _evaluate(node: ast.AST) -> float | int:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise ToolError("Unsupported expression element: a boolean.")
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ToolError("The exponent is too large.")
        result = _BINARY[type(node.op)](left, right)
        if isinstance(result, complex) or abs(result) > MAX_MAGNITUDE:
            raise ToolError("The result is out of range.")
        return result
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_evaluate(a) for a in node.args))
    raise ToolError(f"Unsupported expression element: {type(node).__name__}.")


def calculate(*, user: AbstractBaseUser, expression: str = "") -> str:
    expression = str(expression)
    if not expression.strip():
        raise ToolError("Give an arithmetic expression, such as 2 * (3 + 4).")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError("The expression is too long.")
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"Not an arithmetic expression: {expression!r}.") from exc
    try:
        value = _evaluate(tree)
    except ZeroDivisionError as exc:
        raise ToolError("Division by zero.") from exc
    except (OverflowError, ValueError, TypeError) as exc:
        raise ToolError(f"Cannot compute that: {exc}.") from exc
    return json.dumps({"expression": expression, "result": value})


SEARCH_LIMIT = 5


def search_threads(*, user: AbstractBaseUser, query: str = "") -> str:
    # Imported here: the registry is declared before the app registry is ready.
    from conversations.models import Message, Thread

    query = str(query).strip()
    if not query:
        raise ToolError("Give some words to search for.")
    threads = (
        Thread.objects.filter(owner=user)
        .filter(Q(title__icontains=query) | Q(messages__text__icontains=query))
        .distinct()
        .order_by("-last_activity_at")[:SEARCH_LIMIT]
    )
    results = []
    for thread in threads:
        hit = (
            Message.objects.filter(thread=thread, text__icontains=query)
            .order_by("-created_at")
            .first()
        )
        excerpt = ""
        if hit is not None:
            at = hit.text.lower().find(query.lower())
            excerpt = hit.text[max(0, at - 80) : at + 160]
        results.append(
            {
                "title": thread.title or "Untitled thread",
                "url": thread.get_absolute_url(),
                "excerpt": excerpt,
            }
        )
    return json.dumps({"query": query, "results": results}, ensure_ascii=False)


REGISTRY: dict[str, FunctionTool] = {
    tool.name: tool
    for tool in (
        FunctionTool(
            name="current_time",
            label="Current time",
            description="The current date and time in a time zone.",
            parameters={
                "type": "object",
                "properties": {
                    "timezone": {
                        "type": "string",
                        "description": "An IANA time zone, e.g. Asia/Tokyo.",
                    }
                },
                "required": ["timezone"],
            },
            run=current_time,
        ),
        FunctionTool(
            name="calculate",
            label="Calculator",
            description=(
                "Evaluate an arithmetic expression exactly: + - * / // % ** and "
                "sqrt, abs, round, log, sin, cos, tan, pi, e."
            ),
            parameters={
                "type": "object",
                "properties": {
                    "expression": {
                        "type": "string",
                        "description": "For example (2 + 3) * 4.",
                    }
                },
                "required": ["expression"],
            },
            run=calculate,
        ),
        FunctionTool(
            name="search_threads",
            label="Search my threads",
            description="Search the titles and messages of the user's own threads.",
            parameters={
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Words to look for."}
                },
                "required": ["query"],
            },
            run=search_threads,
        ),
    )
}


def function_schemas(names: list[str]) -> list[dict[str, Any]]:
    return [REGISTRY[name].schema() for name in names if name in REGISTRY]


async def run_function(
    *,
    name: str,
    arguments: str,
    user: AbstractBaseUser | None,
    time_limit: float,
    registry: dict[str, FunctionTool] | None = None,
) -> FunctionResult:
    """Run one call; whatever happens, return text the model can read."""
    tool = (registry or REGISTRY).get(name)
    if tool is None:
        return _error(f"There is no function named {name!r}.")
    try:
        args = json.loads(arguments or "{}")
    except ValueError:
        return _error("The arguments are not valid JSON.")
    if not isinstance(args, dict):
        return _error("The arguments must be a JSON object.")
    # Own thread, own connection: a slow tool must not hold up the ORM thread
    # every other reply in this process shares.
    call = database_sync_to_async(_call, thread_sensitive=False)
    try:
        output = await asyncio.wait_for(call(tool, user, args), time_limit)
    except TimeoutError:
        return _error(f"The function {name} did not finish within {time_limit:g} s.")
    except ToolError as exc:
        return _error(str(exc))
    except TypeError:
        return _error(f"Unexpected arguments for {name}: {sorted(args)}.")
    except Exception as exc:  # any tool failure goes to the model
        return _error(f"The function {name} failed: {type(exc).__name__}.")
    return FunctionResult(output=str(output))


def _call(tool: FunctionTool, user: AbstractBaseUser, args: dict[str, Any]) -> Any:
    return tool.run(user=user, **args)


def _error(message: str) -> FunctionResult:
    return FunctionResult(output=json.dumps({"error": message}), error=message)
