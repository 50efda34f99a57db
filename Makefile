# Two commands set gaia up on a fresh machine:
#   make serve   create .venv, install gaia, start the daemon on the embedded defaults
#                (make serve PORT=9000 for another port)
#   make test    create .venv, install gaia with its dev tools and the pinned agent CLIs,
#                run ruff, mypy and pytest
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test lint typecheck pytest bench clean check-tmux agent-clis

# tmux is a system package: we cannot install it, only say clearly that it is missing.
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

check-tmux: $(STAMP)
	@$(TMUX_CHECK) >/dev/null || { echo "error: the session tests need tmux (above)"; exit 1; }

# The real agent CLIs (Claude Code, Gemini CLI, Codex) at pinned versions, from npm, for
# the end-to-end agent tests; Node.js is a system package that we check for, like tmux.
agent-clis:
	@tools/agent-clis/install.sh >/dev/null || { echo "error: the agent tests need Node.js 20+ and npm (above)"; exit 1; }

pytest: $(STAMP) check-tmux agent-clis
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/workflows.py
	$(BIN)/python bench/services.py
	$(BIN)/python bench/sessions.py
	$(BIN)/python bench/agents.py
	$(BIN)/python bench/scaffold.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/hostile_inputs.py
	$(BIN)/python bench/cli.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
