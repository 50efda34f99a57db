"""gaia's exceptions.

Every error gaia raises on purpose is a ``GaiaError``; foreign errors (SQLAlchemy,
OS, YAML) are translated at the boundary where they happen. The API maps these
classes to HTTP status codes in one handler, the CLI maps them to exit codes.

    GaiaError
    ├── ConfigError              invalid config.toml or GAIA_* override
    ├── StorageError             the database could not be opened or written
    ├── NotFoundError            an id that does not exist (HTTP 404)
    ├── BadRequestError          a reference that names nothing single (HTTP 400)
    ├── ConflictError            an operation that the current state forbids (HTTP 409)
    ├── ValidationError          input that is malformed, with a list of problems (HTTP 422)
    │   ├── WorkflowValidationError
    │   ├── ServiceValidationError
    │   ├── SessionValidationError
    │   └── ScaffoldValidationError  a template, or variables given for it
    ├── WorkflowError            a workflow could not be run
    ├── ServiceError             a service could not be started or stopped (HTTP 409)
    ├── SessionError             a tmux command failed
    ├── TmuxUnavailableError     tmux is missing or too old (HTTP 503)
    ├── NoServerError            a server gaia needs is not running: the tmux server of
    │                            gaia's socket, or the gaia daemon (HTTP 503)
    ├── ProcessError             a child process could not be started, signalled or waited
    │                            for (its program, directory or containment)
    ├── StoppingError            the daemon is stopping and ends a long request (HTTP 503)
    ├── AgentError               an agent task could not be queued or run (HTTP 400)
    ├── ScaffoldError            a project could not be generated (HTTP 400)
    │   └── ScaffoldHookError    a hook failed (its name and exit status)
    └── AgentUnavailableError    no registered, available agent can take the task (HTTP 409)
        └── AgentRejectedError   the task names an unknown agent, or one that does not
                                 take its type: bad input (HTTP 422)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

__all__ = [
    "AgentError",
    "AgentRejectedError",
    "AgentUnavailableError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "GaiaError",
    "NoServerError",
    "NotFoundError",
    "Problem",
    "ProcessError",
    "ScaffoldError",
    "ScaffoldHookError",
    "ScaffoldValidationError",
    "ServiceError",
    "ServiceValidationError",
    "SessionError",
    "SessionValidationError",
    "StoppingError",
    "StorageError",
    "TmuxUnavailableError",
    "ValidationError",
    "WorkflowError",
    "WorkflowValidationError",
]


class GaiaError(Exception):
    """Base of every error gaia raises on purpose."""

    code = "gaia_error"
    http_status = 500

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class ConfigError(GaiaError):
    code = "config_error"

    @classmethod
    def invalid_key(cls, key: str, where: str, reason: str) -> ConfigError:
        return cls(f"invalid configuration: {key!r} in {where}: {reason}")


class StorageError(GaiaError):
    code = "storage_error"


class NotFoundError(GaiaError):
    code = "not_found"
    http_status = 404

    @classmethod
    def of(cls, kind: str, ident: str) -> NotFoundError:
        return cls(f"{kind} {ident!r} not found", details={"kind": kind, "id": ident})


class BadRequestError(GaiaError):
    """A request that cannot be carried out as asked, whatever the state: an ambiguous
    reference, say (HTTP 400). 409 is kept for what the current state forbids."""

    code = "bad_request"
    http_status = 400


class ConflictError(GaiaError):
    code = "conflict"
    http_status = 409


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, and where it is."""

    message: str
    source: str = "<input>"
    line: int | None = None
    column: int | None = None
    path: str | None = None
    hint: str | None = None

    def location(self) -> str:
        if self.line is None:
            return self.source
        return f"{self.source}:{self.line}:{self.column or 1}"

    def __str__(self) -> str:
        text = f"{self.location()}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "source": self.source,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "hint": self.hint,
        }


class ValidationError(GaiaError):
    """Input that is malformed; ``problems`` lists every issue found at once."""

    code = "validation_error"
    http_status = 422
    subject = "input"  # how from_problems names what was invalid

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        self.problems = list(problems)
        super().__init__(message, details=[p.as_dict() for p in self.problems])

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return "\n".join([self.message, *(str(p) for p in self.problems)])

    @classmethod
    def from_problems(cls, source: str, problems: Sequence[Problem]) -> Self:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        return cls(f"{cls.subject} {source} is invalid: {count} {noun}", problems)


class WorkflowValidationError(ValidationError):
    code = "workflow_invalid"
    subject = "workflow"


class WorkflowError(GaiaError):
    code = "workflow_error"


class ServiceValidationError(ValidationError):
    code = "service_invalid"
    subject = "service definition"


class ServiceError(GaiaError):
    """A service that could not be started or stopped as asked: it exited during its
    start, or a dependency is not up (HTTP 409: the services' state, not the daemon,
    is why; never a bare 500)."""

    code = "service_error"
    http_status = 409


class SessionValidationError(ValidationError):
    code = "session_invalid"
    subject = "session layout"


class SessionError(GaiaError):
    """A tmux command failed; nearly always because of what it was asked (HTTP 400)."""

    code = "session_error"
    http_status = 400


class TmuxUnavailableError(GaiaError):
    """gaia's sessions need tmux; every command says how to get it."""

    code = "tmux_unavailable"
    http_status = 503


class NoServerError(GaiaError):
    """A server gaia talks to is not running: the tmux server of gaia's socket (it exits
    with its last session), or the gaia daemon. The request may succeed once it runs
    (HTTP 503)."""

    code = "no_server"
    http_status = 503

    @classmethod
    def tmux(cls, socket_name: str) -> NoServerError:
        return cls(
            f"tmux server {socket_name!r} is not running (it exits with its last session)",
            details={"server": "tmux", "socket": socket_name},
        )

    @classmethod
    def daemon(cls, where: str, reason: str) -> NoServerError:
        return cls(
            f"cannot reach the gaia daemon at {where}: {reason}",
            details={"server": "daemon", "address": where},
        )


class ProcessError(GaiaError):
    """A child process that could not be started (missing program or directory, no
    containment), signalled or waited for. The message names the program or pid."""

    code = "process_error"


class StoppingError(GaiaError):
    """The daemon is stopping: a request that waits (a session run) ends unfinished."""

    code = "stopping"
    http_status = 503


class AgentError(GaiaError):
    """An agent task that cannot be queued or run as asked."""

    code = "agent_error"
    http_status = 400


class AgentUnavailableError(GaiaError):
    """The task names an agent that is unknown, unavailable or does not take its type."""

    code = "agent_unavailable"
    http_status = 409


class AgentRejectedError(AgentUnavailableError):
    """The task names an agent that is not registered, or one that does not take its
    type: the request is wrong, not the moment (HTTP 422)."""

    code = "agent_invalid"
    http_status = 422


class ScaffoldValidationError(ValidationError):
    code = "template_invalid"
    subject = "template"


class ScaffoldError(GaiaError):
    """A project that cannot be generated as asked (target not empty, untrusted hooks...)."""

    code = "scaffold_error"
    http_status = 400


class ScaffoldHookError(ScaffoldError):
    """A hook exited non-zero; the message names it and its exit status."""

    code = "scaffold_hook_failed"
