# The two set-up commands of the README: `make demo` and `make test`; `make native` runs
# the gauntlet against the native twins.
# Each creates .venv and installs what it needs from this repo's own files (`make test` also the
# Debian packages its tests use: scripts/system-packages).
VENV ?= .venv
PYTHON ?= python3

# uv installs what pyproject.toml names at the versions constraints.txt pins (it fetches in
# parallel: ~5 s on a machine with no cache, where pip takes ~45 s); pip only installs uv.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet uv
	$(VENV)/bin/uv pip install --quiet --python $(VENV)/bin/python -c constraints.txt -e '.[test]'
	touch $@

.PHONY: demo test bench native
demo: $(VENV)/.installed
	$(VENV)/bin/gauntlet demo

# On every core, at most TEST_WORKERS (`make test TEST_WORKERS=1` runs the tests one at a time).
# The tests start gauntlet three hundred times: its modules are compiled once, up front, for a
# machine that writes no bytecode of its own (PYTHONDONTWRITEBYTECODE) not to compile them each time.
TEST_WORKERS ?= 4
test: $(VENV)/.installed
	scripts/system-packages
	$(VENV)/bin/python -m compileall -q probes tui themes
	$(VENV)/bin/pytest -q -p no:cacheprovider -n auto --maxprocesses $(TEST_WORKERS)

# The native twins: apt-installs the Debian toolchains when missing, builds validatord in
# Rust and in Go offline (cached by source hash), and runs the gauntlet against them.
native: $(VENV)/.installed
	$(VENV)/bin/python sample_configs/native/build.py --install
	$(VENV)/bin/gauntlet run sample_configs/native.toml --headless

bench: $(VENV)/.installed
	for b in bench/*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done
