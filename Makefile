# ShopFlow: every target bootstraps .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

# The demo covers the DEMO_DAYS days that end yesterday (UTC), the last complete partitions, so the
# UI's "last 90 days" and the 02:00 schedule meet data; DEMO_START=2024-01-01 pins another window.
DEMO_DAYS ?= 14
DEMO_START ?= $(shell $(PYTHON) -c "import datetime as d; print(d.datetime.now(d.UTC).date() - d.timedelta(days=$(DEMO_DAYS)))")
DEMO_END := $(shell $(PYTHON) -c "import datetime as d; print(d.date.fromisoformat('$(DEMO_START)') + d.timedelta(days=$(DEMO_DAYS) - 1))")
DEMO_ORDERS ?= 2000

.PHONY: demo dev test test-slow bench lint format clean pool instance fuzz manifest

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Initialise the instance once, before anything runs concurrently (idempotent). Loading it creates
# and stamps its SQLite storage (history/runs.db, history/runs/index.db, schedules/schedules.db);
# processes doing that at the same time on a brand-new DAGSTER_HOME stamp a schema twice ("more than
# one head") and every later run fails. It also registers the duckdb_writer pool's limit: dagster.yaml's
# default_limit only applies to a pool Dagster already knows, so on a fresh instance the first batch
# of queued writers could otherwise start together.
instance: $(STAMP)
	$(BIN)/dagster instance concurrency set duckdb_writer 1 > /dev/null

pool: instance  # the old name of `instance`

# The dbt manifest the gold assets are defined from: parsed here once and again only when a dbt file
# changes, never when the code location is imported.
DBT_FILES := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print)
MANIFEST := dbt_project/target/manifest.json
# Parsed against the warehouse runs use, so that dbt's partial parsing still holds when they run.
SHOPFLOW_DUCKDB_PATH ?= $(CURDIR)/data/warehouse/shopflow.duckdb
$(MANIFEST): $(STAMP) $(DBT_FILES)
	cd dbt_project && SHOPFLOW_DUCKDB_PATH=$(abspath $(SHOPFLOW_DUCKDB_PATH)) ../$(BIN)/dbt parse --profiles-dir . --quiet
	touch $@

manifest: $(MANIFEST)

demo: pool $(MANIFEST)
	rm -rf data/landing
	$(BIN)/shopflow generate --start $(DEMO_START) --days $(DEMO_DAYS) --orders-per-day $(DEMO_ORDERS) --out data/landing
	PYTHONWARNINGS=ignore::FutureWarning:click.core $(BIN)/dagster asset materialize -m shopflow_assets.definitions --select '*' \
		--partition-range $(DEMO_START)...$(DEMO_END) > .dagster_home/demo-run.log 2>&1 \
		|| (tail -n 40 .dagster_home/demo-run.log; exit 1)
	$(BIN)/shopflow summary
	@echo
	@echo "Next steps:"
	@echo "  make dev                 # Dagster UI and daemon: open http://localhost:3000"
	@echo "  .venv/bin/shopflow quality-report --date $(DEMO_END)"
	@echo "  .venv/bin/shopflow summary"

dev: pool $(MANIFEST)
	$(BIN)/dagster dev -w workspace.yaml

# dg reads the project layout from pyproject.toml's [tool.dg] and loads the location as `dagster` does.
DG := VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg

test: $(STAMP) $(MANIFEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(DG) check defs
	$(DG) list defs --columns key,group,kinds
	$(BIN)/pytest

# The real-daemon end-to-end module `make test` leaves out for time (~20 min: sensors to gold, the run queue).
test-slow: $(STAMP) $(MANIFEST)
	$(BIN)/pytest -m slow

# `make bench`: the 1,000,000-order day, 90 days at the demo volume, the 5,000,000-order day and the
# gold layer (~1.5 h on 2 quiet cores, most of it the backfill's single runs); bench-day,
# bench-history, bench-big and bench-gold run one part. Landing data is cached in data/bench. See the
# README's Benchmark section for the knobs (BENCH_REPEATS, ...).
.PHONY: bench-day bench-history bench-big bench-gold
bench: $(STAMP) $(MANIFEST)
	$(BIN)/python -m shopflow_assets.bench day history big gold

bench-day bench-history bench-big bench-gold: $(STAMP) $(MANIFEST)
	$(BIN)/python -m shopflow_assets.bench $(@:bench-%=%)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf data/landing data/warehouse data/bench dbt_project/target dbt_project/logs

# The bronze accounting property test with many more damaged CSV files than `make test` runs
# (FUZZ_CASES files, FUZZ_SEED to explore other corruptions).
FUZZ_CASES ?= 3000
FUZZ_SEED ?= 20260
fuzz: $(STAMP)
	SHOPFLOW_FUZZ_CASES=$(FUZZ_CASES) SHOPFLOW_FUZZ_SEED=$(FUZZ_SEED) $(BIN)/pytest -q shopflow_assets_tests/test_fuzz_csv.py
