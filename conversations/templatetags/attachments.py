"""Template helpers for attachments (issue #11)."""

from django import template
from django.db.models import QuerySet

from conversations.attachments import thread_documents as _thread_documents
from conversations.models import Attachment, Thread

register = template.Library()


@register.simple_tag
def thread_documents(thread: Thread) -> QuerySet[Attachment]:
    return _thread_documents(thread)
