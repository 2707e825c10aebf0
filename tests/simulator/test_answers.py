"""Pure parts: directives, delta splitting, deterministic answers."""

from simulator.answers import compose, prose_answer, split_deltas, token_answer
from simulator.directives import parse_directives, strip_directives


def test_it_splits_text_into_deltas_that_join_back_exactly() -> None:
    for text in (
        "Artificial intelligence (AI) is the technology.\n\n- **Learning**\n",
        "这是一个很好的问题。我们可以从基本概念出发。",
        "  leading and trailing  ",
        "```python\nprint('x')\n```",
    ):
        deltas = split_deltas(text)
        assert "".join(deltas) == text
        assert all(deltas)


def test_it_keeps_deltas_short_like_dashscope() -> None:
    deltas = split_deltas("one two three four five six seven eight nine ten " * 5)
    assert max(len(d.split()) for d in deltas) <= 4


def test_it_parses_directives_with_params() -> None:
    found = parse_directives("hi [[fault:drop,after=5]] [[pace:ttft=0.1,tps=80]]")
    assert found.fault == {"kind": "drop", "after": 5}
    assert found.pace == {"ttft": 0.1, "tps": 80.0}
    assert parse_directives("[[tokens:12]] x").tokens == 12
    assert parse_directives("[[echo]] x").echo is True


def test_it_strips_directives_from_what_the_model_reads() -> None:
    assert strip_directives("[[echo]] <script>alert(1)</script>") == (
        "<script>alert(1)</script>"
    )


def test_answers_are_deterministic_and_varied() -> None:
    assert compose("Tell me about gardens", []) == compose("Tell me about gardens", [])
    assert "| --- |" in compose("Compare the options in a table", [])
    assert "```python" in compose("Write python code for fibonacci", [])
    assert "```js" in compose("Show me javascript code", [])
    assert len(compose("Write a long essay about rivers", [])) > 3500
    assert "这是" in compose("请介绍一下人工智能", [])
    assert "\n- " in compose("List some tips for testing", []) or "\n1. " in compose(
        "List some tips for testing", []
    )


def test_it_answers_with_exactly_n_tokens() -> None:
    assert len(token_answer(7)) == 7


def test_it_answers_with_prose_of_n_words_led_by_the_message() -> None:
    assert parse_directives("[[prose:60]] m7").prose == 60
    text = prose_answer("m7", 60)

    assert text.split()[0] == "m7"
    assert len(text.split()) == 60
    assert [len(p.split()) for p in text.split("\n\n")] == [25, 25, 10]
