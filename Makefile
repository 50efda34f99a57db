# Two commands set gaia up on a fresh machine:
#   make serve   create .venv, install gaia, start the daemon on the embedded defaults
#                (make serve PORT=9000 for another port)
#   make test    create .venv, install gaia with its dev tools and the pinned agent CLIs,
#                run ruff, mypy and pytest
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test lint typecheck pytest bench clean check-tmux agent-clis system-packages

# tmux is a system package: `make serve` only warns when it is missing (gaia runs without
# it, sessions do not); the tests install it (system-packages) or fail saying so.
TMUX_CHECK = $(BIN)/python -m gaia.sessions.tmux

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gaia needs Python 3.11 or newer (found " + sys.version.split()[0] + ")")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Only a PORT given on make's command line: a PORT variable that some environments
# export for other servers must not move gaia; without one, config.toml and GAIA_PORT
# decide as for `gaia serve`.
SERVE_PORT = $(if $(filter command line,$(origin PORT)),--port $(PORT))

serve: $(STAMP)
	@$(TMUX_CHECK) >/dev/null || echo "warning: gaia sessions will not work until then"
	$(BIN)/gaia serve $(SERVE_PORT)

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# tmux, git, Node.js and npm: apt-get installs the missing ones when we are root;
# otherwise the script names them and fails.
system-packages:
	@tools/system-packages.sh

check-tmux: $(STAMP) system-packages
	@$(TMUX_CHECK) >/dev/null || { echo "error: the session tests need tmux (above)"; exit 1; }

# The real agent CLIs (Claude Code, Gemini CLI, Codex) at pinned versions, from npm, for
# the end-to-end agent tests; Node.js is a system package that we check for, like tmux.
agent-clis: system-packages
	@tools/agent-clis/install.sh >/dev/null || { echo "error: the agent tests need Node.js 20+ and npm (above)"; exit 1; }

# Test files run in parallel (pytest-xdist), each whole on one worker: a module's daemon
# fixture serves all its tests. Most tests wait on child processes, tmux or sockets, so
# three workers keep two cores busy; PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 3

pytest: $(STAMP) check-tmux agent-clis
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

bench: $(STAMP)
	$(BIN)/python bench/workflows.py
	$(BIN)/python bench/services.py
	$(BIN)/python bench/sessions.py
	$(BIN)/python bench/agents.py
	$(BIN)/python bench/scaffold.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/hostile_inputs.py
	$(BIN)/python bench/cli.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/dashboard_idle.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
