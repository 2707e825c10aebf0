from django import template
from django.utils.safestring import SafeString, mark_safe

from conversations.frames import message_html
from conversations.models import Message

register = template.Library()


@register.simple_tag
def message(m: Message) -> SafeString:
    """A message rendered exactly as live frames render it."""
    return mark_safe(message_html(m))
