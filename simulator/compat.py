"""The `compatible-mode/v1` APIs: Chat Completions, Embedding, File and Batch.

They live under a different base URL from the Responses API (overview 004):
`/compatible-mode/v1` rather than `/api/v2/apps/protocols/compatible-mode/v1`.
The documented differences from OpenAI are enforced: `n` only 1-4 and only on
some models, `encoding_format` float only, `dimensions` from a fixed list,
`purpose` only `file-extract` or `batch`, `completion_window` in integer hours
or days between 24h and 14 days, batch statuses moving validating ->
in_progress -> finalizing -> completed as they are polled.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import io
import json
import math
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import errors, events

if TYPE_CHECKING:
    from .server import SimulatorApp

COMPAT_PREFIX = "/compatible-mode/v1"

VISION_MODELS = ("qwen3-vl-plus", "qwen3-vl-flash", "qwen-vl-max", "qwen-vl-plus")
LONG_MODELS = ("qwen-long", "qwen-long-latest")
CHAT_MODELS = (*errors.MODELS, *VISION_MODELS, *LONG_MODELS)
# Chat Completions' `n` (1-4) is limited to these models (004).
N_MODELS = ("qwen-plus", "qwen-plus-character")
EMBEDDING_MODELS = {"text-embedding-v4": (2048, 1536, 1024, 768, 512, 256, 128, 64)}
EMBEDDING_DEFAULT_DIMENSIONS = 1024
EMBEDDING_MAX_BATCH = 10
EMBEDDING_MAX_CHARS = 8192 * 3
MAX_IMAGE_BYTES = 10 * 1024 * 1024
FILE_PURPOSES = ("file-extract", "batch")
EXTRACT_SUFFIXES = (
    ".txt", ".md", ".pdf", ".docx", ".doc", ".xlsx", ".xls", ".epub", ".mobi",
    ".rtf", ".html", ".json", ".csv", ".pptx",
)  # fmt: skip
MAX_FILE_BYTES = 150 * 1024 * 1024
BATCH_MAX_LINES = 50_000
# A batch line whose request text contains one of these fails (always / once):
# how tests produce partial failures.
BATCH_FAIL = "[[batch-fail]]"
BATCH_FAIL_ONCE = "[[batch-fail-once]]"

# A small table of concepts: words that mean the same thing land on the same
# axis, so "automobile" is near "car" though the two share no letters. Enough
# meaning for tests and demos; the real model learns this from data.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "vehicle": ("car", "cars", "automobile", "automobiles", "vehicle", "vehicles",
                "truck", "sedan", "motor", "auto"),
    "repair": ("repair", "repairs", "fix", "fixing", "fixed", "mend", "mechanic",
               "garage", "broken", "maintenance", "service"),
    "money": ("money", "cash", "budget", "finance", "finances", "salary",
              "payment", "price", "cost", "expensive", "cheap", "invoice"),
    "food": ("food", "meal", "dinner", "lunch", "breakfast", "recipe", "cook",
             "cooking", "eat", "eating", "pasta", "soup", "cuisine"),
    "travel": ("travel", "trip", "journey", "vacation", "holiday", "flight",
               "airport", "voyage", "hotel", "tourism"),
    "dog": ("dog", "dogs", "puppy", "canine", "hound", "pet", "pets"),
    "cat": ("cat", "cats", "kitten", "feline"),
    "sick": ("sick", "ill", "illness", "disease", "doctor", "medicine",
             "unwell", "fever", "health", "hospital"),
    "happy": ("happy", "glad", "joyful", "cheerful", "delighted", "pleased"),
    "sad": ("sad", "unhappy", "sorrow", "depressed", "gloomy", "miserable"),
    "code": ("code", "program", "programming", "software", "python", "bug",
             "function", "developer", "script", "compile"),
    "weather": ("weather", "rain", "raining", "sunny", "forecast", "storm",
                "snow", "temperature", "climate"),
    "house": ("house", "home", "apartment", "flat", "dwelling", "residence"),
    "music": ("music", "song", "songs", "melody", "concert", "guitar", "piano"),
    "big": ("big", "large", "huge", "enormous", "giant", "vast"),
    "fast": ("fast", "quick", "rapid", "speedy", "swift"),
}  # fmt: skip
_WORD_CONCEPT = {word: name for name, words in CONCEPTS.items() for word in words}
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "my",
        "your",
        "our",
        "is",
        "are",
        "was",
        "were",
        "be",
        "it",
        "its",
        "this",
        "that",
        "i",
        "you",
        "we",
        "he",
        "she",
        "they",
        "me",
        "do",
        "does",
        "did",
        "how",
        "what",
        "why",
        "can",
        "could",
        "please",
        "about",
        "from",
        "as",
        "by",
        "into",
    ]
)


def _compat_error(status: int, code: str, message: str) -> errors.ApiError:
    return errors.ApiError(status, code, message)


def embed_text(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector whose closeness follows `CONCEPTS`."""
    vector = [0.0] * dimensions
    words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOPWORDS]
    for word in words or [text.strip().lower() or "empty"]:
        for index, weight in _word_slots(word, dimensions):
            vector[index] += weight
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


