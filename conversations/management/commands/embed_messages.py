from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations import gateway, semantic


class Command(BaseCommand):
    help = (
        "Embed stored messages that have no vector of the configured model and "
        "dimension. Idempotent and resumable: stop it and run it again at any time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=int, default=None, help="Embed at most this many."
        )

    def handle(self, *args: object, **options: int | None) -> None:
        try:
            outcome = semantic.messages_embed(limit=options["limit"])
        except gateway.EmbeddingUnavailable as exc:
            # What was embedded before the failure stays; a rerun continues.
            raise CommandError(
                f"Embedding failed: {exc.failure.message} Run the command again to "
                "continue where it stopped."
            ) from exc
        self.stdout.write(
            f"Embedded {outcome.embedded} message(s); {outcome.remaining} left."
        )
