# One command per chore, the same locally and in CI.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
APT_PACKAGES := bcftools tabix plink2 postgresql postgresql-contrib chromium
PYTEST_ARGS ?=

.PHONY: help venv sysdeps test lint demo bench clean

help:
	@echo "make demo   - set up, simulate cohorts, start a local federation, print where to look"
	@echo "make test   - set up, then run the whole test suite"
	@echo "make lint   - ruff format --check, ruff check, mypy, import-linter"
	@echo "make bench  - run the benchmarks and rewrite docs/benchmarks.md"

# Debian packages the tests and benchmarks use (bcftools/plink2 as references, PostgreSQL
# for the SQL storage contract tests, Chromium for the portal's browser tests). Installed only when missing; needs root or sudo.
.stamp-sysdeps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $@

sysdeps: .stamp-sysdeps

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q -U pip
	$(PIP) install -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

test: sysdeps venv
	$(VENV)/bin/pytest -n 2 --timeout 600 $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy src/genomesh

demo: sysdeps venv
	$(VENV)/bin/genomesh demo --dir demo

bench: sysdeps venv
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .stamp-sysdeps demo benchmarks/.work
