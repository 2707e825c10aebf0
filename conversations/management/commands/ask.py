import asyncio
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations import gateway


class Command(BaseCommand):
    help = "Stream one reply from the configured upstream to stdout, then its usage."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prompt")
        parser.add_argument("--model", default="", choices=["", *settings.QWEN_MODELS])
        parser.add_argument("--instructions", default="")
        parser.add_argument(
            "--tools",
            default="",
            help="Comma-separated built-in tools, e.g. web_search,code_interpreter",
        )
        parser.add_argument(
            "--thinking", action="store_true", help="Set enable_thinking."
        )
        parser.add_argument("--previous-response-id", default="")

    def handle(self, *args: object, **options: str) -> None:
        tools = [
            {"type": name.strip()}
            for name in options["tools"].split(",")
            if name.strip()
        ]
        request = gateway.ReplyRequest(
            input=options["prompt"],
            model=options["model"] or settings.QWEN_MODEL,
            instructions=options["instructions"],
            previous_response_id=options["previous_response_id"],
            tools=tools,
            enable_thinking=True if options["thinking"] else None,
            session_cache=settings.QWEN_SESSION_CACHE,
        )
        asyncio.run(self._stream(request))

    async def _stream(self, request: gateway.ReplyRequest) -> None:
        out = sys.stdout
        async for event in gateway.stream_reply(request):
            if isinstance(event, gateway.TextDelta):
                out.write(event.text)
                out.flush()
            elif isinstance(event, gateway.ReasoningDelta):
                self.stderr.write(event.text, ending="")
            elif isinstance(event, gateway.ItemAdded) and event.type not in (
                "message",
                "reasoning",
            ):
                self.stderr.write(f"\n[{event.type}]")
            elif isinstance(event, gateway.Completed):
                u = event.usage
                tools = (
                    ", ".join(f"{k}={v}" for k, v in u.tool_counts.items()) or "none"
                )
                out.write(
                    f"\n\n-- response {event.response_id}: input {u.input_tokens}, "
                    f"output {u.output_tokens} (reasoning {u.reasoning_tokens}), "
                    f"cached {u.cached_tokens}, total {u.total_tokens}; tools {tools}\n"
                )
            elif isinstance(event, gateway.Failed):
                raise CommandError(f"{event.category}: {event.message}")
