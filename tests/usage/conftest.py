"""Hand-made usage histories: replies with known tokens at known times."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from conversations.models import ModelPrice, Thread

from .factories import at, turn


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "olivia", password="olivia-pass-123", is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def prices(db):
    """Per million: qwen3-max 1.2 in, 6 out, 0.24 cached; qwen-plus 0.4 / 1.2 / 4."""
    return [
        ModelPrice.objects.create(
            model="qwen3-max",
            input_per_million=Decimal("1.2"),
            output_per_million=Decimal("6"),
            cached_input_per_million=Decimal("0.24"),
        ),
        ModelPrice.objects.create(
            model="qwen-plus",
            input_per_million=Decimal("0.4"),
            output_per_million=Decimal("1.2"),
            reasoning_per_million=Decimal("4"),
        ),
    ]


@pytest.fixture
def history(alice, bob, prices):
    """Two users, three threads, four replies over three days of March 2025.

    Hand-computed (tokens; cost = per-million prices above):
      r1 alice  qwen3-max  Nov 3: in 1000 (200 cached), out 500       -> 1500
         cost (800*1.2 + 200*0.24 + 500*6)/1e6 = 0.004008
      r2 alice  qwen-plus  Nov 3: in 2000, out 1000 (600 reasoning)   -> 3000
         cost (2000*0.4 + 400*1.2 + 600*4)/1e6 = 0.00368
      r3 bob    qwen3-max  Nov 4: in 400, out 100                     -> 500
         cost (400*1.2 + 100*6)/1e6 = 0.00108
      r4 bob    qwen-flash Nov 5: in 10000, out 10000 (no price)      -> 20000
         cost 0
    """
    a1 = Thread.objects.create(owner=alice, title="Rivers of Europe", model="qwen3-max")
    a2 = Thread.objects.create(owner=alice, title="Thinking hard", model="qwen-plus")
    b1 = Thread.objects.create(owner=bob, title="Bob's notes", model="qwen3-max")
    return {
        "threads": (a1, a2, b1),
        "r1": turn(a1, when=at(3), input=1000, cached=200, output=500),
        "r2": turn(
            a2,
            when=at(3, 15),
            model="qwen-plus",
            input=2000,
            output=1000,
            reasoning=600,
            text="the Danube delta",
        ),
        "r3": turn(b1, when=at(4), input=400, output=100),
        "r4": turn(b1, when=at(5), model="qwen-flash", input=10000, output=10000),
    }
