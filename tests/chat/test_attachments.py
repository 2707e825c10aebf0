"""Images and documents in a thread: upload checks, vision and long-context turns."""

import base64

import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conversations import attachments, services
from conversations.models import Attachment, Message

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAEklEQVR4nGP4z8DAwMDAxAAAFhYBA5u5jE8AAAAASUVORK5CYII="
)
DOC = (
    b"Project Heron: the launch is planned for March.\n"
    b"The budget is forty thousand euros.\n"
)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, thread, name: str, data: bytes, content_type="") -> dict:
    response = client.post(
        reverse("attachment-upload", args=[thread.pk]),
        {"file": SimpleUploadedFile(name, data, content_type=content_type)},
    )
    return {"status": response.status_code, **response.json()}


@pytest.mark.django_db
@pytest.mark.usefixtures("upstream")
class TestUploads:
    def test_an_image_is_stored_and_served_only_to_readers(self, thread, alice, bob):
        result = upload(client_for(alice), thread, "pic.png", PNG, "image/png")
        assert result["status"] == 201
        assert result["kind"] == "image"
        served = client_for(alice).get(result["url"])
        assert served.status_code == 200
        assert b"".join(served.streaming_content) == PNG
        assert served["Content-Type"] == "image/png"
        assert served["X-Content-Type-Options"] == "nosniff"
        assert client_for(bob).get(result["url"]).status_code == 404
        assert Client().get(result["url"]).status_code == 302

    def test_an_oversized_image_is_refused_with_the_limit(
        self, thread, alice, settings
    ):
        settings.CHAT_MAX_IMAGE_BYTES = 1024
        big = PNG + b"\0" * 2048
        result = upload(client_for(alice), thread, "big.png", big, "image/png")
        assert result["status"] == 400
        assert result["error"] == "Images are limited to 1 KB; “big.png” is 2 KB."
        assert Attachment.objects.count() == 0

    def test_an_unsupported_type_is_refused(self, thread, alice):
        result = upload(client_for(alice), thread, "run.exe", b"MZ\x90\x00")
        assert result["status"] == 400
        assert result["error"] == attachments.UNSUPPORTED_TYPE.format(name="run.exe")

    def test_a_file_pretending_to_be_an_image_is_refused(self, thread, alice):
        result = upload(client_for(alice), thread, "fake.png", b"<html>", "image/png")
        assert result["status"] == 400
        assert result["error"] == "“fake.png” is not a valid PNG image."

    def test_a_document_goes_to_the_file_api(self, thread, alice, upstream):
        result = upload(client_for(alice), thread, "plan.txt", DOC, "text/plain")
        assert result["status"] == 201
        stored = Attachment.objects.get(pk=result["id"])
        assert stored.upstream_file_id.startswith("file-fe-")
        assert upstream.compat.files[stored.upstream_file_id].purpose == "file-extract"

    def test_an_outsider_cannot_upload(self, thread, bob):
        response = client_for(bob).post(
            reverse("attachment-upload", args=[thread.pk]),
            {"file": SimpleUploadedFile("a.png", PNG)},
        )
        assert response.status_code == 404

    def test_removing_a_document_deletes_it_upstream(self, thread, alice, upstream):
        result = upload(client_for(alice), thread, "plan.md", DOC)
        file_id = Attachment.objects.get(pk=result["id"]).upstream_file_id
        response = client_for(alice).post(
            reverse("attachment-remove", args=[result["id"]])
        )
        assert response.status_code == 302
        assert file_id not in upstream.compat.files
        assert Attachment.objects.count() == 0


@database_sync_to_async
def _upload(thread, alice, name, data):
    return attachments.attachment_upload(
        thread=thread, uploader=alice, upload=SimpleUploadedFile(name, data)
    )


@database_sync_to_async
def _replies(thread):
    return list(Message.objects.filter(thread=thread, role="assistant").order_by("pk"))


@database_sync_to_async
def _responses(message):
    return list(message.responses.all())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("upstream", "idle_generations")
async def test_a_turn_with_an_image_goes_to_a_vision_model_and_the_thread_goes_on(
    connect, thread, alice, upstream
):
    image = await _upload(thread, alice, "pic.png", PNG)
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send",
        message="What is in this picture?",
        client_id="c1",
        attachments=str(image.pk),
    )
    final = await viewer.until_final()
    assert "PNG image of 3x2 pixels" in final
    assert 'data-testid="message-attachment"' in "".join(viewer.received)
    [reply] = await _replies(thread)
    assert reply.status == "completed"
    [response] = await _responses(reply)
    assert response.api == "chat"
    assert response.model == "qwen3-vl-plus"
    assert response.response_id.startswith("chatcmpl-")
    assert response.total_tokens == response.input_tokens + response.output_tokens > 0

    await viewer.send(action="send", message="And now plain text?", client_id="c2")
    await viewer.until_final()
    replies = await _replies(thread)
    assert replies[-1].status == "completed"
    [after] = await _responses(replies[-1])
    # Back on the Responses API, with the path rebuilt (no chat id reused).
    assert after.api == "responses"
    assert replies[-1].context_mode == "rebuilt"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("upstream", "idle_generations")
async def test_a_document_is_read_by_the_long_context_model(
    connect, thread, alice, upstream
):
    doc = await _upload(thread, alice, "plan.txt", DOC)
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send",
        message="What is the budget of the project?",
        client_id="c1",
        attachments=[doc.pk],
    )
    final = await viewer.until_final()
    assert "The budget is forty thousand euros." in final
    [reply] = await _replies(thread)
    [response] = await _responses(reply)
    assert (response.api, response.model) == ("chat", "qwen-long")
    sent = [
        r for r in upstream.state.requests if r["path"].endswith("/chat/completions")
    ]
    assert (
        sent[-1]["body"]["messages"][0]["content"] == f"fileid://{doc.upstream_file_id}"
    )


@pytest.mark.django_db
def test_someone_elses_upload_cannot_be_claimed(thread, alice, bob):
    image = attachments.attachment_upload(
        thread=thread, uploader=bob, upload=SimpleUploadedFile("p.png", PNG)
    )
    sent = services.message_send(thread=thread, author=alice, text="hi")
    claimed = attachments.attachments_claim(
        thread=thread, message=sent.user_message, ids=[image.pk], uploader=alice
    )
    assert claimed == []


@pytest.mark.django_db
@pytest.mark.usefixtures("upstream")
def test_deleting_a_thread_deletes_its_documents_upstream(thread, alice, upstream):
    doc = attachments.attachment_upload(
        thread=thread, uploader=alice, upload=SimpleUploadedFile("a.md", DOC)
    )
    services.thread_delete(thread=thread)
    assert doc.upstream_file_id not in upstream.compat.files
    assert Attachment.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("upstream")
def test_at_most_four_images_wait_for_one_message(thread, alice):
    client = client_for(alice)
    for i in range(4):
        assert upload(client, thread, f"p{i}.png", PNG)["status"] == 201
    result = upload(client, thread, "p5.png", PNG)
    assert result["status"] == 400
    assert result["error"] == "At most 4 images can go with one message."


@pytest.mark.django_db
def test_a_document_is_refused_clearly_when_the_file_api_is_down(
    thread, alice, upstream
):
    upstream.compat.outages.add("files")
    result = upload(client_for(alice), thread, "plan.txt", DOC)
    assert result["status"] == 400
    assert result["error"].startswith(
        "“plan.txt” could not be handed to the model provider:"
    )
    assert "unavailable" in result["error"]
    assert Attachment.objects.count() == 0
