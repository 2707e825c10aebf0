"""Search over the threads a user may read: titles and message text.

On PostgreSQL message text is matched with full-text search (the `simple`
configuration, so no language's stemming surprises people writing in two
languages), served by the GIN index of migration 0008, which leaves out
replies still being written (their text is saved every second). SQLite
has no such thing, and the `simple` parser keeps a run of Chinese characters as
one token (so "世界" would not find "你好世界"): both fall back to a
case-insensitive substring match.
"""

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from conversations.access import AnyUser, threads_visible_to
from conversations.models import Message, Thread

MAX_QUERY_CHARS = 200
# Characters of context shown either side of the first match.
SNIPPET_RADIUS = 80
# CJK ideographs, kana and Hangul: scripts written without spaces between words.
_CJK = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
_TERM = re.compile(r'"([^"]+)"|(\S+)')


@dataclass(frozen=True, slots=True)
class Hit:
    thread: Thread
    message: Message | None  # None: the title matched
    snippet: SafeString

    @property
    def url(self) -> str:
        base = self.thread.get_absolute_url()
        if self.message is None:
            return base
        # `msg` makes the page include the message even if it is older than
        # the turns a long thread shows first; the fragment scrolls to it.
        return f"{base}?msg={self.message.pk}#msg-{self.message.pk}"


def terms_of(query: str) -> list[str]:
    """Words of the query; "quoted phrases" stay whole."""
    query = query.strip()[:MAX_QUERY_CHARS]
    terms = [a or b for a, b in _TERM.findall(query)]
    return [t for t in terms if t.strip('"')]


def highlight(
    text: str, terms: list[str], *, radius: int = SNIPPET_RADIUS
) -> SafeString:
    """An escaped excerpt of `text` around its first match, matches in <mark>.

    Every piece of user or model text is escaped here, so the result is safe
    to insert as HTML.
    """
    text = " ".join(text.split())
    if not terms:
        return escape(text[: 2 * radius])
    pattern = re.compile(
        "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)),
        re.IGNORECASE,
    )
    first = pattern.search(text)
    start = max(0, first.start() - radius) if first else 0
    end = min(len(text), (first.end() if first else 0) + radius)
    excerpt = text[start:end]
    parts: list[str] = ["…"] if start > 0 else []
    cursor = 0
    for match in pattern.finditer(excerpt):
        parts.append(escape(excerpt[cursor : match.start()]))
        parts.append(f"<mark>{escape(match.group())}</mark>")
        cursor = match.end()
    parts.append(escape(excerpt[cursor:]))
    if end < len(text):
        parts.append("…")
    return mark_safe("".join(parts))


def _uses_full_text(query: str) -> bool:
    return connection.vendor == "postgresql" and not _CJK.search(query)


def _prefix_query(terms: list[str]) -> str:
    """A tsquery where every term matches words starting with it ("river" finds
    "rivers"), as a substring match would. Each term is a quoted lexeme, so
    nothing the user types is read as tsquery syntax."""
    quoted = ("'" + t.replace("\\", "\\\\").replace("'", "''") + "':*" for t in terms)
    return " & ".join(quoted)


def text_matches(messages: QuerySet[Message], query: str) -> QuerySet[Message]:
    """`messages` whose text contains every term of `query`. A reply still
    being written is found once it ends: the index leaves it out until then."""
    terms = terms_of(query)
    messages = messages.exclude(status=Message.Status.STREAMING)
    if _uses_full_text(query):
        # Imported here: django.contrib.postgres needs psycopg, which an
        # SQLite-only install may lack.
        from django.contrib.postgres.search import SearchQuery, SearchVector

        return messages.annotate(document=SearchVector("text", config="simple")).filter(
            document=SearchQuery(
                _prefix_query(terms), config="simple", search_type="raw"
            )
        )
    condition = Q()
    for term in terms:
        condition &= Q(text__icontains=term)
    return messages.filter(condition)


def search(user: AnyUser, query: str, *, limit: int = 50) -> list[Hit]:
    """Threads whose title matches, then messages, newest first."""
    terms = terms_of(query)
    if not terms:
        return []
    threads = threads_visible_to(user)
    title_condition = Q()
    for term in terms:
        title_condition &= Q(title__icontains=term)
    hits = [
        Hit(thread=t, message=None, snippet=highlight(t.title, terms))
        for t in threads.filter(title_condition).order_by("-last_activity_at")[:10]
    ]
    messages = (
        text_matches(Message.objects.filter(thread__in=threads).exclude(text=""), query)
        .select_related("thread", "author")
        .defer("html", "settings_used", "thread__instructions")
        .order_by("-created_at", "-pk")[:limit]
    )
    hits.extend(
        Hit(thread=m.thread, message=m, snippet=highlight(m.text, terms))
        for m in messages
    )
    return hits
