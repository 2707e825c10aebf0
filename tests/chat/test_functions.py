"""The function tools the model may call, and how they are run."""

import json
import threading

import pytest

from conversations import functions, services
from conversations.functions import FunctionTool, ToolError, run_function


def calc(expression: str) -> object:
    return json.loads(functions.calculate(user=None, expression=expression))["result"]


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("2 ^ 10", 1024),
        ("7 // 2 + 7 % 2", 4),
        ("sqrt(16) + abs(-2)", 6.0),
        ("-3 + +1", -2),
        ("round(pi, 2)", 3.14),
    ],
)
def test_the_calculator_evaluates_arithmetic(expression, result):
    assert calc(expression) == result


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("__import__('os').system('id')", "Unsupported expression element"),
        ("open('/etc/passwd')", "Unsupported expression element"),
        ("(1).__class__", "Unsupported expression element"),
        ("9 ** 9 ** 9", "The exponent is too large."),
        ("10 ** 200", "The result is out of range."),
        ("1 / 0", "Division by zero."),
        ("2 +", "Not an arithmetic expression"),
        ("", "Give an arithmetic expression"),
        ("1+" * 300 + "1", "The expression is too long."),
    ],
)
def test_the_calculator_refuses_anything_but_arithmetic(expression, error):
    with pytest.raises(ToolError, match=error.replace("(", r"\(").replace(")", r"\)")):
        functions.calculate(user=None, expression=expression)


def test_current_time_answers_in_the_asked_zone():
    answer = json.loads(functions.current_time(user=None, timezone="Asia/Tokyo"))
    assert answer["timezone"] == "Asia/Tokyo"
    assert answer["iso"].endswith("+09:00")


def test_current_time_names_a_bad_zone():
    with pytest.raises(ToolError, match="Unknown time zone 'Mars/Olympus'"):
        functions.current_time(user=None, timezone="Mars/Olympus")


@pytest.mark.django_db
def test_thread_search_sees_only_the_users_own_threads(alice, bob):
    mine = services.thread_create(owner=alice)
    services.message_send(thread=mine, author=alice, text="Notes about kayaks")
    theirs = services.thread_create(owner=bob)
    services.message_send(thread=theirs, author=bob, text="Bob's kayaks secret")
    results = json.loads(functions.search_threads(user=alice, query="kayaks"))
    assert [r["url"] for r in results["results"]] == [mine.get_absolute_url()]
    assert "Notes about kayaks" in results["results"][0]["excerpt"]


@pytest.mark.django_db(transaction=True)
async def test_a_tool_error_becomes_output_for_the_model():
    result = await run_function(
        name="calculate", arguments='{"expression": "1/0"}', user=None, time_limit=5
    )
    assert result.error == "Division by zero."
    assert json.loads(result.output) == {"error": "Division by zero."}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("name", "arguments", "error"),
    [
        ("rm_rf", "{}", "There is no function named 'rm_rf'."),
        ("calculate", "{not json", "The arguments are not valid JSON."),
        ("calculate", "[1]", "The arguments must be a JSON object."),
        ("calculate", '{"bogus": 1}', "Unexpected arguments for calculate"),
    ],
)
async def test_bad_calls_are_answered_not_raised(name, arguments, error):
    result = await run_function(name=name, arguments=arguments, user=None, time_limit=5)
    assert result.error.startswith(error)


@pytest.mark.django_db(transaction=True)
async def test_a_slow_tool_is_cut_at_its_time_limit():
    release = threading.Event()

    def stuck(*, user) -> str:
        release.wait(30)
        return "too late"

    registry = {
        "stuck": FunctionTool(
            name="stuck", label="Stuck", description="", parameters={}, run=stuck
        )
    }
    try:
        result = await run_function(
            name="stuck", arguments="{}", user=None, time_limit=0.05, registry=registry
        )
    finally:
        release.set()
    assert result.error == "The function stuck did not finish within 0.05 s."


@pytest.mark.django_db(transaction=True)
async def test_a_crashing_tool_is_reported_by_kind_only():
    def broken(*, user) -> str:
        raise RuntimeError("internal detail /srv/secret")

    registry = {
        "broken": FunctionTool(
            name="broken", label="Broken", description="", parameters={}, run=broken
        )
    }
    result = await run_function(
        name="broken", arguments="", user=None, time_limit=5, registry=registry
    )
    assert result.error == "The function broken failed: RuntimeError."
