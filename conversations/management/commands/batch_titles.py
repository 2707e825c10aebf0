from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations import batches


class Command(BaseCommand):
    help = (
        "Write titles and one-sentence summaries for threads through the Batch API "
        "(half price; results can take hours). Failed lines are retried on their "
        "own. Safe to schedule (cron): threads already summarised are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all", action="store_true", help="Also redo threads with a summary."
        )
        parser.add_argument("--limit", type=int, default=None)
        parser.add_argument("--max-attempts", type=int, default=3)
        parser.add_argument(
            "--poll-seconds",
            type=float,
            default=30.0,
            help="Seconds between two status polls (default 30).",
        )

    def handle(self, *args: object, **options: object) -> None:
        threads = batches.threads_needing_titles(
            include_summarised=bool(options["all"])
        )
        limit = options["limit"]
        if isinstance(limit, int):
            threads = threads[:limit]
        if not threads:
            self.stdout.write("No thread needs a title.")
            return
        outcome = batches.titles_batch_run(
            threads=threads,
            max_attempts=int(options["max_attempts"]),  # type: ignore[call-overload]
            poll_seconds=float(options["poll_seconds"]),  # type: ignore[arg-type]
            report=self.stdout.write,
        )
        self.stdout.write(
            f"Titled {len(outcome.applied)} of {len(threads)} thread(s) in "
            f"{len(outcome.jobs)} batch(es)."
        )
        for custom_id, reason in sorted(outcome.failed.items()):
            self.stderr.write(f"{custom_id}: {reason}")
        if outcome.failed:
            raise CommandError(f"{len(outcome.failed)} thread(s) could not be titled.")
