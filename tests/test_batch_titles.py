"""`manage.py batch_titles` against the simulator's Batch API."""

import pytest
from django.core.management import CommandError, call_command

from conversations import batches, services
from conversations.models import BatchJob, Message, Thread

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("upstream")]


def thread_with(alice, text: str) -> Thread:
    thread = services.thread_create(owner=alice)
    sent = services.message_send(thread=thread, author=alice, text=text)
    Message.objects.filter(pk=sent.reply.pk).update(
        status=Message.Status.COMPLETED, text="Here is what I think about it."
    )
    return Thread.objects.get(pk=thread.pk)


def test_it_titles_and_summarises_threads_by_batch(alice, capsys):
    first = thread_with(alice, "How do I plant tomatoes on a balcony?")
    second = thread_with(alice, "Explain binary search trees")
    services.thread_rename(thread=second, title="My own title")
    call_command("batch_titles", "--poll-seconds", "0")
    out = capsys.readouterr().out
    assert "Titled 2 of 2 thread(s) in 1 batch(es)." in out
    assert "validating" in out and "completed" in out
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.summary and first.title != "How do I plant tomatoes on a balcony?"
    # A title chosen by hand is kept; the summary is still written.
    assert second.title == "My own title"
    assert second.summary
    [job] = BatchJob.objects.all()
    assert (job.status, job.total, job.completed, job.failed) == ("completed", 2, 2, 0)
    assert set(job.lines.values()) == {"applied"}


def test_failed_lines_are_retried_on_their_own(alice, capsys):
    ok = thread_with(alice, "Plan a trip to Lisbon")
    flaky = thread_with(alice, "Tell me about owls [[batch-fail-once]]")
    broken = thread_with(alice, "Summarise nothing [[batch-fail]]")
    with pytest.raises(CommandError, match="1 thread\\(s\\) could not be titled"):
        call_command("batch_titles", "--poll-seconds", "0", "--max-attempts", "3")
    captured = capsys.readouterr()
    assert "Titled 2 of 3 thread(s) in 3 batch(es)." in captured.out
    assert f"thread-{broken.pk}: The line failed." in captured.err
    jobs = list(BatchJob.objects.order_by("attempt"))
    assert [(j.attempt, j.total, j.completed, j.failed) for j in jobs] == [
        (1, 3, 1, 2),
        (2, 2, 1, 1),
        (3, 1, 0, 1),
    ]
    for thread in (ok, flaky):
        thread.refresh_from_db()
        assert thread.summary
    broken.refresh_from_db()
    assert broken.summary == ""


def test_threads_with_a_summary_are_skipped(alice, capsys):
    thread = thread_with(alice, "Hello")
    Thread.objects.filter(pk=thread.pk).update(summary="Done before.")
    assert batches.threads_needing_titles() == []
    call_command("batch_titles", "--poll-seconds", "0")
    assert "No thread needs a title." in capsys.readouterr().out


def test_admins_see_batch_jobs_and_their_outcome(alice, django_user_model, client):
    thread_with(alice, "Plan a trip to Lisbon")
    call_command("batch_titles", "--poll-seconds", "0")
    job = BatchJob.objects.get()
    admin = django_user_model.objects.create_superuser("root", password="root-pass-1")
    client.force_login(admin)
    listing = client.get("/admin/conversations/batchjob/").content.decode()
    assert job.batch_id in listing
    assert "completed" in listing
    page = client.get(f"/admin/conversations/batchjob/{job.pk}/change/")
    assert page.status_code == 200
    assert "applied" in page.content.decode()
