# syntax=docker/dockerfile:1
# Build: docker build -t qwen-team-chat .   Run: see compose.yaml.

# --- Stage 1: the virtualenv, built with the compilers and caches left behind.
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY chatsite chatsite
COPY conversations conversations
COPY simulator simulator
RUN python -m venv /venv && /venv/bin/pip install .

# --- Stage 2: the runtime: the virtualenv, the code, the collected static files.
FROM python:3.12-slim
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DEBUG=false \
    LOG_FORMAT=json
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /app app
WORKDIR /app
COPY --from=build /venv /venv
COPY manage.py ./
COPY chatsite chatsite
COPY conversations conversations
COPY simulator simulator
COPY templates templates
COPY static static
COPY locale locale
# Static files are collected (hashed, compressed) at build time for WhiteNoise;
# the key below exists only for this command and is not in the image's env.
# The message catalogues are compiled here (gettext is removed again); the
# base image's Debian release pins gettext's version.
# hadolint ignore=DL3008
RUN SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput \
    && python -m compileall -q chatsite conversations simulator \
    && apt-get update -qq && apt-get install -y -qq --no-install-recommends gettext \
    && SECRET_KEY=compilemessages-only python manage.py compilemessages \
    && apt-get purge -y -qq gettext && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /app/media && chown 10001:10001 /app/media
# Uploads (MEDIA_ROOT) are the only place the app writes: mount a volume there.
VOLUME ["/app/media"]
USER 10001:10001
EXPOSE 8000
# /healthz checks the database and the channel layer (chatsite/health.py); it
# answers plain HTTP on the container's own address, whatever ALLOWED_HOSTS says.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["python", "-m", "chatsite.serve", "-b", "0.0.0.0", "-p", "8000", "chatsite.asgi:application"]
