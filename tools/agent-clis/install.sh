#!/usr/bin/env bash
# Install the pinned agent CLIs (Claude Code, Gemini CLI, Codex) into
# tools/agent-clis/node_modules for gaia's end-to-end agent tests.
#
# Idempotent: when node_modules/.gaia-installed is newer than package.json and
# package-lock.json and the three binaries answer --version, it does nothing but
# print the versions. Set GAIA_AGENT_CLIS_FORCE=1 to reinstall anyway.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "install.sh: '$tool' not found on PATH; install Node.js 20 or newer" \
            "(e.g. 'apt-get install nodejs npm') and run this script again" >&2
        exit 1
    fi
done

bin="$here/node_modules/.bin"
stamp="$here/node_modules/.gaia-installed"

versions() {
    local name
    for name in claude gemini codex; do
        printf '%-7s %s\n' "$name" "$("$bin/$name" --version 2>&1 | head -n 1)"
    done
}

binaries_work() {
    "$bin/claude" --version >/dev/null 2>&1 &&
        "$bin/gemini" --version >/dev/null 2>&1 &&
        "$bin/codex" --version >/dev/null 2>&1
}

if [[ "${GAIA_AGENT_CLIS_FORCE:-0}" != 1 && -f "$stamp" && -f package-lock.json &&
    "$stamp" -nt package-lock.json && "$stamp" -nt package.json ]] && binaries_work; then
    versions
    exit 0
fi

if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund
else
    # Keep registry addresses out of the generated lock file.
    npm install --no-audit --no-fund --omit-lockfile-registry-resolved
fi

# Claude Code's postinstall copies the native binary over the bin/claude.exe
# placeholder; npm may skip install scripts, so run it when the binary does not work.
claude_pkg="$here/node_modules/@anthropic-ai/claude-code"
if ! "$bin/claude" --version >/dev/null 2>&1; then
    echo "install.sh: claude does not run yet; running its postinstall" >&2
    (cd "$claude_pkg" && node install.cjs)
fi

if ! binaries_work; then
    echo "install.sh: an agent CLI still does not run; versions:" >&2
    versions >&2
    exit 1
fi

touch "$stamp"
versions
