"""The whole corpus through the real rendering pipeline, final and streamed."""

from html.parser import HTMLParser

import pytest

from conversations.rendering import StreamingMarkdown, render_markdown
from tests.security.corpus import CORPUS

ALLOWED_TAGS = {
    "a", "blockquote", "br", "button", "code", "div", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "li", "ol", "p", "pre", "s", "span", "strong",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
# Attributes that can load, run or restyle something.
DANGEROUS_ATTRS = {"src", "srcset", "style", "background", "poster", "ping", "data"}


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def check_inert(html: str) -> None:
    collector = Collector()
    collector.feed(html)
    for tag, attrs in collector.tags:
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, html)
            assert name not in DANGEROUS_ATTRS, (name, html)
            if name == "href":
                assert value.startswith(("http://", "https://", "mailto:")), html


@pytest.mark.parametrize("payload", CORPUS)
def test_each_payload_renders_inert(payload):
    check_inert(render_markdown(payload))


@pytest.mark.parametrize("payload", CORPUS)
def test_each_payload_stays_inert_in_every_streamed_frame(payload):
    stream = StreamingMarkdown()
    for end in range(1, len(payload) + 1, 3):
        frame = stream.feed(payload[:end])
        check_inert(frame.stable_html + frame.tail_html)


def test_the_corpus_covers_scripts_and_exfiltration():
    assert len(CORPUS) >= 100
    assert sum("evil.invalid" in p for p in CORPUS) >= 25
