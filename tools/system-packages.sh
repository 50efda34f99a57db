#!/usr/bin/env bash
# The system packages gaia's tests use: tmux (sessions), git (agent worktrees), curl (the
# README's tour), Node.js 20+ with npm (the real agent CLIs), Chromium (the dashboard's
# browser tests, driven by Playwright). Installs the missing ones with apt-get when run as
# root on a Debian-like machine; otherwise says exactly what is missing and how to get
# it, and fails.
set -euo pipefail

missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[[ -x "${GAIA_CHROMIUM:-/usr/bin/chromium}" ]] || missing+=(chromium)

if ((${#missing[@]})); then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "system-packages: installing ${missing[*]} with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "system-packages: missing ${missing[*]}; install them as root," \
            "e.g. 'apt-get install ${missing[*]}', and run again" >&2
        exit 1
    fi
fi

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if ((node_major < 20)); then
    echo "system-packages: the agent CLIs need Node.js 20 or newer; this machine has" \
        "$(node --version) (install a newer nodejs package)" >&2
    exit 1
fi
