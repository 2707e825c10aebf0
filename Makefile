# The README's two commands: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS ?= redis://127.0.0.1:6379/0

.PHONY: setup run test test-embedded test-production browser-deps lint screenshot simulator messages makemessages

$(PY):
	"$$(scripts/python.sh)" -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed messages

## Compile the UI's message catalogues (locale/*/LC_MESSAGES/django.po -> .mo).
messages: $(VENV)/.installed
	@command -v msgfmt >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq gettext >/dev/null; }
	@$(PY) manage.py compilemessages --ignore=.venv --ignore=staticfiles >/dev/null

## Refresh the catalogues from the templates and code (then translate the new entries).
makemessages: $(VENV)/.installed
	$(PY) manage.py makemessages -l zh_Hans --no-location --ignore='.venv/*' --ignore='tests/*' --ignore='simulator/*' --ignore='scripts/*' --ignore='staticfiles/*'

## Run the app with the embedded defaults (SQLite, in-memory layer, simulator).
run: setup
	$(PY) manage.py migrate --noinput
	@echo "Open http://127.0.0.1:$(PORT)/ (create a user: $(PY) manage.py createsuperuser, or sign up)"
	$(PY) -m chatsite.serve -b 127.0.0.1 -p $(PORT) chatsite.asgi:application

simulator: setup
	$(PY) manage.py simulator --port 8765

# Debian's Chromium for the browser tests (Playwright drives it; no download).
browser-deps:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

## The whole suite on the embedded default, then on PostgreSQL + Redis.
test: setup browser-deps
	scripts/services.sh
	$(MAKE) --no-print-directory test-embedded
	$(MAKE) --no-print-directory test-production

test-embedded:
	@echo "== tests: SQLite + in-memory channel layer =="
	env -u DATABASE_URL -u REDIS_URL -u DASHSCOPE_API_KEY $(VENV)/bin/pytest -q -p no:cacheprovider

test-production:
	@echo "== tests: PostgreSQL + Redis =="
	env -u DASHSCOPE_API_KEY DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) DB_CONN_MAX_AGE=0 $(VENV)/bin/pytest -q -p no:cacheprovider

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# A font with Chinese glyphs, for the Chinese UI screenshot.
screenshot: setup browser-deps
	@fc-list :lang=zh | grep -q . || { apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null; }
	$(PY) scripts/screenshot.py
