"""Attachments: upload, serve (access-checked, never as public media), remove.

Also the search-by-meaning page. Thin: authorise through `access`, hand off
to `attachments` / `semantic`, render.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from conversations import access, attachments, selectors, semantic
from conversations.models import Attachment

NO_FILE = _("Choose a file to attach.")


@require_POST
@login_required
def attachment_upload(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = access.thread_for_poster(request.user, thread_id)
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": NO_FILE}, status=400)
    try:
        attachment = attachments.attachment_upload(
            thread=thread, uploader=request.user, upload=upload
        )
    except attachments.AttachmentInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(
        {
            "id": attachment.pk,
            "kind": attachment.kind,
            "name": attachment.name,
            "url": attachment_url(attachment),
        },
        status=201,
    )


def attachment_url(attachment: Attachment) -> str:
    return reverse("attachment", args=[attachment.pk])


def _readable(request: HttpRequest, attachment_id: int) -> Attachment:
    attachment = get_object_or_404(Attachment, pk=attachment_id)
    # A thread the user cannot read is a 404, like a missing attachment.
    access.thread_for_reader(request.user, attachment.thread_id)
    return attachment


@require_GET
@login_required
def attachment_file(request: HttpRequest, attachment_id: int) -> FileResponse:
    attachment = _readable(request, attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("No such attachment.") from None
    image = attachment.kind == Attachment.Kind.IMAGE
    response = FileResponse(
        handle,
        content_type=attachment.content_type,
        as_attachment=not image,
        filename=attachment.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
@login_required
def attachment_remove(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment = _readable(request, attachment_id)
    thread = access.thread_for_poster(request.user, attachment.thread_id)
    try:
        attachments.attachment_remove(attachment=attachment)
    except attachments.AttachmentInvalid as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Removed “{name}”.").format(name=attachment.name))
    return redirect(thread)


@require_GET
@login_required
def search_similar(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:500]
    found = semantic.semantic_search(request.user, query) if query else None
    return render(
        request,
        "conversations/search_similar.html",
        {
            "query": query,
            "semantic": found,
            "exact": semantic.messages_matching_text(request.user, query)
            if query
            else [],
            "threads": selectors.sidebar_threads(request.user),
        },
    )
