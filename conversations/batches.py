"""Thread titles and summaries for many threads at once, through the Batch API.

Half the price of real-time calls, at the cost of waiting: a JSONL file of
Chat Completions requests is uploaded (`purpose=batch`), a batch created and
polled until it ends, its output and error files fetched, and each line
applied. Lines that failed are sent again in a new batch of their own (up to
`max_attempts`), so one bad line never costs the others. Every batch is a
`BatchJob` row, so admins see progress and outcome.
"""

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from conversations import gateway
from conversations.models import BatchJob, Message, Thread
from conversations.selectors import path_to
from conversations.services import title_from

logger = logging.getLogger(__name__)

TERMINAL = ("completed", "failed", "expired", "cancelled")
PROMPT = (
    "Give this conversation a short title (at most six words) and a one-sentence "
    'summary. Answer with JSON only: {"title": "...", "summary": "..."}.'
)
TRANSCRIPT_CHARS = 6000


@dataclass
class TitlesOutcome:
    jobs: list[BatchJob] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def threads_needing_titles(*, include_summarised: bool = False) -> list[Thread]:
    threads = Thread.objects.filter(
        messages__status=Message.Status.COMPLETED,
        messages__role=Message.Role.ASSISTANT,
    ).distinct()
    if not include_summarised:
        threads = threads.filter(summary="")
    return list(threads.order_by("created_at"))


def _transcript(thread: Thread) -> str:
    if thread.active_leaf_id is None:
        return ""
    lines = [
        f"{m.role}: {m.text}"
        for m in path_to(thread.pk, thread.active_leaf_id)
        if m.text and not m.moderated
    ]
    return "\n".join(lines)[-TRANSCRIPT_CHARS:]


def _line(thread: Thread) -> dict[str, Any]:
    return {
        "custom_id": f"thread-{thread.pk}",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": settings.QWEN_BATCH_MODEL,
            "messages": [
                {"role": "system", "content": PROMPT},
                {"role": "user", "content": _transcript(thread)},
            ],
            "response_format": {"type": "json_object"},
        },
    }


def _parse(row: dict[str, Any]) -> tuple[str, str]:
    """(title, summary) from one output line; ValueError when unusable."""
    body = (row.get("response") or {}).get("body") or {}
    content = body["choices"][0]["message"]["content"]
    data = json.loads(content)
    title = " ".join(str(data.get("title") or "").split())[:200]
    summary = " ".join(str(data.get("summary") or "").split())[:1000]
    if not title:
        raise ValueError("the answer has no title")
    return title, summary


@transaction.atomic
def thread_apply_summary(*, thread_id: str, title: str, summary: str) -> None:
    """Store a summary; the title only if nobody chose one by hand."""
    thread = Thread.objects.select_for_update().get(pk=thread_id)
    first = thread.messages.filter(role=Message.Role.USER).order_by("pk").first()
    automatic = not thread.title or (
        first is not None and thread.title == title_from(first.text)
    )
    thread.summary = summary
    fields = ["summary", "updated_at"]
    if automatic:
        thread.title = title
        fields.append("title")
    thread.save(update_fields=fields)


def _jsonl_rows(file_id: str | None) -> list[dict[str, Any]]:
    if not file_id:
        return []
    data = async_to_sync(gateway.file_content)(file_id)
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def _run_one(
    lines: list[dict[str, Any]],
    attempt: int,
    *,
    poll_seconds: float,
    report: Callable[[str], None],
) -> tuple[BatchJob, dict[str, tuple[str, str]], dict[str, str]]:
    job = BatchJob.objects.create(
        attempt=attempt,
        total=len(lines),
        lines={line["custom_id"]: "pending" for line in lines},
    )
    try:
        job.input_file_id = async_to_sync(gateway.file_upload)(
            name=f"titles-{job.pk}.jsonl", data=gateway.jsonl(lines), purpose="batch"
        )
        batch = async_to_sync(gateway.batch_create)(
            input_file_id=job.input_file_id,
            completion_window=settings.QWEN_BATCH_COMPLETION_WINDOW,
            metadata={
                "ds_name": "thread-titles",
                "ds_description": f"Titles and summaries, attempt {attempt}",
            },
        )
        job.batch_id = batch["id"]
        while True:
            job.status = batch["status"]
            counts = batch.get("request_counts") or {}
            job.completed = counts.get("completed") or 0
            job.failed = counts.get("failed") or 0
            job.save()
            report(f"Batch {job.batch_id}: {job.status}")
            if job.status in TERMINAL:
                break
            if poll_seconds:
                time.sleep(poll_seconds)  # the batch runs upstream for minutes to hours
            batch = async_to_sync(gateway.batch_retrieve)(job.batch_id)
        job.output_file_id = batch.get("output_file_id") or ""
        job.error_file_id = batch.get("error_file_id") or ""
        outputs = _jsonl_rows(job.output_file_id)
        errors = _jsonl_rows(job.error_file_id)
    except gateway.CompatError as exc:
        job.status = "failed"
        job.error = exc.failure.message
        job.finished_at = timezone.now()
        job.save()
        return job, {}, {cid: exc.failure.message for cid in job.lines}
    good: dict[str, tuple[str, str]] = {}
    bad: dict[str, str] = {}
    for row in outputs:
        try:
            good[row["custom_id"]] = _parse(row)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            bad[row.get("custom_id", "")] = f"unusable answer ({exc})"
    for row in errors:
        error = row.get("error") or {}
        bad[row.get("custom_id", "")] = str(error.get("message") or "failed")
    for custom_id in job.lines:
        if custom_id not in good and custom_id not in bad:
            bad[custom_id] = f"no result (batch {job.status})"
    job.lines = {
        cid: "applied" if cid in good else f"failed: {bad[cid]}" for cid in job.lines
    }
    job.finished_at = timezone.now()
    job.save()
    return job, good, bad


def titles_batch_run(
    *,
    threads: list[Thread],
    max_attempts: int = 3,
    poll_seconds: float = 30.0,
    report: Callable[[str], None] = logger.info,
) -> TitlesOutcome:
    """Title and summarise `threads` by batch; failed lines retried on their own."""
    outcome = TitlesOutcome()
    lines = [_line(thread) for thread in threads]
    for attempt in range(1, max_attempts + 1):
        if not lines:
            break
        job, good, bad = _run_one(
            lines, attempt, poll_seconds=poll_seconds, report=report
        )
        outcome.jobs.append(job)
        for custom_id, (title, summary) in good.items():
            thread_apply_summary(
                thread_id=custom_id.removeprefix("thread-"),
                title=title,
                summary=summary,
            )
            outcome.applied.append(custom_id)
            outcome.failed.pop(custom_id, None)
        outcome.failed.update(bad)
        lines = [line for line in lines if line["custom_id"] in bad]
    return outcome
