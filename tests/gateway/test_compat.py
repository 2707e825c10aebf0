"""The gateway's compatible-mode calls against the simulator, via the real SDK."""

import pytest

from conversations import gateway
from conversations.gateway import FailureCategory as Cat
from conversations.gateway.compat import compat_target

pytestmark = pytest.mark.usefixtures("upstream")

PNG_URL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAEklEQVR4"
    "nGP4z8DAwMDAxAAAFhYBA5u5jE8AAAAASUVORK5CYII="
)


async def collect(request: gateway.ReplyRequest) -> list[gateway.Event]:
    return [event async for event in gateway.stream_reply(request)]


def test_the_compat_base_url_is_derived_from_the_responses_one(upstream):
    assert compat_target()[0] == upstream.compat_base_url


def test_the_route_follows_what_the_turn_carries(settings):
    settings.QWEN_VISION_MODELS = ["qwen3-vl-plus", "qwen3-vl-flash"]
    settings.QWEN_LONG_MODEL = "qwen-long"
    plain = gateway.ReplyRequest(input="hi", model="qwen3-max")
    assert gateway.route_for(plain) == gateway.Route("responses", "qwen3-max")
    image = gateway.ReplyRequest(input="hi", model="qwen3-max", images=(PNG_URL,))
    assert gateway.route_for(image) == gateway.Route("chat", "qwen3-vl-plus")
    chosen = gateway.ReplyRequest(input="hi", model="qwen3-vl-flash", images=("x",))
    assert gateway.route_for(chosen).model == "qwen3-vl-flash"
    docs = gateway.ReplyRequest(input="hi", model="qwen3-max", file_ids=("file-fe-1",))
    assert gateway.route_for(docs) == gateway.Route("chat", "qwen-long")


async def test_an_image_turn_streams_through_chat_completions():
    events = await collect(
        gateway.ReplyRequest(
            input=[
                {"role": "user", "content": "Earlier question"},
                {"role": "assistant", "content": "Earlier answer"},
                {"role": "user", "content": "Describe it"},
            ],
            model="qwen3-max",
            images=(PNG_URL,),
        )
    )
    assert isinstance(events[0], gateway.Started)
    done = events[-1]
    assert isinstance(done, gateway.Completed)
    assert "3x2 pixels" in done.text
    assert done.text == "".join(
        e.text for e in events if isinstance(e, gateway.TextDelta)
    )
    assert done.usage.total_tokens == done.usage.input_tokens + done.usage.output_tokens


async def test_an_unknown_document_fails_as_a_bad_request():
    events = await collect(
        gateway.ReplyRequest(
            input="What does it say?", model="qwen3-max", file_ids=("file-fe-nope",)
        )
    )
    assert len(events) == 1
    assert events[0].category == Cat.BAD_REQUEST
    assert "file-fe-nope" in events[0].message


async def test_a_chat_outage_is_a_server_error(upstream):
    upstream.compat.outages.add("chat")
    events = await collect(
        gateway.ReplyRequest(input="hi", model="qwen3-max", images=(PNG_URL,))
    )
    assert [e.category for e in events] == [Cat.SERVER_ERROR]


async def test_embeddings_are_batched_by_ten_and_keep_their_order(upstream, settings):
    settings.QWEN_EMBEDDING_DIMENSIONS = 64
    texts = [f"text number {i}" for i in range(23)]
    vectors = await gateway.embed_texts(texts)
    assert len(vectors) == 23
    assert all(len(v) == 64 for v in vectors)
    calls = [r for r in upstream.state.requests if r["path"].endswith("/embeddings")]
    assert [len(c["body"]["input"]) for c in calls[-3:]] == [10, 10, 3]
    assert calls[-1]["body"]["encoding_format"] == "float"
    assert vectors[22] == (await gateway.embed_texts(["text number 22"]))[0]


async def test_an_embedding_outage_raises_embedding_unavailable(upstream):
    upstream.compat.outages.add("embeddings")
    with pytest.raises(gateway.EmbeddingUnavailable) as caught:
        await gateway.embed_texts(["hello"])
    assert caught.value.failure.category == Cat.SERVER_ERROR


async def test_files_upload_and_delete():
    file_id = await gateway.file_upload(name="a.md", data=b"# Notes\nSome text.")
    assert file_id.startswith("file-fe-")
    await gateway.file_delete(file_id)
    # Deleting again is not an error: the file is gone either way.
    await gateway.file_delete(file_id)
    with pytest.raises(gateway.CompatError, match="Unsupported file type"):
        await gateway.file_upload(name="a.exe", data=b"MZ")


async def test_a_turn_with_images_and_documents_goes_to_the_vision_model(upstream):
    file_id = await gateway.file_upload(name="a.txt", data=b"Some notes.")
    events = await collect(
        gateway.ReplyRequest(
            input="Describe it",
            model="qwen3-max",
            images=(PNG_URL,),
            file_ids=(file_id,),
        )
    )
    assert isinstance(events[-1], gateway.Completed)
    assert "3x2 pixels" in events[-1].text
    sent = [r for r in upstream.state.requests if r["path"].endswith("/completions")]
    assert sent[-1]["body"]["model"] == "qwen3-vl-plus"
    assert "fileid://" not in str(sent[-1]["body"]["messages"])