@functools.lru_cache(maxsize=65_536)
def _word_slots(word: str, dimensions: int) -> tuple[tuple[int, float], ...]:
    """Where `word` adds to a vector, and how much. Cached: prose repeats its
    words, and a benchmark embeds hundreds of long replies on the cores of
    the app it measures (a hash per word: 0.8 s of CPU for 300 replies)."""
    concept = _WORD_CONCEPT.get(word)
    # A concept weighs more than a bare word, so meaning beats spelling.
    key, weight = (f"concept:{concept}", 3.0) if concept else (f"w:{word}", 1.0)
    digest = hashlib.sha256(key.encode()).digest()
    return tuple(
        (
            int.from_bytes(digest[i * 4 : i * 4 + 3], "big") % dimensions,
            weight if digest[i * 4 + 3] & 1 else -weight,
        )
        for i in range(4)
    )


def extract_text(filename: str, data: bytes) -> str:
    """What file-extract reads from a document (a crude but honest parser)."""
    name = filename.lower()
    if name.endswith(".docx"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                xml = archive.read("word/document.xml").decode("utf-8", "replace")
        except (zipfile.BadZipFile, KeyError):
            return ""
        xml = re.sub(r"</w:p>", "\n", xml)
        return re.sub(r"<[^>]+>", "", xml).strip()
    if name.endswith(".pdf"):
        raw = data.decode("latin-1")
        parts = re.findall(r"\((.*?)(?<!\\)\)\s*Tj", raw, flags=re.S)
        return "\n".join(p.replace("\\(", "(").replace("\\)", ")") for p in parts)
    return data.decode("utf-8", "replace")


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def object(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
        }


@dataclass
class StoredBatch:
    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, Any]
    created_at: int
    lines: list[dict[str, Any]]
    status: str = "validating"
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, Any] | None = None
    times: dict[str, int] = field(default_factory=dict)

    def object(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": self.errors,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "in_progress_at": self.times.get("in_progress"),
            "expires_at": None,
            "finalizing_at": self.times.get("finalizing"),
            "completed_at": self.times.get("completed"),
            "failed_at": self.times.get("failed"),
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": self.times.get("cancelled"),
            "request_counts": self.counts
            or {"total": len(self.lines), "completed": 0, "failed": 0},
            "metadata": self.metadata,
        }


