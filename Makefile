# The two commands a new user needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
MANAGE := $(PY) manage.py

.PHONY: install run test lint types pytest bench lock stop clean browser pdf

$(INSTALLED): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	@touch $(INSTALLED)

install: $(INSTALLED) browser pdf

# Debian's Chromium (and a CJK font, so Chinese pages render) for the page tests;
# Playwright never downloads a browser of its own.
browser:
	@{ command -v chromium >/dev/null && [ -d /usr/share/fonts/opentype/noto ]; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "Install Debian's chromium and fonts-noto-cjk (sudo apt-get install chromium fonts-noto-cjk) for the browser tests." >&2; exit 1; fi; }

# WeasyPrint writes the annual neutrality statement as PDF with Debian's Pango (the CJK font
# for its Chinese comes with `browser`).
pdf: $(INSTALLED)
	@$(PY) -c "import weasyprint" 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk >/dev/null; \
	  else echo "Install Debian's Pango (sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk) for the PDF statements." >&2; exit 1; fi; }

# Sets up and starts the whole platform; Ctrl-C stops it all.
run: $(INSTALLED) pdf
	$(PY) -m config.embedded start
	$(MANAGE) compile_translations
	$(MANAGE) migrate --noinput
	$(MANAGE) load_reference_data
	$(MANAGE) seed_demo
	$(MANAGE) collectstatic --noinput --verbosity 0
	@$(MANAGE) demo_accounts
	$(VENV)/bin/honcho start --procfile Procfile

stop:
	$(PY) -m config.embedded stop

# Lint, types and the whole suite against real PostgreSQL and Redis.
test: install
	@exports="$$($(PY) -m config.service_check)" || exit 1; eval "$$exports"; \
	$(MANAGE) compile_translations && \
	$(VENV)/bin/ruff check . && \
	$(VENV)/bin/ruff format --check . && \
	$(VENV)/bin/mypy && \
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

types: $(INSTALLED)
	$(VENV)/bin/mypy

# Benchmarks are never part of `make test`. QUICK=1 for a short run. The peer ledger
# (django-hordak) gets its own virtualenv; wrk comes from Debian.
HORDAK := bench/.venv-hordak/.installed
$(HORDAK): bench/requirements-hordak.txt
	@test -x bench/.venv-hordak/bin/python || $(PYTHON) -m venv bench/.venv-hordak
	bench/.venv-hordak/bin/pip install --quiet -r bench/requirements-hordak.txt
	@touch $(HORDAK)

bench: $(INSTALLED) $(HORDAK)
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	@exports="$$($(PY) -m config.service_check)" || exit 1; eval "$$exports"; \
	$(PY) -m bench.run $(if $(QUICK),--quick,)

# Re-pin requirements.txt after editing requirements.in.
lock: $(INSTALLED)
	$(VENV)/bin/pip-compile --quiet --strip-extras --output-file requirements.txt requirements.in

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
