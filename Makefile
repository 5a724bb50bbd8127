# The two set-up commands of the README: `make demo` and `make test`; `make native` runs
# the gauntlet against the native twins.
# Each creates .venv and installs what it needs from this repo's own files (`make test` also the
# Debian packages its tests use: scripts/system-packages).
VENV ?= .venv
PYTHON ?= python3

# uv installs what pyproject.toml names at the versions constraints.txt pins (it fetches in
# parallel: ~5 s on a machine with no cache, where pip takes ~45 s); pip only installs uv.
# It compiles what it installs, once: on a machine that writes no bytecode of its own
# (PYTHONDONTWRITEBYTECODE), every process would otherwise compile Textual, rich and httpx
# again (a tenth of the test suite's CPU).
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet uv
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(VENV)/bin/python -c constraints.txt -e '.[test]'
	touch $@

.PHONY: demo test bench native
demo: $(VENV)/.installed
	$(VENV)/bin/gauntlet demo

# One worker a core and one more (`make test TEST_WORKERS=1` runs the tests one at a time): a
# third of the suite's time is its tests waiting (on servers that answer late on purpose, on
# tmux, Chromium and the processes they start), which an extra worker fills; on 2 cores three
# workers take 210 s where two take 250 s and four 225 s.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
# The tests still start gauntlet as a process of its own a hundred times: its modules are
# compiled once, up front, for a machine that writes no bytecode of its own
# (PYTHONDONTWRITEBYTECODE) not to compile them each time.
test: $(VENV)/.installed
	scripts/system-packages
	$(VENV)/bin/python -m compileall -q probes tui themes
	$(VENV)/bin/pytest -q -p no:cacheprovider -n $(TEST_WORKERS)

# The native twins: apt-installs the Debian toolchains when missing, builds validatord in
# Rust and in Go offline (cached by source hash), and runs the gauntlet against them.
native: $(VENV)/.installed
	$(VENV)/bin/python sample_configs/native/build.py --install
	$(VENV)/bin/gauntlet run sample_configs/native.toml --headless

bench: $(VENV)/.installed
	for b in bench/*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done