class CompatApis:
    """Handlers for `compatible-mode/v1`, registered on the simulator app."""

    def __init__(self, app: SimulatorApp) -> None:
        self.sim = app
        self.files: dict[str, StoredFile] = {}
        self.batches: dict[str, StoredBatch] = {}
        # APIs made to answer 503 (an outage), by name: "embeddings", "chat", ...
        self.outages: set[str] = set()
        self.failed_once: set[str] = set()
        r = app.app.router
        r.add_post(f"{COMPAT_PREFIX}/chat/completions", self.chat_completions)
        r.add_post(f"{COMPAT_PREFIX}/embeddings", self.embeddings)
        r.add_post(f"{COMPAT_PREFIX}/files", self.file_upload)
        r.add_get(f"{COMPAT_PREFIX}/files", self.file_list)
        r.add_get(f"{COMPAT_PREFIX}/files/{{id}}", self.file_get)
        r.add_delete(f"{COMPAT_PREFIX}/files/{{id}}", self.file_delete)
        r.add_get(f"{COMPAT_PREFIX}/files/{{id}}/content", self.file_content)
        r.add_post(f"{COMPAT_PREFIX}/batches", self.batch_create)
        r.add_get(f"{COMPAT_PREFIX}/batches", self.batch_list)
        r.add_get(f"{COMPAT_PREFIX}/batches/{{id}}", self.batch_get)
        r.add_post(f"{COMPAT_PREFIX}/batches/{{id}}/cancel", self.batch_cancel)
        r.add_post("/_simulator/outage", self.control_outage)

    def reset(self) -> None:
        self.files.clear()
        self.batches.clear()
        self.outages.clear()
        self.failed_once.clear()

    def _now(self) -> int:
        return int(self.sim.state.now())

    def _check_outage(self, api: str) -> None:
        if api in self.outages:
            raise _compat_error(
                503, "ServiceUnavailable", f"The {api} service is unavailable."
            )

    async def control_outage(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        api = str(body.get("api", ""))
        if body.get("down", True):
            self.outages.add(api)
        else:
            self.outages.discard(api)
        return web.json_response({"outages": sorted(self.outages)})

    # -- chat completions ---------------------------------------------------

    def _validate_chat(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise errors.invalid_parameter("The request body must be a JSON object.")
        model = body.get("model")
        if not model:
            raise errors.invalid_parameter("Model not specified.", "model")
        if model not in CHAT_MODELS:
            raise errors.ApiError(
                404,
                "ModelNotFound",
                f"The model `{model}` does not exist or you do not have access to it.",
                param="model",
            )
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise errors.invalid_parameter("messages must not be empty.", "messages")
        n = body.get("n", 1)
        if not isinstance(n, int) or not 1 <= n <= 4:
            raise errors.invalid_parameter("n should be in [1, 4].", "n")
        if n > 1 and model not in N_MODELS:
            raise errors.invalid_parameter(
                f"n > 1 is not supported by model {model}.", "n"
            )
        fmt = (body.get("response_format") or {}).get("type")
        if fmt not in (None, "text", "json_object"):
            raise errors.invalid_parameter(
                "response_format only supports json_object.", "response_format"
            )

    def _answer(self, body: dict[str, Any]) -> str:
        model = body["model"]
        messages = body["messages"]
        files: list[StoredFile] = []
        images: list[str] = []
        question = ""
        for message in messages:
            content = message.get("content")
            if message.get("role") == "system" and isinstance(content, str):
                if content.startswith("fileid://"):
                    if model not in LONG_MODELS:
                        raise errors.invalid_parameter(
                            f"fileid:// is only supported by {', '.join(LONG_MODELS)}."
                        )
                    for file_id in content.removeprefix("fileid://").split(","):
                        stored = self.files.get(file_id.strip())
                        if stored is None or stored.purpose != "file-extract":
                            raise errors.invalid_parameter(
                                f"File {file_id.strip()} not found or not "
                                "processed for file-extract."
                            )
                        files.append(stored)
                continue
            if message.get("role") != "user":
                continue
            if isinstance(content, str):
                question = content
                images = []
            elif isinstance(content, list):
                images = []
                texts = []
                for part in content:
                    if part.get("type") == "text":
                        texts.append(str(part.get("text") or ""))
                    elif part.get("type") == "image_url":
                        url = (part.get("image_url") or {}).get("url", "")
                        images.append(url)
                question = " ".join(texts)
        if images and model not in VISION_MODELS:
            raise errors.invalid_parameter(
                f"The model {model} does not accept images.", "messages"
            )
        if (body.get("response_format") or {}).get("type") == "json_object":
            return _json_answer(question)
        lines = []
        for url in images:
            lines.append(_describe_image(url))
        for stored in files:
            lines.append(_describe_document(stored, question))
        if not lines:
            words = re.sub(r"\[\[[^\]]*\]\]", "", question).split()
            lines.append(
                "You asked about: " + " ".join(words[:20])
                if words
                else "Hello! How can I help?"
            )
        elif question.strip():
            lines.append(f'About your question "{question.strip()[:200]}": see above.')
        return "\n\n".join(lines)

    def _completion(
        self, body: dict[str, Any], text: str, completion_id: str
    ) -> dict[str, Any]:
        prompt = sum(
            _count_tokens(json.dumps(m.get("content"))) for m in body["messages"]
        )
        output = _count_tokens(text)
        n = int(body.get("n", 1))
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": self._now(),
            "model": body["model"],
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
                for i in range(n)
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": output * n,
                "total_tokens": prompt + output * n,
            },
        }

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        body = await self.sim._body(request)
        self._check_outage("chat")
        self._validate_chat(body)
        text = self._answer(body)
        completion_id = f"chatcmpl-{uuid.uuid4()}"
        full = self._completion(body, text, completion_id)
        if not body.get("stream"):
            return web.json_response(full)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        base = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": full["created"],
            "model": body["model"],
        }

        async def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
            payload = {
                **base,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            await response.write(f"data: {events.dumps(payload)}\n\n".encode())

        if self.sim.ttft > 0:
            await asyncio.sleep(self.sim.ttft)
        await chunk({"role": "assistant", "content": ""})
        interval = 1.0 / max(self.sim.tps, 0.001)
        for piece in re.findall(r"\S+\s*|\s+", text):
            await chunk({"content": piece})
            if interval > 0.002:
                await asyncio.sleep(interval)
        await chunk({}, "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            payload = {**base, "choices": [], "usage": full["usage"]}
            await response.write(f"data: {events.dumps(payload)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    # -- embeddings -----------------------------------------------------------

    async def embeddings(self, request: web.Request) -> web.StreamResponse:
        body = await self.sim._body(request)
        self._check_outage("embeddings")
        if not isinstance(body, dict):
            raise errors.invalid_parameter("The request body must be a JSON object.")
        model = body.get("model")
        if model not in EMBEDDING_MODELS:
            raise errors.ApiError(
                404, "ModelNotFound", f"The model `{model}` does not exist."
            )
        if body.get("encoding_format", "float") != "float":
            raise errors.invalid_parameter(
                "encoding_format only supports float.", "encoding_format"
            )
        if "user" in body:
            raise errors.invalid_parameter("user is not supported.", "user")
        dimensions = body.get("dimensions", EMBEDDING_DEFAULT_DIMENSIONS)
        if dimensions not in EMBEDDING_MODELS[model]:
            allowed = ", ".join(str(d) for d in EMBEDDING_MODELS[model])
            raise errors.invalid_parameter(
                f"dimensions must be one of {allowed} for {model}.", "dimensions"
            )
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts:
            raise errors.invalid_parameter("input must not be empty.", "input")
        if len(texts) > EMBEDDING_MAX_BATCH:
            raise errors.invalid_parameter(
                f"batch size is invalid, it should not be larger than "
                f"{EMBEDDING_MAX_BATCH}.",
                "input",
            )
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise errors.invalid_parameter("Each input must be a non-empty string.")
            if len(text) > EMBEDDING_MAX_CHARS:
                raise errors.invalid_parameter("An input is longer than 8,192 tokens.")
        tokens = sum(_count_tokens(t) for t in texts)
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {
                        "object": "embedding",
                        "index": i,
                        "embedding": embed_text(text, dimensions),
                    }
                    for i, text in enumerate(texts)
                ],
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                "id": str(uuid.uuid4()),
            }
        )

    # -- files ----------------------------------------------------------------

    async def file_upload(self, request: web.Request) -> web.StreamResponse:
        self._check_outage("files")
        if not request.content_type.startswith("multipart/"):
            raise errors.invalid_parameter("Upload a file as multipart/form-data.")
        form = await request.post()
        purpose = str(form.get("purpose") or "")
        upload = form.get("file")
        if purpose not in FILE_PURPOSES:
            raise errors.invalid_parameter(
                f"purpose must be one of {', '.join(FILE_PURPOSES)}.", "purpose"
            )
        if not isinstance(upload, web.FileField):
            raise errors.invalid_parameter("file is required.", "file")
        data = upload.file.read()
        name = upload.filename or "upload"
        if len(data) > MAX_FILE_BYTES:
            raise errors.invalid_parameter("The file is larger than 150 MB.", "file")
        if not data:
            raise errors.invalid_parameter("The file is empty.", "file")
        if purpose == "file-extract" and not name.lower().endswith(EXTRACT_SUFFIXES):
            raise errors.invalid_parameter(
                f"Unsupported file type for file-extract: {name}.", "file"
            )
        prefix = "file-fe-" if purpose == "file-extract" else "file-batch-"
        stored = StoredFile(
            prefix + uuid.uuid4().hex[:24], name, purpose, data, self._now()
        )
        self.files[stored.id] = stored
        return web.json_response(stored.object())

    def _file(self, file_id: str) -> StoredFile:
        stored = self.files.get(file_id)
        if stored is None:
            raise errors.not_found("File", file_id)
        return stored

    async def file_list(self, request: web.Request) -> web.StreamResponse:
        # `purpose` and `order` filters are not supported upstream (004).
        items = [f.object() for f in self.files.values()]
        return web.json_response({"object": "list", "data": items, "has_more": False})

    async def file_get(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self._file(request.match_info["id"]).object())

    async def file_delete(self, request: web.Request) -> web.StreamResponse:
        stored = self._file(request.match_info["id"])
        del self.files[stored.id]
        return web.json_response({"id": stored.id, "object": "file", "deleted": True})

    async def file_content(self, request: web.Request) -> web.StreamResponse:
        stored = self._file(request.match_info["id"])
        # Retrieval is refused for uploads (004); batch results are readable.
        if stored.purpose not in ("batch_output",):
            raise errors.invalid_parameter(
                "File content retrieval is not supported for this file."
            )
        return web.Response(body=stored.data, content_type="application/jsonl")

    # -- batches --------------------------------------------------------------

    async def batch_create(self, request: web.Request) -> web.StreamResponse:
        body = await self.sim._body(request)
        self._check_outage("batches")
        if not isinstance(body, dict):
            raise errors.invalid_parameter("The request body must be a JSON object.")
        endpoint = body.get("endpoint")
        if endpoint not in ("/v1/chat/completions", "/v1/embeddings"):
            raise errors.invalid_parameter("Unsupported endpoint.", "endpoint")
        window = str(body.get("completion_window") or "")
        if not _valid_window(window):
            raise errors.invalid_parameter(
                "completion_window must be an integer number of hours (h) or days "
                "(d) between 24h and 336h.",
                "completion_window",
            )
        stored_input = self.files.get(str(body.get("input_file_id") or ""))
        if stored_input is None or stored_input.purpose != "batch":
            raise errors.invalid_parameter(
                "input_file_id must name a file uploaded with purpose=batch.",
                "input_file_id",
            )
        lines = []
        for number, raw in enumerate(stored_input.data.decode().splitlines(), 1):
            if not raw.strip():
                continue
            if len(raw.encode()) > 6 * 1024 * 1024:
                raise errors.invalid_parameter(f"Line {number} is larger than 6 MB.")
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError as exc:
                raise errors.invalid_parameter(
                    f"Line {number} of the input file is not JSON."
                ) from exc
        if not lines or len(lines) > BATCH_MAX_LINES:
            raise errors.invalid_parameter("The input file must hold 1-50,000 lines.")
        models = {str((line.get("body") or {}).get("model")) for line in lines}
        if len(models) > 1:
            raise errors.invalid_parameter(
                "All requests in a batch file must use the same model."
            )
        metadata = body.get("metadata") or {}
        batch = StoredBatch(
            id=f"batch_{uuid.uuid4()}",
            input_file_id=stored_input.id,
            endpoint=endpoint,
            completion_window=window,
            metadata=metadata,
            created_at=self._now(),
            lines=lines,
        )
        self.batches[batch.id] = batch
        return web.json_response(batch.object())

    def _advance(self, batch: StoredBatch) -> None:
        """Each poll moves a batch one status on, so tests need no waiting."""
        now = self._now()
        if batch.status == "validating":
            batch.status = "in_progress"
            batch.times["in_progress"] = now
        elif batch.status == "in_progress":
            batch.status = "finalizing"
            batch.times["finalizing"] = now
        elif batch.status == "finalizing":
            self._run(batch)
            batch.status = "completed"
            batch.times["completed"] = now

    def _run(self, batch: StoredBatch) -> None:
        outputs, failures = [], []
        for line in batch.lines:
            custom_id = str(line.get("custom_id") or "")
            request_id = str(uuid.uuid4())
            body = line.get("body") or {}
            text = json.dumps(body.get("messages") or [])
            try:
                if BATCH_FAIL in text:
                    raise _compat_error(500, "InternalError", "The line failed.")
                once = f"{custom_id}:{text}"
                if BATCH_FAIL_ONCE in text and once not in self.failed_once:
                    self.failed_once.add(once)
                    raise _compat_error(500, "InternalError", "The line failed.")
                self._validate_chat(body)
                answer = self._answer(body)
                result = self._completion(body, answer, f"chatcmpl-{uuid.uuid4()}")
                outputs.append(
                    {
                        "id": f"batch_req_{uuid.uuid4().hex[:16]}",
                        "custom_id": custom_id,
                        "response": {
                            "status_code": 200,
                            "request_id": request_id,
                            "body": result,
                        },
                        "error": None,
                    }
                )
            except errors.ApiError as exc:
                failures.append(
                    {
                        "id": f"batch_req_{uuid.uuid4().hex[:16]}",
                        "custom_id": custom_id,
                        "response": {
                            "status_code": exc.status,
                            "request_id": request_id,
                            "body": exc.body(request_id),
                        },
                        "error": {"code": exc.code, "message": exc.message},
                    }
                )
        batch.counts = {
            "total": len(batch.lines),
            "completed": len(outputs),
            "failed": len(failures),
        }
        if outputs:
            batch.output_file_id = self._result_file(batch, "output", outputs)
        if failures:
            batch.error_file_id = self._result_file(batch, "error", failures)

    def _result_file(
        self, batch: StoredBatch, kind: str, rows: list[dict[str, Any]]
    ) -> str:
        data = "".join(json.dumps(row) + "\n" for row in rows).encode()
        stored = StoredFile(
            f"file-batch_output-{uuid.uuid4().hex[:20]}",
            f"{batch.id}_{kind}.jsonl",
            "batch_output",
            data,
            self._now(),
        )
        self.files[stored.id] = stored
        return stored.id

    def _batch(self, batch_id: str) -> StoredBatch:
        batch = self.batches.get(batch_id)
        if batch is None:
            raise errors.not_found("Batch", batch_id)
        return batch

    async def batch_get(self, request: web.Request) -> web.StreamResponse:
        batch = self._batch(request.match_info["id"])
        self._advance(batch)
        return web.json_response(batch.object())

    async def batch_list(self, request: web.Request) -> web.StreamResponse:
        items = list(self.batches.values())
        status = request.query.get("status")
        if status:
            items = [b for b in items if b.status == status]
        name = request.query.get("ds_name")
        if name:
            items = [b for b in items if b.metadata.get("ds_name") == name]
        return web.json_response(
            {"object": "list", "data": [b.object() for b in items], "has_more": False}
        )

    async def batch_cancel(self, request: web.Request) -> web.StreamResponse:
        batch = self._batch(request.match_info["id"])
        if batch.status in ("validating", "in_progress", "finalizing"):
            batch.status = "cancelled"
            batch.times["cancelled"] = self._now()
        return web.json_response(batch.object())


