# Two commands matter: `make demo` and `make test`. Everything else is a step they call.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench serve lock clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "ai-roi needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

demo: $(STAMP)  ## synthetic organisation → real pipeline → everyone's digest on the console
	$(BIN)/ai-roi demo

test: $(STAMP)  ## the whole suite (PostgreSQL too when TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot jobs tests bench fakes
	$(BIN)/ruff format --check bot jobs tests bench fakes

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)  ## on demand: ingest and digest benchmarks
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.digest
	$(BIN)/python -m bench.privacy

serve: $(STAMP)
	$(BIN)/ai-roi serve

lock: $(STAMP)  ## refresh requirements.lock (exact versions and hashes, for the container image)
	$(BIN)/python -m pip install --quiet "pip-tools>=7.4,<8"
	$(BIN)/pip-compile --quiet --upgrade --generate-hashes --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .hypothesis *.egg-info
