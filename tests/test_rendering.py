import itertools
import random
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations import rendering
from conversations.rendering import (
    StreamingMarkdown,
    plain_paragraph_html,
    pygments_css,
    render_markdown,
    split_stable,
)

REPO = Path(__file__).resolve().parent.parent


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text += data


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def tag_names(html: str) -> list[str]:
    return [tag for tag, _ in parse(html).tags]


# --- ordinary Markdown ----------------------------------------------------------


def test_it_renders_headings_emphasis_and_lists():
    html = render_markdown(
        "# Title\n\n## Sub\n\n*a* **b** ~~c~~\n\n- one\n- two\n\n1. x"
    )

    assert "<h1>Title</h1>" in html
    assert "<h2>Sub</h2>" in html
    assert "<em>a</em> <strong>b</strong> <s>c</s>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<ol>\n<li>x</li>\n</ol>" in html


def test_it_keeps_the_start_of_an_ordered_list():
    assert '<ol start="3">' in render_markdown("3. three\n4. four")


def test_it_renders_tables_with_alignment_as_classes():
    html = render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |")

    assert tag_names(html) == [
        "table", "thead", "tr", "th", "th", "th",
        "tbody", "tr", "td", "td", "td",
    ]  # fmt: skip
    assert '<th class="align-left">a</th>' in html
    assert '<td class="align-center">2</td>' in html
    assert '<td class="align-right">3</td>' in html
    assert "style" not in html


def test_it_highlights_fenced_code_with_classes_and_a_copy_button():
    html = render_markdown('```python\ndef f():\n    return "<x>"\n```')

    assert html == (
        '<div class="codeblock"><div class="codeblock-bar">'
        '<span class="codeblock-lang">python</span>'
        '<button class="copy-button" data-copy="" type="button">Copy</button>'
        '</div><pre><code class="highlight language-python">'
        '<span class="k">def</span><span class="w"> </span><span class="nf">f</span>'
        '<span class="p">():</span>\n'
        '    <span class="k">return</span> <span class="s2">"&lt;x&gt;"</span>\n'
        "</code></pre></div>\n"
    )


def test_it_keeps_blank_lines_inside_highlighted_code():
    html = render_markdown("```python\n\nx = 1\n\n\ny = 2\n```")

    # Label, button text, then the code exactly as written.
    assert parse(html).text == "pythonCopy\nx = 1\n\n\ny = 2\n\n"


def test_it_shows_unknown_languages_as_plain_escaped_text():
    html = render_markdown("```nosuchlang\n<b>&amp;</b>\n```")

    assert '<code class="highlight language-nosuchlang">' in html
    assert "&lt;b&gt;&amp;amp;&lt;/b&gt;\n</code>" in html
    assert '<span class="codeblock-lang">nosuchlang</span>' in html


def test_it_gives_indented_code_the_same_frame():
    html = render_markdown("    plain code")

    assert '<span class="codeblock-lang">text</span>' in html
    assert '<code class="highlight">plain code\n</code>' in html


def test_it_opens_links_in_a_new_tab_without_referrer():
    html = render_markdown("[docs](https://example.com/a?b=1 'T') <mailto:a@b.example>")

    links = [attrs for tag, attrs in parse(html).tags if tag == "a"]
    assert links == [
        {
            "href": "https://example.com/a?b=1",
            "title": "T",
            "target": "_blank",
            "rel": "noopener noreferrer nofollow",
        },
        {
            "href": "mailto:a@b.example",
            "target": "_blank",
            "rel": "noopener noreferrer nofollow",
        },
    ]


def test_it_drops_relative_hrefs():
    html = render_markdown("[admin](/admin/) [up](../x) [frag](#top)")

    links = [attrs for tag, attrs in parse(html).tags if tag == "a"]
    assert [attrs.get("href") for attrs in links] == [None, None, None]


def test_it_turns_images_into_links_that_do_not_load():
    html = render_markdown('![a *cat*](https://img.example/cat.png "Cat")')

    assert html == (
        '<p><a class="md-image" href="https://img.example/cat.png" title="Cat" '
        'target="_blank" rel="noopener noreferrer nofollow">🖼 a cat</a></p>\n'
    )


