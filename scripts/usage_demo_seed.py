"""A month of made-up usage for the dashboard screenshot (run by manage.py shell)."""

import random
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from conversations.models import (
    Message,
    ModelPrice,
    Team,
    Thread,
    UpstreamResponse,
    UserQuota,
)

User = get_user_model()
rng = random.Random(7)
now = timezone.now()
User.objects.create_superuser("operator", password="operator-pass-123")
people = [
    User.objects.create_user(name, password="!")
    for name in ("mei", "jonas", "priya", "tomas", "ana", "li")
]
models = {"qwen3-max": 5, "qwen-plus": 3, "qwen-flash": 2}
for model, weight in (("qwen3-max", "1.2/6/0.24"), ("qwen-plus", "0.4/1.2/0.08")):
    i, o, c = (Decimal(x) for x in weight.split("/"))
    ModelPrice.objects.create(
        model=model,
        input_per_million=i,
        output_per_million=o,
        cached_input_per_million=c,
    )
UserQuota.objects.create(user=people[0], daily_tokens=60_000)
UserQuota.objects.create(user=people[1], monthly_tokens=400_000)
teams = [
    Team.objects.create(name="Research", created_by=people[0]),
    Team.objects.create(name="Support", created_by=people[1]),
    None,
]
for person_index, person in enumerate(people):
    for t in range(4):
        model = rng.choices(list(models), weights=list(models.values()))[0]
        thread = Thread.objects.create(
            owner=person, title=f"Thread {t}", model=model, team=teams[t % 3]
        )
        parent = None
        for day in range(30):
            if rng.random() < 0.55 - 0.06 * person_index:
                continue
            when = now - timedelta(days=29 - day, hours=rng.randint(0, 8))
            if day == 29:
                when = now - timedelta(minutes=5)
            question = Message.objects.create(
                thread=thread, parent=parent, role="user", author=person, text="..."
            )
            reply = Message.objects.create(
                thread=thread, parent=question, role="assistant", text="..."
            )
            parent = reply
            inp, out = rng.randint(800, 9000), rng.randint(200, 2500)
            if person_index == 0 and day == 29:
                inp, out = 40_000, 12_000
            response = UpstreamResponse.objects.create(
                message=reply,
                user=person,
                response_id=f"resp_{reply.pk}",
                model=model,
                status="completed",
                input_tokens=inp,
                output_tokens=out,
                reasoning_tokens=out // 3 if model == "qwen-plus" else 0,
                cached_tokens=inp // 3,
                total_tokens=inp + out,
            )
            Message.objects.filter(pk__in=[question.pk, reply.pk]).update(
                created_at=when
            )
            UpstreamResponse.objects.filter(pk=response.pk).update(created_at=when)
