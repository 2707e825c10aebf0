# Chinese answers need full-width punctuation.
# ruff: noqa: RUF001
"""Deterministic answer text: a pure function of the user's text and context.

Rules, first match wins: `[[echo]]`, `[[tokens:N]]`, a name question or
statement ("my name is X" / "do you remember my name?"), "table"/"compare",
code (python/javascript/code/function/script), "long"/"essay", lists
("list"/"steps"/"tips"/"ways"), CJK input (Simplified Chinese answer), and a
generic multi-paragraph answer echoing a few of the user's words.
"""

from __future__ import annotations

import hashlib
import random
import re

from .state import Context

_NAME_STATEMENT = re.compile(r"\bmy name is ([A-Z][\w'-]*|[\w'-]+)", re.IGNORECASE)
_NAME_IN_SYSTEM = re.compile(r"\buser'?s name is ([\w'-]+)", re.IGNORECASE)
_NAME_CJK = re.compile(
    r"(?:我叫|我的名字是)([\u4e00-\u9fff\w]{1,8}?)(?:[，。,.!！?？\s]|$)"
)
_NAME_QUESTION = re.compile(
    r"what(?:'s| is) my name|remember my name|who am i\b|我叫什么|我的名字是什么",
    re.IGNORECASE,
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_STOPWORDS = frozenset(
    [
        "what",
        "which",
        "where",
        "when",
        "about",
        "please",
        "could",
        "would",
        "should",
        "there",
        "their",
        "this",
        "that",
        "with",
        "from",
        "have",
        "your",
        "into",
        "tell",
        "explain",
        "write",
        "give",
        "make",
        "show",
        "does",
        "some",
    ]
)
_FILLER = [
    "signal",
    "noise",
    "river",
    "lantern",
    "orbit",
    "meadow",
    "quartz",
    "harbor",
    "velvet",
    "summit",
    "cascade",
    "ember",
    "falcon",
    "garden",
    "horizon",
    "island",
    "jasmine",
    "kernel",
    "ledger",
    "mosaic",
]


def _rng(*parts: str) -> random.Random:
    seed = hashlib.sha256("\x00".join(parts).encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


def remembered_name(context: Context) -> str | None:
    """The most recent name the user gave (or the system prompt stated)."""
    name = None
    for message in context:
        text = message["text"]
        if message["role"] == "user":
            if _NAME_QUESTION.search(text):
                continue
            found = _NAME_STATEMENT.search(text) or _NAME_CJK.search(text)
        elif message["role"] == "system":
            found = _NAME_IN_SYSTEM.search(text)
        else:
            continue
        if found:
            name = found.group(1).strip(" ,.!")
    return name


def compose(user_text: str, context: Context) -> str:
    """Answer text for the latest user text given the full context."""
    lowered = user_text.lower()
    cjk = bool(_CJK.search(user_text))
    if _NAME_QUESTION.search(user_text):
        name = remembered_name(context)
        if cjk:
            return f"当然记得，你叫{name}！" if name else "抱歉，我还不知道你的名字。"
        if name:
            return f"Yes, {name}! I remember your name. How can I assist you today?"
        return (
            "I'm sorry, but I don't know your name yet: you haven't told me in "
            "this conversation. What should I call you?"
        )
    stated = _NAME_STATEMENT.search(user_text) or _NAME_CJK.search(user_text)
    if stated:
        name = stated.group(1).strip(" ,.!")
        if cjk:
            return f"你好，{name}！我记住你的名字了。"
        return f"Nice to meet you, {name}! I'll remember your name."
    rng = _rng(user_text, str(len(context)))
    topic = _topic(user_text)
    if "table" in lowered or "compare" in lowered:
        return _table(topic)
    if re.search(r"\b(python|javascript|js|code|function|script)\b", lowered):
        return _code(topic, javascript=bool(re.search(r"\b(javascript|js)\b", lowered)))
    if "long" in lowered or "essay" in lowered:
        return _long(topic, rng)
    if cjk:
        return _chinese(user_text, rng)
    if re.search(r"\b(list|steps|tips|ways|bullet)\b", lowered):
        return _list(topic, rng)
    return _generic(topic, rng)


def _topic(user_text: str) -> str:
    words = [w for w in _WORD.findall(user_text) if w.lower() not in _STOPWORDS]
    picked = sorted(dict.fromkeys(words), key=len, reverse=True)[:3]
    return " ".join(picked) if picked else "your question"


def _generic(topic: str, rng: random.Random) -> str:
    openers = (
        f"Here is a short overview of **{topic}**.",
        f"Good question about *{topic}*.",
        f"Let's look at {topic} step by step.",
    )
    middles = (
        "The key idea is to start from the fundamentals and build up gradually, "
        "checking each assumption along the way.",
        "In practice, most of the difficulty comes from edge cases rather than "
        "the main path, so it pays to test them early.",
        "A useful mental model is to separate what changes often from what "
        "stays stable, and to design around that boundary.",
    )
    closers = (
        "Let me know if you would like a deeper dive into any part of this.",
        "I hope this helps; feel free to ask a follow-up question.",
    )
    return "\n\n".join(
        (rng.choice(openers), *rng.sample(middles, 2), rng.choice(closers))
    )


def _list(topic: str, rng: random.Random) -> str:
    points = [
        "**Start small**: get a minimal version working first.",
        "**Measure**: collect numbers before optimising anything.",
        "**Automate**: script the steps you repeat more than twice.",
        "**Document**: write down decisions and the reasons behind them.",
        "**Review**: ask a colleague to read the result with fresh eyes.",
        "**Iterate**: improve in small, verifiable increments.",
    ]
    rng.shuffle(points)
    numbered = rng.random() < 0.5
    lines = [f"{i}. {p}" if numbered else f"- {p}" for i, p in enumerate(points[:5], 1)]
    return (
        f"Here are some points about {topic}:\n\n"
        + "\n".join(lines)
        + ("\n\nEach of these can be applied independently.")
    )


def _table(topic: str) -> str:
    return (
        f"Here is a comparison related to {topic}:\n\n"
        "| Option | Speed | Cost | Best for |\n"
        "| --- | --- | --- | --- |\n"
        "| Alpha | Fast | $$ | Interactive use |\n"
        "| Beta | Medium | $ | Batch jobs |\n"
        "| Gamma | Slow | $ | Archival |\n\n"
        "In short: pick **Alpha** when latency matters and **Beta** otherwise."
    )


def _code(topic: str, *, javascript: bool) -> str:
    if javascript:
        return (
            f"Here is a JavaScript example for {topic}:\n\n"
            "```js\n"
            "function fibonacci(n) {\n"
            "  const seq = [0, 1];\n"
            "  while (seq.length < n) {\n"
            "    seq.push(seq.at(-1) + seq.at(-2));\n"
            "  }\n"
            "  return seq.slice(0, n);\n"
            "}\n\n"
            "console.log(fibonacci(10));\n"
            "```\n\n"
            "The function builds the sequence iteratively, so it runs in O(n)."
        )
    return (
        f"Here is a Python example for {topic}:\n\n"
        "```python\n"
        "def fibonacci(n: int) -> list[int]:\n"
        '    """Return the first n Fibonacci numbers."""\n'
        "    seq = [0, 1]\n"
        "    while len(seq) < n:\n"
        "        seq.append(seq[-1] + seq[-2])\n"
        "    return seq[:n]\n\n\n"
        "print(fibonacci(10))\n"
        "```\n\n"
        "Run it with `python fib.py`; it prints `[0, 1, 1, 2, 3, 5, 8, 13, 21, 34]`."
    )


def _long(topic: str, rng: random.Random) -> str:
    sections = []
    headings = ("Background", "Core ideas", "Trade-offs", "Practice", "Outlook")
    for index in range(12):
        sentences = []
        for _ in range(5):
            words = rng.sample(_FILLER, 6)
            sentences.append(
                f"The {words[0]} of {topic} relates to {words[1]} and {words[2]}, "
                f"much as a {words[3]} shapes the {words[4]} near the {words[5]}."
            )
        body = " ".join(sentences)
        if index % 3 == 0:
            sections.append(f"## {headings[(index // 3) % len(headings)]}\n\n{body}")
        else:
            sections.append(body)
    return "\n\n".join(sections)


def _chinese(user_text: str, rng: random.Random) -> str:
    paragraphs = (
        "这是一个很好的问题。我们可以从基本概念出发，逐步深入理解。",
        "在实践中，大部分困难来自边界情况，而不是主要流程，因此尽早测试它们非常重要。",
        "一个有用的思路是把经常变化的部分和保持稳定的部分分开，并围绕这个边界进行设计。",
        "如果你愿意，我可以进一步详细解释其中的任何一个方面。",
    )
    chosen = [paragraphs[0], *rng.sample(paragraphs[1:3], 2), paragraphs[3]]
    return "\n\n".join(chosen)


def token_answer(count: int) -> list[str]:
    """Exactly `count` deltas: deterministic words."""
    return [("" if i == 0 else " ") + _FILLER[i % len(_FILLER)] for i in range(count)]


def prose_answer(first_word: str, count: int, *, paragraph: int = 25) -> str:
    """`count` words of plain prose starting with `first_word`, in paragraphs."""
    words = [first_word or _FILLER[0]]
    words += [_FILLER[i % len(_FILLER)] for i in range(count - 1)]
    return "\n\n".join(
        " ".join(words[i : i + paragraph]) for i in range(0, len(words), paragraph)
    )


_UNIT = re.compile(
    r"\s*[\u3000-\u9fff\uff00-\uffef]|\s*[^\s\u3000-\u9fff\uff00-\uffef]+"
)


def split_deltas(text: str) -> list[str]:
    """Cut text into deltas of 1-4 words (1-3 CJK characters), like DashScope.

    Whitespace sticks to the following word (" lives and work"), and the
    pieces always join back to exactly `text`.
    """
    units = _UNIT.findall(text)
    consumed = sum(map(len, units))
    if consumed < len(text):
        units.append(text[consumed:])
    rng = _rng("split", text[:64], str(len(text)))
    deltas: list[str] = []
    index = 0
    while index < len(units):
        size = rng.randint(1, 3 if _CJK.match(units[index].strip() or "a") else 4)
        deltas.append("".join(units[index : index + size]))
        index += size
    return deltas
