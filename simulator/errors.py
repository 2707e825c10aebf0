"""DashScope-style API errors and request validation."""

from __future__ import annotations

import uuid
from typing import Any

# From the Responses API reference (002): the only models the endpoint accepts.
MODELS: tuple[str, ...] = (
    "qwen3-max",
    "qwen3-max-2026-01-23",
    "qwen3.6-plus",
    "qwen3.6-plus-2026-04-02",
    "qwen3.5-plus",
    "qwen3.5-plus-2026-02-15",
    "qwen3.5-flash",
    "qwen3.5-flash-2026-02-23",
    "qwen3.5-397b-a17b",
    "qwen3.5-122b-a10b",
    "qwen3.5-27b",
    "qwen3.5-35b-a3b",
    "qwen-plus",
    "qwen-flash",
    "qwen3-coder-plus",
    "qwen3-coder-flash",
)


class ApiError(Exception):
    """An HTTP error answered with DashScope's body shape.

    The body nests OpenAI's `{"error": {message, type, code, param}}` so the
    SDK's `APIStatusError` exposes `.code` and `.message`, and adds DashScope's
    top-level `request_id`.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}

    def body(self, request_id: str) -> dict[str, Any]:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "param": self.param,
                "type": kind,
            },
            "request_id": request_id,
        }


def new_request_id() -> str:
    return str(uuid.uuid4())


def invalid_api_key() -> ApiError:
    return ApiError(401, "InvalidApiKey", "Invalid API-key provided.")


def invalid_parameter(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, "InvalidParameter", message, param=param)


def previous_response_not_found(response_id: str) -> ApiError:
    # Unknown, forgotten and expired (> 7 days) ids get the same refusal.
    return invalid_parameter(
        f"Previous response with id '{response_id}' not found.",
        "previous_response_id",
    )


def not_found(kind: str, object_id: str) -> ApiError:
    return ApiError(404, "NotFound", f"{kind} with id '{object_id}' not found.")


def validate_response_body(body: Any) -> None:
    """Refuse what DashScope refuses before any generation starts."""
    if not isinstance(body, dict):
        raise invalid_parameter("The request body must be a JSON object.")
    model = body.get("model")
    if not model:
        raise invalid_parameter("Model not specified.", "model")
    if model not in MODELS:
        raise ApiError(
            404,
            "ModelNotFound",
            f"The model `{model}` does not exist or you do not have access to it.",
            param="model",
        )
    if body.get("input") in (None, "", []):
        raise invalid_parameter("Input should not be empty.", "input")
    temperature = body.get("temperature")
    if temperature is not None and not (
        isinstance(temperature, int | float) and 0 <= temperature < 2
    ):
        raise invalid_parameter(
            "Range of temperature should be [0.0, 2.0).", "temperature"
        )
    top_p = body.get("top_p")
    if top_p is not None and not (isinstance(top_p, int | float) and 0 < top_p <= 1):
        raise invalid_parameter("Range of top_p should be (0.0, 1.0].", "top_p")
    if body.get("previous_response_id") and body.get("conversation"):
        raise invalid_parameter(
            "previous_response_id and conversation cannot be used together.",
            "conversation",
        )
    if body.get("background"):
        raise invalid_parameter("background is not supported.", "background")
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise invalid_parameter("tools must be an array.", "tools")