def test_it_shows_images_with_other_schemes_as_text_only():
    html = render_markdown(
        "![pic](data:image/png;base64,iVBORw0K) ![rel](/media/x.png)"
    )

    assert html == (
        '<p><span class="md-image">🖼 pic</span> <span class="md-image">🖼 rel</span>'
        "</p>\n"
    )


def test_it_does_not_nest_an_image_link_inside_a_link():
    html = render_markdown("[![badge](https://img.example/b.svg)](https://example.com)")

    assert tag_names(html) == ["p", "a", "span"]
    assert parse(html).tags[1][1]["href"] == "https://example.com"


# --- hostile input --------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=https://evil.example></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    "<style>body{display:none}</style>",
    '<form action="https://evil.example"><input name=p></form>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<object data="https://evil.example/x.swf"></object>',
    '<embed src="https://evil.example/x.swf">',
    '<div style="background:url(https://evil.example)">x</div>',
    "<details open ontoggle=alert(1)>",
    "**<img src=x onerror=alert(1)>**",
    "> <script>alert(1)</script>\n> - <iframe src=x>",
    "- [x](javascript:alert(1))\n- <b onmouseover=alert(1)>hi</b>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](  javascript:alert(1))",
    "[x](java&#115;cript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java%73cript:alert(1))",
    "[x](jav\tascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](file:///etc/passwd)",
    "[x](//evil.example/x)",
    "![x](https://evil.example/steal?d=secret)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "[x][r]\n\n[r]: javascript:alert(1)",
    '[x][r]\n\n[r]: https://ok.example "><script>alert(1)</script>"',
    '[x](https://ok.example "\\"><script>alert(1)</script>")',
    '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
    '![x" onerror="alert(1)](https://ok.example/i.png)',
    '```"><script>alert(1)</script>\nx\n```',
    "```python onload=alert(1)\nx\n```",
    "~~~<img src=x onerror=alert(1)>\nx\n~~~",
    "`<script>alert(1)</script>`",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "[<img src=x onerror=alert(1)>](https://ok.example)",
    '<https://ok.example/"onmouseover="alert(1)>',
    "| a |\n|---|\n| <script>alert(1)</script> |",
    "<base href=https://evil.example/>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    '<button formaction="javascript:alert(1)">x</button>',
]

FORBIDDEN_TAGS = {
    "script", "iframe", "object", "embed", "style", "img", "svg", "form",
    "meta", "input", "base", "link", "math", "details",
}  # fmt: skip
SAFE_SCHEMES = ("http://", "https://", "mailto:")


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_markdown_renders_inert(payload):
    html = render_markdown(payload)
    parsed = parse(html)

    for tag, attrs in parsed.tags:
        assert tag not in FORBIDDEN_TAGS, html
        for name, value in attrs.items():
            assert not name.startswith("on"), html
            assert name not in {"style", "src", "srcset", "formaction", "action"}, html
            if name == "href":
                assert value is not None
                assert value.startswith(SAFE_SCHEMES), html
        if tag == "a":
            assert {"noopener", "noreferrer"} <= set(attrs["rel"].split()), html
            assert attrs["target"] == "_blank", html


def test_the_hostility_corpus_is_large_enough():
    assert len(HOSTILE) >= 25


def test_raw_html_is_shown_as_text():
    html = render_markdown("<script>alert(1)</script>")

    assert html == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"


def test_a_javascript_link_stays_text():
    assert render_markdown("[x](javascript:alert(1))") == (
        "<p>[x](javascript:alert(1))</p>\n"
    )


def test_a_hostile_fence_language_is_escaped_and_not_a_class():
    html = render_markdown('```"><script>alert(1)</script>\nx\n```')

    code = next(attrs for tag, attrs in parse(html).tags if tag == "code")
    assert code == {"class": "highlight"}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</span>" in html


# --- streaming ------------------------------------------------------------------

