# Two commands on a fresh machine (see README):  make run  |  make test
# Needs Python 3.11 (python3.11 on PATH, or PYTHON=/path/to/python3.11).
PYTHON ?= python3.11
VENV   := .venv
TOOLS  := .tools
PY     := $(VENV)/bin/python
DBT    := $(VENV)/bin/dbt
UV_VERSION := 0.13.9
MANIFEST := dbt/target/manifest.json
RAW_DIR ?= $(or $(MONITOR_RAW_DIR),raw)

.PHONY: setup run test test-fast sql lint manifest sample lock serve dagster-ui docs bench clean browser bytecode

setup: $(VENV)/.installed $(MANIFEST)

# Dependencies come only from requirements.lock (exact versions with hashes). Bytecode is compiled at
# install: our machines set PYTHONDONTWRITEBYTECODE, so without it every process would compile the
# ~5,000 modules it imports (Dagster, dbt, GX) from source again - seconds of every run and test.
$(VENV)/.installed: requirements.lock
	@test -x $(TOOLS)/bin/uv || ($(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/pip install -q uv==$(UV_VERSION))
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(TOOLS)/bin/uv pip sync -q --compile-bytecode -p $(PY) requirements.lock
	@touch $@

# The dbt manifest is prepared at build time, never at import time. No dbt
# packages are used (the dbt hub is not reachable from our machines).
$(MANIFEST): $(VENV)/.installed $(shell find dbt/models dbt/seeds dbt/macros dbt/tests -type f 2>/dev/null) dbt/dbt_project.yml
	$(DBT) parse --project-dir dbt --profiles-dir dbt --quiet
	@touch $@

manifest: $(MANIFEST)

# The bundled sample: generated (deterministically) only if raw/ has no extracts yet.
sample: $(VENV)/.installed
	@if [ -z "$$(find $(RAW_DIR) -name '*.csv' -o -name '*.xlsx' 2>/dev/null | head -1)" ]; then \
		$(PY) -m sample_data --sample --out $(RAW_DIR); \
	else echo "sample present in $(RAW_DIR)"; fi

# The project's own modules too (PYTHONDONTWRITEBYTECODE, see above); only changed files are recompiled.
bytecode: $(VENV)/.installed
	@$(PY) -m compileall -q -x '/out/' dagster_project sample_data bench

run: setup sample bytecode
	$(PY) -m dagster_project.cli run

# The analysts' SQL shell on the published database ($MONITOR_DATA_DIR/monitoring.duckdb): read-only,
# external access off (no other file, no network, no ATTACH of work.duckdb), ~/.duckdbrc skipped.
# `cli shell` runs exactly the command the end of `make run` prints (publish.shell_command).
sql: $(VENV)/.installed
	@$(PY) -m dagster_project.cli shell

# What the tests use to open outputs as people do: headless Chromium (reports, Data Docs, PDFs), LibreOffice
# (workbooks rendered to PDF), poppler's pdftotext/pdftoppm (reading the rendered pages) and the Noto CJK fonts.
# The tests skip, with the reason, what cannot run. `make test` runs this first under CI=true, or when a
# program is missing and apt-get exists. A failed install only warns, so `make test` still works on a fresh
# machine; outside CI a failed attempt is not retried on every run (delete $(TOOLS)/.browser-install-failed to retry).
RENDERERS := /usr/bin/chromium /usr/bin/soffice /usr/bin/pdftotext /usr/share/fonts/opentype/noto
RENDERER_PACKAGES := chromium libreoffice-calc-nogui poppler-utils fonts-noto-cjk
MISSING_RENDERERS := $(strip $(foreach f,$(RENDERERS),$(if $(wildcard $(f)),,$(f))))
BROWSER_DEP := $(if $(filter true,$(CI)),browser,$(if $(MISSING_RENDERERS),$(if $(shell command -v apt-get 2>/dev/null),browser)))

test: setup bytecode lint $(BROWSER_DEP)
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

# Python style and likely bugs (pyproject.toml, [tool.ruff]) and the dbt SQL (dbt/.sqlfluff; only files changed since
# they last passed are parsed again, dbt/scripts/lint_sql.py); part of `make test`.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check dagster_project sample_data tests bench dbt/scripts
	$(PY) dbt/scripts/lint_sql.py

# The inner loop: every test that neither runs the pipeline nor builds a warehouse (marker `slow`).
test-fast: setup bytecode
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder -m "not slow"

browser:
	@if [ -z "$(MISSING_RENDERERS)" ]; then echo "renderers present: $(RENDERERS)"; \
	elif ! command -v apt-get >/dev/null 2>&1; then echo "WARNING: no apt-get here; missing $(MISSING_RENDERERS): the tests that need them are skipped"; \
	elif [ "$(CI)" != "true" ] && [ -f $(TOOLS)/.browser-install-failed ]; then \
		echo "WARNING: missing $(MISSING_RENDERERS) (an earlier install failed); the tests that need them are skipped"; \
	else \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi; \
		if $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $(RENDERER_PACKAGES); then \
			rm -f $(TOOLS)/.browser-install-failed; \
		else \
			mkdir -p $(TOOLS) && touch $(TOOLS)/.browser-install-failed; \
			echo "WARNING: could not install $(RENDERER_PACKAGES) (needs root or passwordless sudo, and the Debian mirror); the tests that need them are skipped"; \
		fi; \
	fi

# Unattended operation (a district server): the Dagster daemon - file-drop sensor, annual schedule, failure alerts,
# run queue, all on by default - and the UI on http://127.0.0.1:3000, supervised together until SIGTERM/Ctrl-C
# (dagster_project/serve.py; a systemd unit for it: docs/deploy/shuangqing-monitor.service).
serve: setup bytecode
	$(PY) -m dagster_project.cli serve

# For developers: `dagster dev` (the same, in one terminal session). The Dagster UI on http://localhost:3000 (asset graph, checks, runs, sensor, schedule). umask 077: the webserver
# and the daemon write Dagster's storage (run history, schedules) private, like the pipeline (permissions.py).
dagster-ui: setup
	umask 077 && export DAGSTER_HOME="$$($(PY) -c 'from dagster_project.lib.dagster_instance import ensure_dagster_home as h; print(h())')" && \
	PYTHONPATH="$(CURDIR)$${PYTHONPATH:+:$$PYTHONPATH}" $(VENV)/bin/dagster dev -w workspace.yaml

docs: setup
	$(PY) -m dagster_project.cli docs

bench: setup
	$(PY) bench/run_benchmark.py

lock:
	$(TOOLS)/bin/uv pip compile pyproject.toml -p 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf warehouse dbt/target dbt/logs .pytest_cache
