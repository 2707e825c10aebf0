from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the DashScope simulator as its own server on 127.0.0.1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--ttft", type=float, default=settings.SIMULATOR_TTFT)
        parser.add_argument("--tps", type=float, default=settings.SIMULATOR_TPS)
        parser.add_argument(
            "--api-key",
            action="append",
            dest="api_keys",
            help="A key the simulator accepts (repeatable; default sk-simulator).",
        )

    def handle(self, *args: object, **options: object) -> None:
        from simulator import run_forever

        run_forever(
            host=options["host"],
            port=options["port"],
            ttft=options["ttft"],
            tps=options["tps"],
            api_keys=set(options["api_keys"] or ["sk-simulator"]),
        )