DOCUMENTS = {
    "paragraphs_and_headings": (
        "# Plan\n\nFirst paragraph with *emphasis*\nwrapping onto a second line.\n\n"
        "## Details\nText right under a heading.\n\n---\n\nLast words."
    ),
    "loose_and_tight_lists": (
        "Intro\n\n- one\n- two\n\n- three after a blank line\n\n"
        "  continued inside three\n\n1. first\n\n2. second\n\n"
        "   ```\n   code in item\n\n   more\n   ```\n\n"
        "Outro paragraph.\n\n- tight\n- end"
    ),
    "tables": (
        "| Name | Qty |\n|:-----|----:|\n| apple | 1 |\n| pear | 22 |\n\n"
        "Between tables.\n\n| a |\n|---|\n| b |\n\n"
        "Text\n| x | y |\n|---|---|\n| 1 | 2 |"
    ),
    "code_fences_with_blank_lines": (
        "Look:\n\n```python\nimport os\n\n\ndef main():\n\n    return 1\n```\n\n"
        "~~~\nplain\n\n```\nnot a closer for tildes\n~~~\n\n"
        "````md\n```\ninner\n\n```\n````\n\n    indented\n\n    still indented\n\nDone."
    ),
    "blockquotes_and_setext": (
        "> quoted\n> more\n\n> second quote\nlazy line\n\nSetext\n======\n\n"
        "Another\n---\n\n> - list in quote\n>\n> - loose"
    ),
    "reference_links": (
        "See [the docs][docs] and [home].\n\nMore text.\n\n"
        '[docs]: https://docs.example/ "Docs"\n[home]: https://home.example/\n\n'
        "Tail paragraph uses [docs]."
    ),
    "numbers_typed_after_a_list": (
        "1. first\n\n2. second\n\n10. tenth\n\n2\n\n- a\n\n-\n\n* b\n\n+ c\n\n"
        "Para\n\n  indented para\n\n# h\n\n|a|\n|-|\n\n    code\n\n  - deep\n"
    ),
    "unclosed_fence": "Start\n\n```js\nlet a = 1;\n\nlet b = 2;\n\nnever closed",
    "crlf_newlines": (
        "Para one\r\n\r\n- a\r\n- b\r\n\r\n```\r\nx\r\n\r\ny\r\n```\r\n\r\nEnd"
    ),
}


def assert_streams_as_it_renders(text: str, ends) -> None:
    """Every frame equals a full streaming render of the text so far, and the
    final frame a full render of the whole (code highlighted)."""
    stream = StreamingMarkdown()
    for end in ends:
        frame = stream.feed(text[:end])
        assert frame.stable_html + frame.tail_html == render_markdown(
            text[:end], streaming=True
        ), text[:end]
    last = stream.feed(text, final=True)
    assert last.stable_html + last.tail_html == render_markdown(text)


def frame_ends(length: int, steps: list[int]) -> list[int]:
    """Where frames end when deltas come in `steps` characters, cycled."""
    ends, end = [], 0
    for step in itertools.cycle(steps):
        end = min(length, end + step)
        ends.append(end)
        if end == length:
            return ends
    return ends


@pytest.mark.parametrize("name", DOCUMENTS)
def test_streaming_frames_always_match_a_full_render(name):
    text = DOCUMENTS[name]
    assert_streams_as_it_renders(text, range(1, len(text) + 1))


FRAGMENTS = [
    "Para",
    "text *em",
    "- item",
    "* star",
    "1. one",
    "2) two",
    "  indented",
    "    code",
    "```",
    "~~~py",
    "> quote",
    "| a | b |",
    "|---|:-:|",
    "---",
    "===",
    "# Head",
    "",
    "",
    "[r]: https://r.example",
    "[link][r]",
    "```python",
    "\tdef f():",
    "<pre>",
    "</pre>",
    "> [q]: https://q.example",
    "  - nested",
    "text [a",
    "b](https://l.example)",
]


@pytest.mark.parametrize("seed", range(40))
def test_streaming_matches_a_full_render_on_generated_documents(seed):
    rng = random.Random(seed)
    text = "\n".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(5, 30)))
    # Character by character, and in deltas of a few characters (frames skip
    # the block split while the deltas stay within the last line).
    for steps in ([1], [rng.randint(1, 6) for _ in range(50)]):
        assert_streams_as_it_renders(text, frame_ends(len(text), steps))


@pytest.mark.parametrize("name", DOCUMENTS)
def test_split_stable_parts_render_like_the_whole(name):
    text = DOCUMENTS[name].replace("\r\n", "\n")

    stable, tail = split_stable(text)

    assert stable + tail == text
    if name != "reference_links":
        assert render_markdown(stable) + render_markdown(tail) == render_markdown(text)


