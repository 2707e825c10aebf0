"""What a user is told when a reply does not complete, per failure category."""

from django.utils.translation import gettext_lazy as _

from conversations.gateway import Failed, FailureCategory

MESSAGES = {
    FailureCategory.AUTH: _(
        "The model provider rejected this server's API key. "
        "An administrator needs to check DASHSCOPE_API_KEY and the region."
    ),
    FailureCategory.ACCESS_DENIED: _(
        "The model provider refused access for this account (permissions or billing). "
        "An administrator needs to check it."
    ),
    FailureCategory.RATE_LIMIT: _(
        "Rate limited by the model provider: try again in a minute."
    ),
    FailureCategory.BAD_REQUEST: _("The model provider refused the request: {detail}"),
    FailureCategory.MODEL_NOT_FOUND: _(
        "The model provider does not offer this model. Choose another in the settings."
    ),
    FailureCategory.CONTEXT_LOST: _(
        "The model provider no longer has this conversation's context."
    ),
    FailureCategory.MODERATION: _(
        "The model provider's content moderation blocked this message. "
        "It will be left out of the conversation's context."
    ),
    FailureCategory.SERVER_ERROR: _(
        "The model provider had an internal error. Try again shortly."
    ),
    FailureCategory.NETWORK: _(
        "The connection to the model provider broke before the reply was finished."
    ),
    FailureCategory.TIMEOUT: _(
        "The model provider stopped responding, so the reply was cut off."
    ),
    FailureCategory.NO_TERMINAL_EVENT: _(
        "The model provider's stream ended before the reply was finished."
    ),
    FailureCategory.FAILED: _(
        "The model provider could not finish the reply: {detail}"
    ),
    FailureCategory.INCOMPLETE: _(
        "The reply was cut short by the model provider ({detail})."
    ),
}


def describe_failure(failure: Failed) -> str:
    template = MESSAGES.get(failure.category, _("The reply failed: {detail}"))
    if failure.category == FailureCategory.INCOMPLETE:
        detail = (failure.code or str(_("limit reached"))).replace("_", " ")
    else:
        detail = failure.message or failure.code or str(_("unknown error"))
    text = template.format(detail=detail)
    if failure.category == FailureCategory.RATE_LIMIT and failure.retry_after:
        text += str(_(" (the provider asked for {seconds:g} s)")).format(
            seconds=failure.retry_after
        )
    return text
