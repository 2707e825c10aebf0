"""Chat Completions, Embedding, File and Batch of the simulator, via the real SDK."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import AsyncIterator

import openai
import pytest
from openai import AsyncOpenAI

from simulator import SimulatorServer

# A 3x2 PNG (only the header is read by the simulator).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAEklEQVR4nGP4z8DAwMDAxAAAFhYBA5u5jE8AAAAASUVORK5CYII="
)
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


@pytest.fixture
async def compat(simulator: SimulatorServer) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(
        base_url=simulator.compat_base_url, api_key="sk-simulator", max_retries=0
    ) as sdk:
        yield sdk


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (
        math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    )


async def test_chat_streams_a_vision_answer_with_usage(compat):
    stream = await compat.chat.completions.create(
        model="qwen3-vl-plus",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": PNG_URL}},
                    {"type": "text", "text": "What is in this picture?"},
                ],
            }
        ],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, usage, finish = [], None, None
    async for chunk in stream:
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
        usage = chunk.usage or usage
    assert "PNG image of 3x2 pixels" in "".join(pieces)
    assert len([p for p in pieces if p]) > 3
    assert finish == "stop"
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


async def test_chat_refuses_images_for_a_text_model(compat):
    with pytest.raises(openai.BadRequestError, match="does not accept images"):
        await compat.chat.completions.create(
            model="qwen-plus",
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": PNG_URL}}],
                }
            ],
        )


async def test_chat_limits_n_to_some_models(compat):
    ok = await compat.chat.completions.create(
        model="qwen-plus", messages=[{"role": "user", "content": "hi"}], n=2
    )
    assert len(ok.choices) == 2
    with pytest.raises(openai.BadRequestError, match="n > 1 is not supported"):
        await compat.chat.completions.create(
            model="qwen3-max", messages=[{"role": "user", "content": "hi"}], n=2
        )
    with pytest.raises(openai.BadRequestError, match=r"\[1, 4\]"):
        await compat.chat.completions.create(
            model="qwen-plus", messages=[{"role": "user", "content": "hi"}], n=5
        )


async def test_embeddings_follow_meaning_not_spelling(compat):
    result = await compat.embeddings.create(
        model="text-embedding-v4",
        input=["my automobile needs a mechanic", "car repair", "a recipe for soup"],
        dimensions=256,
        # The SDK asks for base64 unless told: DashScope serves float only.
        encoding_format="float",
    )
    a, b, c = (item.embedding for item in result.data)
    assert len(a) == 256
    assert cosine(a, b) > 0.5
    assert cosine(a, c) < 0.2
    assert result.usage.total_tokens > 0


async def test_embeddings_enforce_the_documented_limits(compat):
    with pytest.raises(openai.BadRequestError, match="only supports float"):
        await compat.embeddings.create(
            model="text-embedding-v4", input="x", encoding_format="base64"
        )
    with pytest.raises(openai.BadRequestError, match="dimensions must be one of"):
        await compat.embeddings.create(
            model="text-embedding-v4",
            input="x",
            dimensions=100,
            encoding_format="float",
        )
    with pytest.raises(openai.BadRequestError, match="larger than 10"):
        await compat.embeddings.create(
            model="text-embedding-v4",
            input=[f"t{i}" for i in range(11)],
            encoding_format="float",
        )


async def test_embedding_outage_answers_503(simulator, compat):
    simulator.compat.outages.add("embeddings")
    with pytest.raises(openai.InternalServerError):
        await compat.embeddings.create(
            model="text-embedding-v4", input="x", encoding_format="float"
        )


async def test_files_for_extract_are_read_by_qwen_long(compat):
    text = b"The launch is planned for March. The budget is 40 thousand euros."
    uploaded = await compat.files.create(
        file=("plan.txt", text), purpose="file-extract"
    )
    assert uploaded.id.startswith("file-fe-")
    listed = await compat.files.list()
    assert [f.id for f in listed.data] == [uploaded.id]
    answer = await compat.chat.completions.create(
        model="qwen-long",
        messages=[
            {"role": "system", "content": f"fileid://{uploaded.id}"},
            {"role": "user", "content": "What is the budget?"},
        ],
    )
    assert "The budget is 40 thousand euros." in answer.choices[0].message.content
    with pytest.raises(openai.BadRequestError, match="only supported by qwen-long"):
        await compat.chat.completions.create(
            model="qwen-plus",
            messages=[
                {"role": "system", "content": f"fileid://{uploaded.id}"},
                {"role": "user", "content": "budget?"},
            ],
        )
    deleted = await compat.files.delete(uploaded.id)
    assert deleted.deleted is True
    assert (await compat.files.list()).data == []


async def test_files_refuse_other_purposes_and_types(compat):
    with pytest.raises(openai.BadRequestError, match="purpose must be one of"):
        await compat.files.create(file=("a.txt", b"x"), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="Unsupported file type"):
        await compat.files.create(file=("a.exe", b"MZ"), purpose="file-extract")


def _line(custom_id: str, text: str) -> dict:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "qwen-plus", "messages": [{"role": "user", "content": text}]},
    }


async def test_a_batch_moves_through_its_statuses_with_partial_failures(compat):
    rows = [_line("a", "hello there"), _line("b", "this one [[batch-fail]]")]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    uploaded = await compat.files.create(file=("in.jsonl", data), purpose="batch")
    batch = await compat.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="2d",
    )
    seen = [batch.status]
    while batch.status not in ("completed", "failed", "cancelled"):
        batch = await compat.batches.retrieve(batch.id)
        seen.append(batch.status)
    assert seen == ["validating", "in_progress", "finalizing", "completed"]
    assert batch.request_counts.completed == 1
    assert batch.request_counts.failed == 1
    output = (await compat.files.content(batch.output_file_id)).content.decode()
    errors = (await compat.files.content(batch.error_file_id)).content.decode()
    assert [json.loads(x)["custom_id"] for x in output.splitlines()] == ["a"]
    assert [json.loads(x)["custom_id"] for x in errors.splitlines()] == ["b"]


@pytest.mark.parametrize("window", ["12h", "15d", "24", "1.5d", "24m"])
async def test_batch_completion_window_units_are_checked(compat, window):
    uploaded = await compat.files.create(
        file=("in.jsonl", (json.dumps(_line("a", "x")) + "\n").encode()),
        purpose="batch",
    )
    with pytest.raises(openai.BadRequestError, match="completion_window"):
        await compat.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window=window,
        )


async def test_uploaded_file_content_is_not_retrievable(compat):
    uploaded = await compat.files.create(
        file=("a.txt", b"secret"), purpose="file-extract"
    )
    with pytest.raises(openai.BadRequestError, match="not supported"):
        await compat.files.content(uploaded.id)