def test_split_stable_never_splits_inside_a_fence_or_a_list():
    fence = "Intro\n\n```\na\n\nb\n\nc"
    assert split_stable(fence) == ("Intro\n\n", "```\na\n\nb\n\nc")

    loose_list = "- a\n\n- b\n\n  more b\n\n- c"
    assert split_stable(loose_list) == ("", loose_list)

    indented = "    code\n\n    more code"
    assert split_stable(indented) == ("", indented)


def test_split_stable_splits_before_the_last_block():
    assert split_stable("one\n\ntwo\n\nthr\n") == ("one\n\ntwo\n\n", "thr\n")
    assert split_stable("one\n\ntwo\n\n") == ("one\n\n", "two\n\n")
    assert split_stable("only one") == ("", "only one")


def test_split_stable_waits_for_the_first_line_of_the_last_block():
    # "2" would be a paragraph ending the list; "2." makes the list loose.
    assert split_stable("1. a\n\n2") == ("", "1. a\n\n2")
    assert split_stable("one\n\ntwo\n\nthr") == ("one\n\n", "two\n\nthr")


class _CountingStream(StreamingMarkdown):
    def __init__(self) -> None:
        super().__init__()
        self.rendered: list[str] = []

    def _render(self, text, *, streaming=False):
        self.rendered.append(text)
        return super()._render(text, streaming=streaming)


def test_each_stable_block_is_rendered_once():
    paragraphs = [f"Paragraph {n} with some words.\n\n" for n in range(30)]
    text = "".join(paragraphs)
    stream = _CountingStream()
    stable_renders: list[str] = []
    changes = 0

    for end in range(1, len(text) + 1):
        stream.rendered.clear()
        frame = stream.feed(text[:end])
        changes += frame.stable_changed
        # Text that just became stable ends with the blank line that closed
        # it; the tail, when rendered (not a growing line of prose), is last.
        stable_renders.extend(r for r in stream.rendered if r.endswith("\n\n"))
        tail = [r for r in stream.rendered if not r.endswith("\n\n")]
        assert len(tail) <= 1
        assert not tail or text[:end].endswith(tail[0])

    # A paragraph of prose is final once a blank line closes it: the last
    # one too, though no block follows it yet.
    assert stable_renders == paragraphs
    assert changes == 30


def test_the_stable_html_only_grows_while_the_text_grows():
    text = DOCUMENTS["loose_and_tight_lists"]
    stream = StreamingMarkdown()
    previous = ""

    for end in range(1, len(text) + 1):
        frame = stream.feed(text[:end])
        assert frame.stable_html.startswith(previous)
        assert frame.stable_changed == (frame.stable_html != previous)
        previous = frame.stable_html


def test_it_starts_over_when_the_text_is_not_an_extension():
    stream = StreamingMarkdown()
    stream.feed("first\n\nsecond\n\nthird")

    frame = stream.feed("other\n\ntext\n")

    assert frame == (True, "<p>other</p>\n", "<p>text</p>\n")


def test_a_reference_definition_switches_to_whole_document_rendering():
    stream = _CountingStream()
    stream.feed("[x][r]\n\nmiddle\n\nlast")
    stream.rendered.clear()

    frame = stream.feed("[x][r]\n\nmiddle\n\n[r]: https://r.example\n\nend")

    assert frame.stable_changed
    assert frame.stable_html == ""
    assert frame.tail_html == render_markdown(
        "[x][r]\n\nmiddle\n\n[r]: https://r.example\n\nend"
    )
    assert 'href="https://r.example"' in frame.tail_html
    assert stream.rendered == ["[x][r]\n\nmiddle\n\n[r]: https://r.example\n\nend"]


# --- stylesheet -----------------------------------------------------------------


def test_pygments_css_has_light_and_dark_themes():
    css = pygments_css()

    assert ':root[data-theme="light"] .highlight .k {' in css
    assert ':root[data-theme="dark"] .highlight .k {' in css
    assert "@media (prefers-color-scheme: dark) {" in css
    assert "@media not all and (prefers-color-scheme: dark) {" in css
    assert "\npre " not in css


def test_the_committed_stylesheet_is_up_to_date():
    committed = (REPO / "static" / "css" / "pygments.css").read_text()

    assert committed == pygments_css()


