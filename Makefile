# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv and installs what it needs from this repo's own files.
VENV ?= .venv
PYTHON ?= python3

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

.PHONY: demo test bench
demo: $(VENV)/.installed
	$(VENV)/bin/gauntlet demo

test: $(VENV)/.installed
	$(VENV)/bin/pytest -q -p no:cacheprovider

bench: $(VENV)/.installed
	for b in bench/*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done
