"""Images and documents attached to messages: checks, storage, upstream files.

An image is stored here and sent with its turn to a vision model; a document
is stored here too, uploaded through the File API (`purpose=file-extract`) and
read by the long-context model on every turn of the thread until removed.
"""

import base64
import logging
import os
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from conversations import gateway
from conversations.context import rebuilt_input
from conversations.models import Attachment, Message, Thread
from conversations.selectors import path_to

logger = logging.getLogger(__name__)

# Content type by magic bytes: the browser's claim is not trusted.
IMAGE_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
IMAGE_SUFFIXES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
DOCUMENT_SUFFIXES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".txt": "text/plain",
    ".md": "text/markdown",
}
MAX_PER_MESSAGE = 4

UNSUPPORTED_TYPE = _(
    "“{name}” cannot be attached: attach PNG, JPEG, GIF or WebP images, "
    "or PDF, DOCX, TXT or Markdown documents."
)
NOT_AN_IMAGE = _("“{name}” is not a valid {kind} image.")
IMAGE_TOO_LARGE = _("Images are limited to {limit}; “{name}” is {size}.")
DOCUMENT_TOO_LARGE = _("Documents are limited to {limit}; “{name}” is {size}.")
EMPTY_FILE = _("“{name}” is empty.")
UPLOAD_FAILED = _("“{name}” could not be handed to the model provider: {reason}")
TOO_MANY = _("At most {limit} images can go with one message.")


class AttachmentInvalid(ValueError):
    """An attachment the app refuses; the message is meant for the user."""


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


def _classify(upload: UploadedFile) -> tuple[str, str]:
    name = upload.name or "file"
    suffix = os.path.splitext(name)[1].lower()
    if suffix in IMAGE_SUFFIXES:
        return Attachment.Kind.IMAGE, IMAGE_SUFFIXES[suffix]
    if suffix in DOCUMENT_SUFFIXES:
        return Attachment.Kind.DOCUMENT, DOCUMENT_SUFFIXES[suffix]
    raise AttachmentInvalid(UNSUPPORTED_TYPE.format(name=name))


def attachment_upload(
    *, thread: Thread, uploader: AbstractBaseUser, upload: UploadedFile
) -> Attachment:
    """Check and store an upload; a document also goes to the File API."""
    name = os.path.basename(upload.name or "file")[:255]
    kind, content_type = _classify(upload)
    size = upload.size or 0
    if size == 0:
        raise AttachmentInvalid(EMPTY_FILE.format(name=name))
    if kind == Attachment.Kind.IMAGE:
        limit = settings.CHAT_MAX_IMAGE_BYTES
        if size > limit:
            raise AttachmentInvalid(
                IMAGE_TOO_LARGE.format(limit=_size(limit), name=name, size=_size(size))
            )
        head = upload.read(16)
        upload.seek(0)
        if not head.startswith(IMAGE_SIGNATURES[content_type]):
            raise AttachmentInvalid(
                NOT_AN_IMAGE.format(name=name, kind=content_type.split("/")[1].upper())
            )
    else:
        limit = settings.CHAT_MAX_DOCUMENT_BYTES
        if size > limit:
            raise AttachmentInvalid(
                DOCUMENT_TOO_LARGE.format(
                    limit=_size(limit), name=name, size=_size(size)
                )
            )
    if kind == Attachment.Kind.IMAGE:
        waiting = thread.attachments.filter(
            kind=Attachment.Kind.IMAGE, message__isnull=True, uploader=uploader
        ).count()
        if waiting >= MAX_PER_MESSAGE:
            raise AttachmentInvalid(TOO_MANY.format(limit=MAX_PER_MESSAGE))
    file_id = ""
    if kind == Attachment.Kind.DOCUMENT:
        data = upload.read()
        upload.seek(0)
        try:
            file_id = async_to_sync(gateway.file_upload)(name=name, data=data)
        except gateway.CompatError as exc:
            raise AttachmentInvalid(
                UPLOAD_FAILED.format(name=name, reason=exc.failure.message)
            ) from exc
    attachment = Attachment(
        thread=thread,
        uploader=uploader,
        kind=kind,
        name=name,
        content_type=content_type,
        size=size,
        upstream_file_id=file_id,
    )
    attachment.file.save(name, upload, save=False)
    attachment.save()
    return attachment


def attachments_claim(
    *, thread: Thread, message: Message, ids: list[int], uploader: AbstractBaseUser
) -> list[Attachment]:
    """Link the uploads sent with a message to it (only the sender's, unclaimed)."""
    if not ids:
        return []
    pending = thread.attachments.filter(
        pk__in=ids[: MAX_PER_MESSAGE * 2], message__isnull=True, uploader=uploader
    )
    pending.update(message=message)
    return list(message.attachments.all())


def attachment_remove(*, attachment: Attachment) -> None:
    """Delete an attachment here and, for a document, upstream first."""
    if attachment.upstream_file_id:
        try:
            async_to_sync(gateway.file_delete)(attachment.upstream_file_id)
        except gateway.CompatError as exc:
            # Kept: a file left upstream would be read by later turns' peers.
            raise AttachmentInvalid(
                f"“{attachment.name}” could not be deleted at the model provider: "
                f"{exc.failure.message}"
            ) from exc
    stored = attachment.file.name
    storage = attachment.file.storage
    with transaction.atomic():
        attachment.delete()
    if stored:
        transaction.on_commit(lambda: storage.delete(stored))


def thread_attachments_purge(*, thread: Thread) -> None:
    """Before a thread is deleted: its documents upstream, its files here."""
    for attachment in thread.attachments.all():
        if attachment.upstream_file_id:
            try:
                async_to_sync(gateway.file_delete)(attachment.upstream_file_id)
            except gateway.CompatError as exc:
                logger.warning(
                    "Could not delete file %s upstream: %s",
                    attachment.upstream_file_id,
                    exc.failure.message,
                )
        if attachment.file.name:
            name, storage = attachment.file.name, attachment.file.storage
            transaction.on_commit(lambda n=name, s=storage: s.delete(n))


def known_none(message: Message) -> None:
    """Record that `message`, just stored with nothing attached, has no
    attachments, as a prefetch would: its markup and its reply's turn read
    them, and every send would otherwise query for none."""
    cache = message.__dict__.setdefault("_prefetched_objects_cache", {})
    cache["attachments"] = Attachment.objects.none()


def thread_documents(thread: Thread) -> QuerySet[Attachment]:
    return thread.attachments.filter(
        kind=Attachment.Kind.DOCUMENT, message__isnull=False
    ).exclude(upstream_file_id="")


@dataclass(frozen=True, slots=True)
class TurnAttachments:
    """What a turn sends besides text: image data URLs, document file ids."""

    images: tuple[str, ...]
    file_ids: tuple[str, ...]
    history: list[dict]

    @property
    def any(self) -> bool:
        return bool(self.images or self.file_ids)


def turn_attachments(reply: Message) -> TurnAttachments:
    user_message = reply.parent
    assert user_message is not None
    images = []
    # .all(): a send has them prefetched already, for its markup.
    for attachment in user_message.attachments.all():
        if attachment.kind != Attachment.Kind.IMAGE:
            continue
        with attachment.file.open("rb") as handle:
            data = base64.b64encode(handle.read()).decode()
        images.append(f"data:{attachment.content_type};base64,{data}")
    file_ids = tuple(
        thread_documents(reply.thread).values_list("upstream_file_id", flat=True)
    )
    history: list[dict] = []
    if images or file_ids:
        history = rebuilt_input(path_to(reply.thread_id, user_message.pk))
    return TurnAttachments(tuple(images), file_ids, history)