def test_big_code_blocks_are_not_highlighted(monkeypatch):
    monkeypatch.setattr(rendering, "MAX_HIGHLIGHT_CHARS", 10)

    html = render_markdown("```python\nx = 1 + 2 + 3\n```")

    assert '<code class="highlight language-python">x = 1 + 2 + 3\n</code>' in html


ALPHABET = (
    "abcXYZé你好ß0189 \n\t\xa0\u200b"
    + "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    + "，。！？、；：（）「」《》“”‘’…—"  # noqa: RUF001
)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_the_plain_prose_shortcut_renders_exactly_as_markdown(text):
    # Streamed tails skip the parser when they are one line of prose; whatever
    # the shortcut accepts must come out as the full renderer would make it.
    shortcut = plain_paragraph_html(text)

    assert shortcut in ("", render_markdown(text))


def test_the_plain_prose_shortcut_takes_ordinary_sentences():
    sentence = "The river's flow (in m3/s) rose 20% on Monday: see the report."

    assert plain_paragraph_html(sentence) == f"<p>{sentence}</p>\n"
    assert plain_paragraph_html("Some **bold** text") == ""
    assert plain_paragraph_html("- a list item") == ""


PROSE_AND_BLOCKS = [
    "Plain prose, with commas: and 20% more.",
    "Another line (of prose)",
    "",
    "",
    "  ",
    "- item",
    "2. two",
    "2",
    "    code",
    "===",
    "> quote",
    "[r]: https://r.example",
    "see [link][r]",
    "| a |",
    "|---|",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PROSE_AND_BLOCKS), min_size=1, max_size=12))
def test_streaming_prose_between_other_blocks_matches_a_full_render(lines):
    # Closed paragraphs of prose become final without a parse: whatever
    # follows them, every frame must still equal a full render.
    text = "\n".join(lines)
    assert_streams_as_it_renders(text, range(1, len(text) + 1))


PIECES = [*ALPHABET, "\r\n", "\r\n", "\r", "Some words", "- ", "1. ", "```"]


@settings(max_examples=600, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=30).map("".join),
    st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=20),
)
def test_streaming_in_uneven_deltas_matches_a_full_render(text, steps):
    # Each frame only looks at what the deltas added (newlines normalised,
    # a growing line of prose checked where it grew), "\r\n" split or not.
    assert_streams_as_it_renders(text, frame_ends(len(text), steps))


CLOSED_FENCES = [
    "```python\nx = 1\n```",
    "```python\nx = 1\n```\n",
    "```python\n```",
    "~~~python\nx = 1\n~~~~~",
    "> ```python\n> x = 1\n> ```",
    "- item\n\n  ```python\n  x = 1\n  ```",
    "Text\n```python\nx = 1\n```\nmore text",
    # Ended by their list item or quote, not by a fence: as final.
    "- a\n  ```python\n  x = 1\n- b",
    "> ```python\n> x = 1\n\nAfter the quote.",
]
OPEN_FENCES = [
    "```python",
    "```python\n",
    "```python\nx = 1",
    "```python\nx = 1\n",
    "````python\nx = 1\n```",
    "~~~python\nx = 1\n```",
    "```python\nx = 1\n``",
    "```python\nx = 1\n    ",
    "- a\n  ```python\n  x = 1",
    "> ```python\n> x = 1",
]


@pytest.mark.parametrize("text", CLOSED_FENCES)
def test_a_closed_code_block_is_highlighted_while_streaming_too(text):
    assert render_markdown(text, streaming=True) == render_markdown(text)
    assert '<span class="' in render_markdown(text, streaming=True)


@pytest.mark.parametrize("text", OPEN_FENCES)
def test_a_code_block_still_being_written_streams_unhighlighted(text):
    streamed = render_markdown(text, streaming=True)
    # Same block, same Copy button and label; colours come when it closes.
    assert '<div class="codeblock">' in streamed and ">python</span>" in streamed
    assert '<span class="' not in streamed.split("<pre>", 1)[1]
    if "x = 1" in text:
        assert "x = 1" in streamed
        assert '<span class="' in render_markdown(text)


