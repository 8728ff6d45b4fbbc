# Two commands for a newcomer: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install install-dev migrate demo-data demo-networks serve worker bench audit clean

# The virtual environment is rebuilt only when a requirements file changes.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

# The demo catalog (48 synthesised clips, analysed and indexed; tagged by musicnn; a CNN trained on it
# briefly) and the demo studies.
demo-data: migrate
	$(PY) manage.py make_demo_catalog
	$(PY) manage.py create_demo_study --host http://$(HOST):$(PORT)

## The networks' demo study (the musicnn tagger and a CNN trained on the demo catalog: minutes of CPU).
demo-networks: migrate
	$(PY) manage.py embed_catalog demo
	$(PY) manage.py train_cnn demo --steps 100
	$(PY) manage.py create_demo_study --host http://$(HOST):$(PORT)

serve: install
	$(PY) manage.py runserver $(HOST):$(PORT)

## Set everything up and run the demo study on the embedded default (SQLite, eager tasks).
demo: demo-data
	@echo "Serving now. The networks' demo study is prepared in the background (log: demo-networks.log) and joins"
	@echo "when its CNN is trained, in a few minutes: run make demo-data again to see its link."
	@nohup $(MAKE) --no-print-directory demo-networks > demo-networks.log 2>&1 &
	$(MAKE) --no-print-directory serve

## Lint (ruff, configured in pyproject.toml), then run the whole test suite (integration tests too, when DATABASE_URL and CELERY_BROKER_URL are set),
## then the browser journeys in Debian's Chromium (skipped where it is not installed). Two processes
## share the rest; tests with a real worker run on their own, against the database the worker reads.
## The fault drills stop and start PostgreSQL and Redis, so they come last, alone.
test: install-dev
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n 2 --dist loadgroup --durations=15 -m "not browser and not worker and not resilience"
	$(PY) -m pytest -m worker
	$(PY) -m pytest -n 2 -m browser --timeout 300
	$(PY) -m pytest -m resilience

## A Celery worker for a deployment with CELERY_BROKER_URL set.
worker: install
	$(VENV)/bin/celery -A config worker -Q interactive,batch --loglevel INFO

## Known vulnerabilities in everything installed in .venv (pip-audit, kept in a venv of its own so it adds
## nothing to the project's). It reads pypi.org's per-release JSON: it needs that site, not only a package index.
audit: install-dev
	test -x .audit/bin/pip-audit || { $(PYTHON) -m venv .audit && .audit/bin/pip install --quiet pip-audit; }
	PIPAPI_PYTHON_LOCATION=$(PY) .audit/bin/pip-audit --strict

bench: install-dev
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .audit db.sqlite3 media staticfiles test-artifacts
