# The two commands (SPEC 12): `make run` and `make test`. Both set up everything they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench services install clean

# One virtual environment for both commands: the runtime (requirements.txt, all the image has) plus
# requirements-dev.txt (the embedded default's supervisor, Redis and dev chain; tests; tools).
$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

# The pages' languages (docs/WEB.md): .po files are committed, .mo files are compiled here, never committed.
PO := $(wildcard api/web/translations/*/LC_MESSAGES/*.po)
MO := $(PO:.po=.mo)
%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@

install: $(STAMP) $(MO)

run: $(STAMP) $(MO)
	$(BIN)/python -m shared.embedded

lint: $(STAMP)
	$(BIN)/ruff check .

# The lint first, so CI fails on a finding; tests use the real PostgreSQL and Redis, which
# tests/services.sh starts (or installs) when absent.
test: $(STAMP) $(MO)
	$(BIN)/ruff check .
	bash tests/services.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP) $(MO)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data .pytest_cache