def test_the_final_frame_of_a_reply_cut_inside_a_code_block_is_highlighted():
    text = "Here:\n\n```python\ndef f():\n    return 1"
    stream = StreamingMarkdown()
    for end in range(1, len(text) + 1):
        frame = stream.feed(text[:end])
    assert '<span class="' not in frame.tail_html.split("<pre>", 1)[1]
    last = stream.feed(text, final=True)
    assert last.stable_html + last.tail_html == render_markdown(text)
    assert '<span class="k">def</span>' in last.tail_html


# Lists whose items are rendered once each while the list is tight
# (rendering._TightListTail), beside every way a list can stop being one.
TIGHT_LISTS = {
    "inline_markup": (
        "Points:\n\n- one *em* and `code`\n- two [link](https://a.example)\n"
        "- three **bold** <b>tag</b> &amp; more\n"
    ),
    "ordered_from_three": "3) three\n4) four\n10) ten\n    continued\n11) eleven",
    "nested": "- a\n  - a1\n  - a2\n- b\n  1. b1\n  2. b2\n- c",
    "code_in_items": (
        "- run:\n  ```sh\n  ls -la\n  ```\n- then\n  ```python\n  x = 1\n"
        "- after the open one\n  ```\n  more"
    ),
    "markers_change": "- a\n- b\n* c\n* d\n+ e\n1. f\n1) g",
    "lazy_line": "- a\n- b\nlazy text\n- c",
    "thematic_breaks": "- a\n- - -\n- b\n* * *\n- c\n***\n",
    "reference_in_an_item": "- see [x]\n- [x]: https://x.example\n- b [x]",
    "turns_loose": "- a\n- b\n\n- c\n- d\n\nAfter.",
    "blocks_in_items": "- # h\n- > q\n  > more\n- <div>html</div>\n- | a |\n  |---|\n",
    "table_after": "- a\n- b\n| x | y |\n|---|---|\n| 1 | 2 |",
    "short_indents": "9. nine\n10. ten\n    deep\n   short\n11. eleven\n  two",
    "empty_items": "- a\n-\n- b\n- \n- c\n-",
    "wide_text": "- 你好，世界\n- emoji 🎉 and ünïcode\n- tab\there\n-\ttabbed",  # noqa: RUF001
    "crlf": "- a\r\n- b\r\n  c\r\n- d\r\n",
    "setext_and_indented": "- a\n---\n- b\n  ===\n- c\n      code",
}


@pytest.mark.parametrize("name", TIGHT_LISTS)
def test_a_list_streams_as_it_renders(name):
    text = TIGHT_LISTS[name]
    assert_streams_as_it_renders(text, range(1, len(text) + 1))


def test_a_long_tight_list_renders_each_finished_item_once(monkeypatch):
    items = [f"- point {n}, with *emphasis*\n" for n in range(40)]
    text = "Points:\n\n" + "".join(items)
    rendered: list[str] = []
    original = rendering.render_markdown

    def counting(source, **kwargs):
        rendered.append(source)
        return original(source, **kwargs)

    monkeypatch.setattr(rendering, "render_markdown", counting)
    stream = StreamingMarkdown()
    for end in frame_ends(len(text), [3, 5]):
        stream.feed(text[:end])

    # Each frame renders the item being written (and the start of the next);
    # the others come from before.
    assert rendered.count(items[0]) == 1
    assert max(len(source) for source in rendered) < 3 * len(items[0])
    monkeypatch.undo()
    assert stream.feed(text, final=True).tail_html == render_markdown("".join(items))


LIST_LINES = [
    "- item *em*",
    "- item `code`",
    "* star",
    "+ plus",
    "1. one",
    "2) two",
    "10. ten",
    "  continued",
    "    deeper",
    "   three",
    "  - nested",
    "  ```py",
    "  x = 1",
    "  ```",
    "- - -",
    "---",
    "lazy",
    "",
    "-",
    "- [x]: https://x.example",
    "> quote",
    "> ```py",
    "```",
    "- a\r",
    "| a |",
    "\tx",
]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(LIST_LINES), min_size=1, max_size=14),
    st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=10),
)
def test_any_list_streams_as_it_renders(lines, steps):
    # Items of a tight list are rendered once; a list that turns loose, ends,
    # or is not one is rendered whole: either way each frame is a full render.
    text = "\n".join(["- first", *lines])
    assert_streams_as_it_renders(text, frame_ends(len(text), steps))
