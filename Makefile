# Two commands do all the set-up: `make run` (install, build the index, serve) and `make test`.
# Both work on a fresh machine with Python 3.11, and are fast the second time.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch; a plain `torch` would pull a multi-GB CUDA build. GPU users: see README.
TORCH ?= torch==2.13.0

.PHONY: install install-test run build eval-index test crossval judge checker fuzz lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test,dev]'
	@command -v chromium >/dev/null || { \
		echo "installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }
	@test -f tests/.npm/node_modules/axe-core/axe.min.js || { \
		echo "installing axe-core (npm) for the accessibility tests"; \
		command -v npm >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get install -y -q npm; }; \
		npm install --no-save --no-package-lock --no-audit --no-fund --prefix tests/.npm axe-core@4.14; }
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

build: install
	$(BIN)/assistant build

run: build
	$(BIN)/assistant serve

test: install-test build eval-index
	$(BIN)/python -m pytest
	$(BIN)/assistant eval --gate eval/thresholds.json --no-write
	$(MAKE) crossval

# Answer figures cross-validated over every question set (eval/crossval.py), on the records plus the realworld
# general comments when ../shared/realworld is there; the gate checks these, never figures on fitted data.
REALWORLD ?= ../shared/realworld
EVAL_CORPUS := $(if $(wildcard $(REALWORLD)/manifest.json),corpus:$(REALWORLD),corpus)
EVAL_INDEX ?= index-eval

# The index the question sets are run on; the tests' builds borrow its embedding cache (tests/conftest.py, seeded).
eval-index: install-test
	ASSISTANT_CORPUS_DIR=$(EVAL_CORPUS) ASSISTANT_INDEX_DIR=$(EVAL_INDEX) $(BIN)/assistant build

crossval: eval-index
	ASSISTANT_CORPUS_DIR=$(EVAL_CORPUS) ASSISTANT_INDEX_DIR=$(EVAL_INDEX) $(BIN)/python eval/crossval.py --gate eval/thresholds.json

# Refit the judge (assistant/answering/judge.json) on every question set, with the cross-validated report.
judge: eval-index
	ASSISTANT_CORPUS_DIR=$(EVAL_CORPUS) ASSISTANT_INDEX_DIR=$(EVAL_INDEX) $(BIN)/python eval/crossval.py --write

# Refit the answer checker (assistant/answering/checker/: one model per fold of the sets; about 25 minutes on two
# cores), then the judge over its logits: `make checker judge`.
checker: eval-index
	ASSISTANT_CORPUS_DIR=$(EVAL_CORPUS) ASSISTANT_INDEX_DIR=$(EVAL_INDEX) $(BIN)/python eval/train_checker.py

# Fresh random cases for the property and schema fuzz tests (make test runs them derandomized).
fuzz: install-test build
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/test_fuzz.py tests/test_corpus.py -k "never or conforms"

lint: install-test
	$(BIN)/ruff check assistant tests bench eval
	$(BIN)/ruff format --check assistant tests bench eval

format: install-test
	$(BIN)/ruff format assistant tests bench eval
	$(BIN)/ruff check --fix assistant tests bench eval

bench: install-test build
	$(BIN)/python bench/benchmark.py

clean:
	rm -rf $(VENV) index/*
