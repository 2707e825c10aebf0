from django import forms
from django.conf import settings
from django.contrib.auth.forms import BaseUserCreationForm
from django.utils.translation import gettext_lazy as _

from conversations.functions import REGISTRY
from conversations.models import McpServer, Thread


class SignupForm(BaseUserCreationForm):
    pass


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Thread export (JSON)"),
        help_text=_("A file made by “Export as JSON”, up to 5 MB."),
    )


class RenameForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)


class ThreadSettingsForm(forms.ModelForm):
    model = forms.ChoiceField(label=_("Model"), choices=())
    tools = forms.MultipleChoiceField(
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Built-in tools run by the provider; functions run by this app."),
    )
    tool_choice = forms.ChoiceField(
        choices=[
            ("auto", _("auto: the model decides")),
            ("none", _("none: never call a tool")),
            ("required", _("required: always call a tool")),
        ],
        label=_("Tool choice"),
        required=False,
    )
    mcp_servers = forms.ModelMultipleChoiceField(
        queryset=McpServer.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("MCP servers"),
    )
    temperature = forms.FloatField(
        required=False,
        min_value=0,
        max_value=1.99,
        label=_("Temperature"),
        help_text=_("0 to 1.99; empty for the model's default."),
    )
    top_p = forms.FloatField(
        required=False,
        min_value=0.01,
        max_value=1,
        label=_("Top p"),
        help_text=_("0.01 to 1; empty for the model's default."),
    )

    class Meta:
        model = Thread
        fields = [
            "model",
            "instructions",
            "temperature",
            "top_p",
            "session_cache",
            "enable_thinking",
            "tool_choice",
        ]
        widgets = {"instructions": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [(m, m) for m in settings.QWEN_MODELS]
        self.fields["instructions"].label = _("Instructions")
        self.fields["instructions"].help_text = _(
            "A system prompt sent with every turn."
        )
        self.fields["session_cache"].label = _("Session cache")
        self.fields["session_cache"].help_text = _(
            "Ask the upstream to cache this thread's context between turns "
            "(cheaper repeated input; cached tokens are recorded per reply)."
        )
        # Tools (issue #5): built-ins, then the app's own functions.
        self.fields["tools"].choices = [
            (name, name.replace("_", " ")) for name in settings.QWEN_BUILTIN_TOOLS
        ] + [
            (tool.name, _("{label} (function)").format(label=tool.label))
            for tool in REGISTRY.values()
        ]
        self.fields["enable_thinking"].label = _("Thinking")
        self.fields["enable_thinking"].help_text = _(
            "Let the model reason before answering; its summary is shown."
        )
        # Labels only reach the page: an MCP server's URL and headers do not.
        self.fields["mcp_servers"].queryset = McpServer.objects.filter(enabled=True)
        self.fields["mcp_servers"].label_from_instance = lambda server: server.label
        if self.instance.pk and not self.is_bound:
            self.initial["tools"] = list(self.instance.tools)
            self.initial["mcp_servers"] = list(self.instance.mcp_servers.all())
