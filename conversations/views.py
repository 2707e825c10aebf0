"""Pages: receive, authorise through `access`, hand off to services, render."""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conversations import access, exports, generation, search, selectors, services
from conversations.forms import (
    ImportForm,
    RenameForm,
    SignupForm,
    ThreadSettingsForm,
)
from conversations.models import Thread
from conversations.team_views import thread_sharing_context


def _page(request: HttpRequest, thread: Thread | None, **extra: object) -> dict:
    return {
        "thread": thread,
        "threads": selectors.sidebar_threads(request.user),
        "max_chars": settings.CHAT_MAX_MESSAGE_CHARS,
        **extra,
    }


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "conversations/thread.html", _page(request, None, path=[]))


@require_GET
@login_required
def archived(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "conversations/archived.html",
        _page(
            request,
            None,
            archived=selectors.sidebar_threads(request.user, archived=True),
        ),
    )


@require_GET
@login_required
def thread_detail(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = access.thread_for_reader(request.user, thread_id)
    path, has_older = selectors.thread_path_window(
        thread, size=settings.CHAT_PAGE_MESSAGES, include=request.GET.get("msg")
    )
    context = _page(
        request,
        thread,
        path=path,
        has_older=has_older,
        can_post=access.can_post(request.user, thread),
        can_manage=access.can_manage(request.user, thread),
        settings_form=ThreadSettingsForm(instance=thread),
        **thread_sharing_context(request, thread),
    )
    return render(request, "conversations/thread.html", context)


def _start_thread(request: HttpRequest) -> services.Sent:
    text = services.validate_message_text(request.POST.get("message", ""))
    thread = services.thread_create(owner=request.user)
    return services.message_send(
        thread=thread,
        author=request.user,
        text=text,
        client_id=request.POST.get("client_id", ""),
    )


def _home_with_error(request: HttpRequest, error: str) -> HttpResponse:
    context = _page(request, None, path=[], composer_error=error)
    context["draft"] = request.POST.get("message", "")
    return render(request, "conversations/thread.html", context, status=400)


@require_POST
@login_required
async def thread_new(request: HttpRequest) -> HttpResponse:
    """Start a thread with its first message.

    Async so the reply's generation runs on the server's event loop, where it
    outlives this request.
    """
    try:
        sent = await sync_to_async(_start_thread)(request)
    except services.MessageInvalid as exc:
        return await sync_to_async(_home_with_error)(request, str(exc))
    generation.reply_start(sent.reply.pk, sent.reply.thread_id)
    return redirect(sent.reply.thread)


@require_POST
@login_required
def thread_rename(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = access.thread_for_manager(request.user, thread_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        services.thread_rename(thread=thread, title=form.cleaned_data["title"])
        messages.success(request, _("Thread renamed."))
    else:
        messages.error(request, _("Titles are limited to 200 characters."))
    return redirect(thread)


@require_POST
@login_required
def thread_archive(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = access.thread_for_manager(request.user, thread_id)
    archive = request.POST.get("archived", "true") == "true"
    services.thread_archive(thread=thread, archived=archive)
    messages.success(
        request, _("Thread archived.") if archive else _("Thread restored.")
    )
    return redirect("home" if archive else thread)


@require_http_methods(["GET", "POST"])
@login_required
def thread_delete(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = access.thread_for_manager(request.user, thread_id)
    if request.method == "POST":
        services.thread_delete(thread=thread)
        messages.success(request, _("Thread deleted."))
        return redirect("home")
    return render(request, "conversations/thread_delete.html", _page(request, thread))


@require_POST
@login_required
def thread_settings(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = access.thread_for_manager(request.user, thread_id)
    form = ThreadSettingsForm(request.POST, instance=Thread.objects.get(pk=thread.pk))
    if not form.is_valid():
        context = _page(
            request,
            thread,
            path=selectors.thread_path(thread),
            can_post=access.can_post(request.user, thread),
            can_manage=True,
            settings_form=form,
            settings_open=True,
            **thread_sharing_context(request, thread),
        )
        return render(request, "conversations/thread.html", context, status=400)
    data = form.cleaned_data
    services.thread_update_settings(
        thread=thread,
        model=data["model"],
        instructions=data["instructions"],
        temperature=data["temperature"],
        top_p=data["top_p"],
        session_cache=data["session_cache"],
    )
    services.thread_update_tools(
        thread=thread,
        tools=data["tools"],
        enable_thinking=data["enable_thinking"],
        tool_choice=data["tool_choice"] or "auto",
        mcp_servers=list(data["mcp_servers"]),
    )
    messages.success(request, _("Settings saved; they apply from the next reply."))
    return redirect(thread)


def _download_name(thread: Thread, extension: str) -> str:
    stem = slugify(str(thread))[:60] or "thread"
    return f"{stem}.{extension}"


@require_GET
@login_required
def thread_export_markdown(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = access.thread_for_reader(request.user, thread_id)
    response = HttpResponse(
        exports.thread_markdown(thread), content_type="text/markdown; charset=utf-8"
    )
    name = _download_name(thread, "md")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@login_required
def thread_export_json(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = access.thread_for_reader(request.user, thread_id)
    response = JsonResponse(
        exports.thread_json(thread), json_dumps_params={"indent": 2}
    )
    name = _download_name(thread, "json")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_http_methods(["GET", "POST"])
@login_required
def thread_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > exports.MAX_IMPORT_BYTES:
                raise services.MessageInvalid(exports.TOO_BIG)
            thread = exports.thread_import(owner=request.user, raw=upload.read())
        except services.MessageInvalid as exc:
            form.add_error("file", str(exc))
        else:
            messages.success(request, _("Thread imported."))
            return redirect(thread)
    status = 400 if form.errors else 200
    return render(
        request,
        "conversations/import.html",
        _page(request, None, form=form),
        status=status,
    )


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.SIGNUP_ENABLED:
        raise Http404(_("Sign-up is switched off."))
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


@require_GET
@login_required
def thread_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[: search.MAX_QUERY_CHARS]
    hits = search.search(request.user, query) if query else []
    return render(
        request,
        "conversations/search.html",
        _page(request, None, query=query, hits=hits),
    )


@require_GET
@login_required
def thread_older(request: HttpRequest, thread_id: str) -> HttpResponse:
    """The messages before `before` on the visible path, as the page's
    history sentinel is scrolled into view (htmx swaps the sentinel)."""
    thread = access.thread_for_reader(request.user, thread_id)
    path, has_older = selectors.thread_path_window(
        thread,
        size=settings.CHAT_PAGE_MESSAGES,
        before=request.GET.get("before", ""),
    )
    return render(
        request,
        "conversations/_older.html",
        {"thread": thread, "path": path, "has_older": has_older},
    )
