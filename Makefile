# The two commands: `make run` (the whole stack, locally) and `make test`.
# Both create .venv and install on a fresh machine; nothing else is needed but Python 3.11+
# (and, for the browser tests in tests/web, Debian's chromium, which `make test` installs with
# apt-get when it is missing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install chromium run test lint typecheck unit screenshots bench clean

# The browser the end-to-end tests (tests/web) drive with Playwright: Debian's, never one that
# `playwright install` would download. Another binary: `make test COOPFLOW_TEST_CHROMIUM=...`.
COOPFLOW_TEST_CHROMIUM ?= /usr/bin/chromium
export COOPFLOW_TEST_CHROMIUM
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "coopflow needs Python 3.11 or newer (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,local]'
	touch $@

install: $(VENV)/.installed

# Debian's chromium, and the fonts it recommends (metric-compatible with Arial, Times and
# Courier: the screenshots in docs/ look as they would elsewhere), when either is missing.
chromium:
	@packages=; \
	[ -x "$(COOPFLOW_TEST_CHROMIUM)" ] || packages=chromium; \
	if command -v apt-get >/dev/null; then \
		[ -f /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || \
			packages="$$packages fonts-liberation"; \
		[ -z "$$packages" ] || { \
			echo "Installing Debian's $$packages for the browser tests (tests/web)"; \
			$(SUDO) apt-get update -qq && \
			$(SUDO) env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends $$packages; \
		}; \
	elif [ -n "$$packages" ]; then \
		echo "The browser tests (tests/web) need Chromium at $(COOPFLOW_TEST_CHROMIUM), and there"; \
		echo "is no apt-get here to install Debian's: install Chromium, then run with"; \
		echo "COOPFLOW_TEST_CHROMIUM=/path/to/chromium (make test COOPFLOW_TEST_CHROMIUM=...)"; \
		exit 1; \
	fi

run: install
	$(BIN)/coopflow dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install chromium
	$(BIN)/pytest

test: lint typecheck unit

# The README's pictures of the web interface, taken again by its browser tests.
screenshots: install chromium
	COOPFLOW_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/web/test_flows.py

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
