"""What a user is told when a reply does not complete, per failure category."""

from conversations.gateway import Failed, FailureCategory

MESSAGES = {
    FailureCategory.AUTH: (
        "The model provider rejected this server's API key. "
        "An administrator needs to check DASHSCOPE_API_KEY and the region."
    ),
    FailureCategory.ACCESS_DENIED: (
        "The model provider refused access for this account (permissions or billing). "
        "An administrator needs to check it."
    ),
    FailureCategory.RATE_LIMIT: (
        "Rate limited by the model provider: try again in a minute."
    ),
    FailureCategory.BAD_REQUEST: "The model provider refused the request: {detail}",
    FailureCategory.MODEL_NOT_FOUND: (
        "The model provider does not offer this model. Choose another in the settings."
    ),
    FailureCategory.CONTEXT_LOST: (
        "The model provider no longer has this conversation's context."
    ),
    FailureCategory.MODERATION: (
        "The model provider's content moderation blocked this message. "
        "It will be left out of the conversation's context."
    ),
    FailureCategory.SERVER_ERROR: (
        "The model provider had an internal error. Try again shortly."
    ),
    FailureCategory.NETWORK: (
        "The connection to the model provider broke before the reply was finished."
    ),
    FailureCategory.TIMEOUT: (
        "The model provider stopped responding, so the reply was cut off."
    ),
    FailureCategory.NO_TERMINAL_EVENT: (
        "The model provider's stream ended before the reply was finished."
    ),
    FailureCategory.FAILED: "The model provider could not finish the reply: {detail}",
    FailureCategory.INCOMPLETE: (
        "The reply was cut short by the model provider ({detail})."
    ),
}


def describe_failure(failure: Failed) -> str:
    template = MESSAGES.get(failure.category, "The reply failed: {detail}")
    if failure.category == FailureCategory.INCOMPLETE:
        detail = (failure.code or "limit reached").replace("_", " ")
    else:
        detail = failure.message or failure.code or "unknown error"
    text = template.format(detail=detail)
    if failure.category == FailureCategory.RATE_LIMIT and failure.retry_after:
        text += f" (the provider asked for {failure.retry_after:g} s)"
    return text