def _valid_window(window: str) -> bool:
    match = re.fullmatch(r"(\d+)([hd])", window)
    if not match:
        return False
    hours = int(match.group(1)) * (24 if match.group(2) == "d" else 1)
    return 24 <= hours <= 336


def _count_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _describe_image(url: str) -> str:
    if not url.startswith("data:"):
        return f"I looked at the image at {url}."
    match = re.match(r"data:(image/[\w.+-]+);base64,(.*)", url, flags=re.S)
    if not match:
        raise errors.invalid_parameter("The image data URL is malformed.", "messages")
    try:
        data = base64.b64decode(match.group(2), validate=True)
    except ValueError as exc:
        raise errors.invalid_parameter("The image is not valid base64.") from exc
    if len(data) > MAX_IMAGE_BYTES:
        raise errors.invalid_parameter("The image is larger than 10 MB.", "messages")
    kind = match.group(1).split("/")[1].upper()
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width = int.from_bytes(data[16:20], "big")
        height = int.from_bytes(data[20:24], "big")
        return f"I see a {kind} image of {width}x{height} pixels."
    return f"I see a {kind} image ({len(data):,} bytes)."


def _describe_document(stored: StoredFile, question: str) -> str:
    text = extract_text(stored.filename, stored.data)
    words = text.split()
    summary = " ".join(words[:40])
    lines = [f"The document {stored.filename} ({len(words)} words) begins: {summary}"]
    wanted = {w.lower() for w in re.findall(r"\w{4,}", question)}
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        if wanted & {w.lower() for w in re.findall(r"\w{4,}", sentence)}:
            lines.append(f"It says: {sentence.strip()}")
            break
    return "\n\n".join(lines)


def _json_answer(question: str) -> str:
    words = re.sub(r"\[\[[^\]]*\]\]", "", question).split()
    conversation = [w for w in words if not w.endswith(":")]
    title = " ".join(conversation[-6:])[:60] or "Untitled"
    summary = " ".join(conversation[-25:])[:200] or "An empty conversation."
    return json.dumps({"title": title.strip(" .,").capitalize(), "summary": summary})
