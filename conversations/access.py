"""Who may do what with a thread: the one place every edge asks."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from conversations.models import Message, Thread

AnyUser = AbstractBaseUser | AnonymousUser


def threads_visible_to(user: AnyUser) -> QuerySet[Thread]:
    if not user.is_authenticated:
        return Thread.objects.none()
    return Thread.objects.filter(owner=user)


def thread_for_reader(user: AnyUser, thread_id: object) -> Thread:
    """The thread if `user` may read it; otherwise 404, the same as a missing one."""
    try:
        return threads_visible_to(user).get(pk=thread_id)
    except (Thread.DoesNotExist, ValueError, TypeError):
        raise Http404("No such thread.") from None
    except Exception as exc:  # a malformed UUID raises ValidationError
        if type(exc).__name__ == "ValidationError":
            raise Http404("No such thread.") from None
        raise


def can_post(user: AnyUser, thread: Thread) -> bool:
    return bool(user.is_authenticated and thread.owner_id == user.pk)


def can_manage(user: AnyUser, thread: Thread) -> bool:
    """Rename, delete, archive, change settings."""
    return bool(user.is_authenticated and thread.owner_id == user.pk)


def thread_for_poster(user: AnyUser, thread_id: object) -> Thread:
    thread = thread_for_reader(user, thread_id)
    if not can_post(user, thread):
        raise Http404("No such thread.")
    return thread


def thread_for_manager(user: AnyUser, thread_id: object) -> Thread:
    thread = thread_for_reader(user, thread_id)
    if not can_manage(user, thread):
        raise Http404("No such thread.")
    return thread


def message_in_thread(thread: Thread, message_id: object) -> Message:
    try:
        return thread.messages.get(pk=int(str(message_id)))
    except (Message.DoesNotExist, ValueError, TypeError):
        raise Http404("No such message.") from None


def can_view_usage(user: AnyUser) -> bool:
    """The usage dashboard (everyone's tokens and costs) is for staff only."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)
