# Trust Destinations. Needs only Python 3.11/3.12 on the machine: uv and .venv are bootstrapped here.
SHELL := /bin/bash
PYTHON ?= python3
DESTINATIONS_DATA_DIR ?= $(CURDIR)/data
DAGSTER_HOME ?= $(CURDIR)/.dagster_home
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

export DESTINATIONS_DATA_DIR DAGSTER_HOME
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export DAGSTER_DISABLE_TELEMETRY := 1
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: demo test serve docs setup clean-data bench

setup: $(VENV)/.synced $(VENV)/.kernel $(DAGSTER_HOME)/dagster.yaml

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@

# the disclosure engine's compiled kernel and interval bounds (numba), compiled once here rather than by the first run
$(VENV)/.kernel: $(VENV)/.synced pipelines/lib/disclosure/kernel.py pipelines/lib/disclosure/intervals.py
	$(BIN)/python -c "from pipelines.lib.disclosure import intervals, kernel; kernel.warm(); intervals.warm()"
	touch $@

$(DAGSTER_HOME)/dagster.yaml: config/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp config/dagster.yaml $@

demo: setup
	$(BIN)/destinations generate --out $(DESTINATIONS_DATA_DIR)
	$(BIN)/destinations run
	@if $(BIN)/destinations users --help >/dev/null 2>&1; then $(BIN)/destinations users demo; fi
	@echo ""
	@echo "Data directory:   $(DESTINATIONS_DATA_DIR)"
	@echo "Warehouse:        $(DESTINATIONS_DATA_DIR)/warehouse/warehouse.duckdb"
	@echo "Serving marts:    $(DESTINATIONS_DATA_DIR)/warehouse/serving/"
	@echo "Trustee reports:  $(DESTINATIONS_DATA_DIR)/reports/"
	@echo "Public pages:     $(DESTINATIONS_DATA_DIR)/reports/public/  (one HTML + PDF per academy)"
	@echo "Governor packs:   $(DESTINATIONS_DATA_DIR)/reports/governors/"
	@echo "Reminder emails:  $(DESTINATIONS_DATA_DIR)/outbox/  (set DESTINATIONS_SMTP_HOST to send them)"
	@echo "Feedback:         $(DESTINATIONS_DATA_DIR)/feedback/  (rejected files: quarantine/)"
	@echo "Open the UIs with: make serve  (Dagster http://localhost:3000, dashboard http://localhost:8501)"

test: setup
	$(BIN)/python -c "from pipelines.lib.dbt_manifest import ensure_manifest; ensure_manifest(force=True)"
	$(BIN)/pytest -q -n 2 --dist loadfile

serve: setup
	@echo "Dagster UI + daemon: http://localhost:3000   Dashboard: http://localhost:8501   dbt docs: http://localhost:8580   (Ctrl-C stops all)"
	trap 'kill 0' EXIT INT TERM; \
	$(BIN)/dagster dev -w workspace.yaml -p 3000 -h 0.0.0.0 & \
	$(BIN)/streamlit run dashboards/streamlit_app.py --server.port 8501 --server.headless true & \
	$(MAKE) --no-print-directory docs & \
	wait

# dbt docs (lineage, every model's and column's meaning) from the current build, on port 8580.
docs: setup
	cd dbt_project && DESTINATIONS_WAREHOUSE_PATH=$(DESTINATIONS_DATA_DIR)/warehouse/warehouse.duckdb \
	  $(CURDIR)/$(BIN)/dbt docs generate --quiet --profiles-dir . --target-path target/docs && \
	  $(CURDIR)/$(BIN)/dbt docs serve --profiles-dir . --target-path target/docs --port 8580 --host 0.0.0.0 --no-browser

bench: setup
	for b in bench/bench_*.py; do $(BIN)/python $$b; done
