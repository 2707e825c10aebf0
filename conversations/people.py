"""How people appear to each other: display names, never more."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def display_name(user: AbstractBaseUser | AnonymousUser | None) -> str:
    """A person's first name, else their username (as message headers show them)."""
    if user is None or not user.is_authenticated:
        return "Someone"
    return user.get_short_name() or user.get_username()
