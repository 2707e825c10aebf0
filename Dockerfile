# syntax=docker/dockerfile:1
FROM python:3.12-slim AS build
WORKDIR /app
COPY pyproject.toml README.md ./
COPY chatsite chatsite
COPY conversations conversations
COPY simulator simulator
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir .

FROM python:3.12-slim
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 DEBUG=false
RUN useradd --system --create-home app
WORKDIR /app
COPY --from=build /venv /venv
COPY . .
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
# The UI's message catalogues are compiled here, not kept compiled in the repo.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends gettext \
    && SECRET_KEY=compilemessages-only python manage.py compilemessages --ignore=staticfiles \
    && apt-get purge -y -qq gettext && rm -rf /var/lib/apt/lists/*
USER app
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "chatsite.asgi:application"]
