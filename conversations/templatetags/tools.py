from urllib.parse import urlsplit

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from conversations.models import ToolCall

register = template.Library()

TITLES = {
    "web_search_call": _("Web search"),
    "web_extractor_call": _("Web extraction"),
    "code_interpreter_call": _("Code interpreter"),
    "web_search_image_call": _("Image search"),
    "image_search_call": _("Image search"),
    "file_search_call": _("File search"),
}


@register.simple_tag
def tool_title(call: ToolCall) -> str:
    if call.type == "reasoning":
        return str(_("Thinking"))
    if call.type == "function_call":
        return (
            _("Function {name}").format(name=call.name)
            if call.name
            else str(_("Function"))
        )
    if call.type == "mcp_call":
        return f"MCP {call.server_label} · {call.name}".rstrip(" ·")
    title = TITLES.get(call.type)
    if title is not None:
        return str(title)
    return call.type.removesuffix("_call").replace("_", " ")


@register.simple_tag
def link(url: object, title: object = "") -> SafeString:
    """A link to a tool's source; anything but http(s) stays plain text."""
    text = str(title or url or "")
    url = str(url or "")
    if urlsplit(url).scheme not in ("http", "https"):
        return format_html("{}", text)
    return format_html(
        '<a href="{}" rel="noopener noreferrer nofollow" target="_blank">{}</a>',
        url,
        text,
    )
