# Two commands on a fresh machine: `make demo` and `make test`. Both install first.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: install demo ui test test-unit stack-up stack-down bench lint clean

install: $(VENV)/.installed

# mode-streaming (Faust) caps croniter<6 while Airflow 3.3 needs >=6.2.2; mode only uses
# croniter's stable `croniter(expr, start).get_next()`, so we override the cap (uv --override).
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q uv==0.13.9
	printf 'croniter>=6.2.2\n' > $(VENV)/overrides.txt
	# --compile-bytecode: with PYTHONDONTWRITEBYTECODE set, nothing would ever be cached and
	# every process (worker, tests) would recompile Faust, MLflow, Airflow... at each start.
	$(BIN)/uv pip install --python $(PY) --override $(VENV)/overrides.txt --compile-bytecode \
		-e ".[dev,airflow,dvc,bench]"
	touch $@

# The MovieLens copy beside the repository when there is one; else the demo downloads it.
DATASET ?= $(wildcard ../shared/movielens/ml-latest-small)

# Ends with the web app's URL; the stack, worker, API and web app keep running
# (`reelstream demo-down`, then `reelstream stack down`, stop them).
demo: install
	$(BIN)/reelstream demo $(if $(DATASET),--dataset $(DATASET))

ui: install
	$(BIN)/reelstream ui

# lint-imports: the import contracts in pyproject.toml ([tool.importlinter]).
test: install
	$(BIN)/lint-imports && $(BIN)/pytest

test-unit: install
	$(BIN)/lint-imports && $(BIN)/pytest -m "not integration"

stack-up: install
	$(BIN)/reelstream stack up

stack-down: install
	$(BIN)/reelstream stack down

clean: stack-down
	rm -rf .reelstream
