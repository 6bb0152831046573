# The two commands: `make run` (the whole stack, locally) and `make test`.
# Both create .venv and install on a fresh machine; nothing else is needed but Python 3.11+
# (and, for the browser tests in tests/web, Debian's chromium, which `make test` installs with
# apt-get when it is missing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check

.PHONY: install lock upgrade chromium run test lint typecheck unit screenshots bench clean

# The browser the end-to-end tests (tests/web) drive with Playwright: Debian's, never one that
# `playwright install` would download. Another binary: `make test COOPFLOW_TEST_CHROMIUM=...`.
COOPFLOW_TEST_CHROMIUM ?= /usr/bin/chromium
export COOPFLOW_TEST_CHROMIUM
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "coopflow needs Python 3.11 or newer (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Every dependency comes from the lock files (requirements/, made by `make lock`): exact
# versions, each file checked against its hashes. What a former lock had and this one has not
# is removed (by the locked uv, offline), then coopflow itself is installed, editable, with
# nothing more, built by the locked setuptools.
LOCKS := requirements/build.txt requirements/main.txt requirements/dev.txt

$(VENV)/.installed: $(BIN)/python pyproject.toml $(LOCKS)
	$(PIP) install --require-hashes --no-deps -r requirements/build.txt -r requirements/dev.txt
	$(BIN)/uv pip sync --quiet --offline --python $(BIN)/python --require-hashes \
		requirements/build.txt requirements/dev.txt
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

# The lock files again from pyproject.toml, on PyPI: one for building (build-system.requires),
# one for the production image (the dependencies), one for development (with the `dev` and
# `local` extras, at the same versions as the other two). Versions already locked stay unless
# pyproject.toml's ranges exclude them; `make upgrade` takes the newest each range allows
# (`make upgrade PACKAGE=pydantic`: that one package, and what it needs).
UPGRADE :=
COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' $(UPGRADE)

lock: install
	$(BIN)/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires'], sep='\n')" | \
		$(COMPILE) - -o requirements/build.txt
	$(COMPILE) pyproject.toml -c requirements/build.txt -o requirements/main.txt
	$(COMPILE) pyproject.toml --extra dev --extra local \
		-c requirements/build.txt -c requirements/main.txt -o requirements/dev.txt

upgrade:
	$(MAKE) lock UPGRADE="$(if $(PACKAGE),--upgrade-package $(PACKAGE),--upgrade)"

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
	COOPFLOW_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/web/test_flows*.py

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
