# Two commands on a fresh clone: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_DATABASE_URL ?=

.PHONY: run test test-postgres lint format locales bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/loyalty migrate
	$(BIN)/loyalty serve

# Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The catalogs are checked with GNU gettext's msgfmt.
MSGFMT := /usr/bin/msgfmt
$(MSGFMT):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext

test: $(STAMP) $(CHROMIUM) $(MSGFMT)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# The database tests against PostgreSQL only (.ci/run sets TEST_DATABASE_URL).
test-postgres: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest -m db --backend postgres

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-extract texts after changing them; then translate the new entries in every .po file.
# Entries are kept sorted by message id (so parallel changes rarely touch the same lines) and
# every catalog keeps its header (language, plural forms): `msgfmt -c` must stay clean.
locales: $(STAMP) $(MSGFMT)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o bot/locales/messages.pot --no-location --omit-header --sort-output .
	$(BIN)/pybabel update -i bot/locales/messages.pot -d bot/locales -D messages --ignore-obsolete --no-fuzzy-matching --ignore-pot-creation-date
	for po in bot/locales/*/LC_MESSAGES/messages.po; do msgfmt -c -o /dev/null $$po || exit 1; done

bench: $(STAMP)
	$(BIN)/python bench/webhook_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
