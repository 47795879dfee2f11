# Developer and CI commands for storeroom.
#
# Only python3 (3.11 or newer), pip and make are assumed. Each target builds
# what it needs inside .venv: the virtualenv itself, uv (installed with pip),
# then storeroom as an editable install. Re-running a target is cheap: an
# install is repeated only when pyproject.toml is newer than its stamp file.
#
#   make demo    install storeroom (with the sql extra, for SQLite) and run examples/quickstart.py
#   make test    lint + type-check, build the docs, run the whole test suite
#   make lint    ruff check, ruff format --check, mypy --strict
#   make format  apply ruff's formatter and safe lint fixes
#   make docs    build the documentation site (mkdocs build --strict)
#   make bench   run benchmarks/run.py
#   make clean   remove .venv, the built site, demo output and tool caches

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
VPY    := $(BIN)/python
UV     := $(BIN)/uv

# Extra arguments passed straight through, e.g. `make test PYTEST_ARGS="-k local -x"`.
PYTEST_ARGS ?=
BENCH_ARGS  ?=

# The stamps live inside the venv, so removing .venv forgets them as well.
BASE_STAMP := $(VENV)/.storeroom-base.stamp
DEV_STAMP  := $(VENV)/.storeroom-dev.stamp

# Folders that are not in the tree yet are left out rather than failing ruff.
LINT_PATHS   := $(wildcard src tests benchmarks examples)
FORMAT_PATHS := $(wildcard src tests)

.DEFAULT_GOAL := help
.PHONY: help demo test lint format docs bench clean

help:
	@sed -n 's/^#   \(make .*\)/\1/p' $(firstword $(MAKEFILE_LIST))

# --- environment -------------------------------------------------------------

$(VPY):
	$(PYTHON) -m venv $(VENV)

$(UV): | $(VPY)
	$(VPY) -m pip install --quiet --disable-pip-version-check uv

# Plain install for the demo. A current dev install already contains it, so
# that case only refreshes the stamp.
$(BASE_STAMP): pyproject.toml | $(UV)
	@if [ -f $(DEV_STAMP) ] && [ $(DEV_STAMP) -nt pyproject.toml ]; then \
		echo "dev install is current and already includes storeroom"; \
	else \
		$(UV) pip install --python $(VPY) -e ".[sql]"; \
	fi
	@touch $@

$(DEV_STAMP): pyproject.toml | $(UV)
	$(UV) pip install --python $(VPY) -e ".[dev,all]"
	@touch $@

# --- targets -----------------------------------------------------------------

demo: $(BASE_STAMP)
	$(VPY) examples/quickstart.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(FORMAT_PATHS)
	$(BIN)/mypy --strict src

format: $(DEV_STAMP)
	$(BIN)/ruff format $(FORMAT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

docs: $(DEV_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Test servers: when scripts/services exists, `scripts/services up` starts them
# and prints shell assignments (export NAME=value ...) that tell the tests
# where they are. Its output is eval'ed in the same shell that runs pytest.
# A failure of `services up` fails the target (the assignment keeps its status).
test: lint docs
	@set -e; \
	export VIRTUAL_ENV="$(CURDIR)/$(VENV)" PATH="$(CURDIR)/$(BIN):$$PATH"; \
	if [ -e scripts/services ]; then \
		if [ ! -x scripts/services ]; then \
			echo "scripts/services exists but is not executable (chmod +x it)" >&2; exit 1; \
		fi; \
		echo "+ scripts/services up"; \
		services_env="$$(scripts/services up)"; \
		eval "$$services_env"; \
	fi; \
	echo "+ pytest $(PYTEST_ARGS)"; \
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(DEV_STAMP)
	$(VPY) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) site build dist demo-data .pytest_cache .mypy_cache .ruff_cache .hypothesis .benchmarks
	find . -path ./.git -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -prune -exec rm -rf {} +
