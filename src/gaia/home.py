"""The $GAIA_HOME tree (default ``~/.gaia``): created on first use with private modes."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

__all__ = ["GaiaHome", "default_home"]


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$GAIA_HOME`` if set (in ``environ``, default the process's), else ``~/.gaia``."""
    env = (os.environ if environ is None else environ).get("GAIA_HOME")
    return Path(env).expanduser() if env else Path.home() / ".gaia"


class GaiaHome:
    """Paths inside a gaia home directory; ``ensure()`` creates what is missing."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    @property
    def config_file(self) -> Path:
        return self.root / "config.toml"

    @property
    def database_file(self) -> Path:
        return self.root / "gaia.db"

    @property
    def token_file(self) -> Path:
        return self.root / "token"

    @property
    def daemon_file(self) -> Path:
        """Where a running `gaia serve` says how to reach it (pid, url)."""
        return self.root / "daemon.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def workflow_logs(self) -> Path:
        return self.logs / "workflows"

    @property
    def service_logs(self) -> Path:
        return self.logs / "services"

    @property
    def agent_logs(self) -> Path:
        return self.logs / "agents"

    @property
    def worktrees(self) -> Path:
        return self.root / "worktrees"

    @property
    def workflow_definitions(self) -> Path:
        return self.root / "workflows" / "definitions"

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    def ensure(self) -> GaiaHome:
        """Create the tree; the root is 0700 because it holds the API token and logs."""
        self.root.mkdir(parents=True, exist_ok=True)
        if (self.root.stat().st_mode & 0o777) != 0o700:
            self.root.chmod(0o700)
        for sub in (
            self.logs,
            self.workflow_logs,
            self.service_logs,
            self.agent_logs,
            self.workflow_definitions,
            self.templates,
        ):
            sub.mkdir(parents=True, exist_ok=True)
        return self

    def read_or_create_token(self) -> str:
        """The API token, created with mode 0600 on first use (never rewritten)."""
        path = self.token_file
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            token = path.read_text(encoding="utf-8").strip()
            if (path.stat().st_mode & 0o077) != 0:
                path.chmod(0o600)
            if token:
                return token
            path.unlink()
            return self.read_or_create_token()
        token = secrets.token_urlsafe(32)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(token + "\n")
        return token
