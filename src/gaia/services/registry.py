"""The service registry in the database: register (all or nothing), look up, unregister.

Registration checks the whole graph that would result — the new definitions plus the
ones already registered — so that an unknown dependency, a ``healthy`` condition on a
service without a health check, or a cycle is refused before anything is written.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, delete, select, update

from gaia._graph import find_cycles, layers
from gaia.errors import ConflictError, NotFoundError, Problem, ServiceValidationError
from gaia.services.spec import ServiceSpec
from gaia.storage.db import Database
from gaia.storage.models import services_table
from gaia.storage.types import utcnow

__all__ = ["ACTIVE_STATES", "RegisteredService", "ServiceRegistry"]

S = services_table
# States in which a service has (or is about to have) a process.
ACTIVE_STATES = frozenset({"starting", "running", "stopping"})


class RegisteredService(BaseModel):
    id: str
    name: str
    spec: ServiceSpec
    state: str
    health: str
    desired_state: str
    pid: int | None
    restart_count: int
    last_exit_code: int | None
    started_at: datetime | None
    stopped_at: datetime | None
    created_at: datetime


def _record(row: Any) -> RegisteredService:
    return RegisteredService(
        id=row.id,
        name=row.name,
        spec=ServiceSpec.model_validate(row.spec),
        state=row.state,
        health=row.health,
        desired_state=row.desired_state,
        pid=row.pid,
        restart_count=row.restart_count,
        last_exit_code=row.last_exit_code,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        created_at=row.created_at,
    )


class ServiceRegistry:
    def __init__(self, db: Database) -> None:
        self.db = db

    def register(
        self, specs: Sequence[ServiceSpec], *, source: str = "<services>", replace: bool = False
    ) -> list[RegisteredService]:
        """Add (or with ``replace``, redefine stopped) services; nothing is written on error."""
        now = utcnow()
        with self.db.write() as conn:
            rows = {row.name: row for row in conn.execute(select(S)).all()}
            taken = [s.name for s in specs if s.name in rows]
            if taken and not replace:
                names = ", ".join(repr(n) for n in taken)
                raise ConflictError(
                    f"already registered: {names}; unregister first or register with --replace"
                )
            running = [n for n in taken if rows[n].state in ACTIVE_STATES]
            if running:
                names = ", ".join(repr(n) for n in running)
                raise ConflictError(f"cannot redefine {names} while running; stop it first")
            graph = {name: ServiceSpec.model_validate(row.spec) for name, row in rows.items()}
            graph.update({spec.name: spec for spec in specs})
            problems = _graph_problems(graph, {s.name for s in specs}, source)
            if problems:
                raise ServiceValidationError.from_problems(source, problems)
            for spec in specs:
                data = spec.model_dump(mode="json")
                if spec.name in rows:
                    conn.execute(
                        update(S).where(S.c.name == spec.name).values(spec=data, updated_at=now)
                    )
                    continue
                conn.execute(
                    S.insert().values(
                        id=str(uuid.uuid4()),
                        name=spec.name,
                        spec=data,
                        state="stopped",
                        health="unknown",
                        desired_state="stopped",
                        restart_count=0,
                        metadata={},
                        created_at=now,
                        updated_at=now,
                    )
                )
            order = [spec.name for spec in specs]
            registered = conn.execute(select(S).where(S.c.name.in_(order))).all()
        by_name = {row.name: _record(row) for row in registered}
        return [by_name[name] for name in order]

    def unregister(self, ident: str) -> RegisteredService:
        with self.db.write() as conn:
            row = self._row(conn, ident)
            if row.state in ACTIVE_STATES:
                raise ConflictError(
                    f"cannot unregister service {row.name!r}: it is {row.state}; stop it first"
                )
            dependents = [
                other.name
                for other in conn.execute(select(S.c.name, S.c.spec)).all()
                if row.name in (other.spec or {}).get("depends_on", {})
            ]
            if dependents:
                raise ConflictError(
                    f"cannot unregister service {row.name!r}: "
                    f"{', '.join(repr(d) for d in dependents)} depend on it"
                )
            conn.execute(delete(S).where(S.c.id == row.id))
        return _record(row)

    def get(self, ident: str) -> RegisteredService:
        """By id or by name."""
        with self.db.read() as conn:
            return _record(self._row(conn, ident))

    def list(self) -> list[RegisteredService]:
        with self.db.read() as conn:
            return [_record(row) for row in conn.execute(select(S).order_by(S.c.name)).all()]

    def start_order(self, names: Sequence[str] | None = None) -> builtins.list[str]:
        """``names`` and everything they depend on, dependencies first."""
        services = {s.name: s.spec for s in self.list()}
        wanted = list(services) if names is None else list(names)
        closure: set[str] = set()
        while wanted:
            name = wanted.pop()
            if name in closure:
                continue
            if name not in services:
                raise NotFoundError.of("service", name)
            closure.add(name)
            wanted.extend(services[name].depends_on)
        graph = {n: list(services[n].depends_on) for n in services if n in closure}
        return [name for layer in layers(graph) for name in sorted(layer)]

    @staticmethod
    def _row(conn: Connection, ident: str) -> Any:
        row = conn.execute(select(S).where((S.c.id == ident) | (S.c.name == ident))).first()
        if row is None:
            raise NotFoundError.of("service", ident)
        return row


def _graph_problems(graph: dict[str, ServiceSpec], new: set[str], source: str) -> list[Problem]:
    problems = []
    for name in sorted(new):
        for dep, condition in graph[name].depends_on.items():
            path = f"{name}.depends_on.{dep}"
            if dep not in graph:
                known = ", ".join(sorted(graph)) or "none"
                problems.append(
                    Problem(
                        f"service {name!r} depends on unknown service {dep!r}",
                        source=source,
                        path=path,
                        hint=f"register {dep!r} too, or remove it; known services: {known}",
                    )
                )
            elif condition == "healthy" and graph[dep].health_check is None:
                problems.append(
                    Problem(
                        f"service {name!r} waits for {dep!r} to be healthy, "
                        f"but {dep!r} has no health_check",
                        source=source,
                        path=path,
                        hint="add a health_check to it, or use the condition 'started'",
                    )
                )
    edges = {n: [d for d in s.depends_on if d in graph] for n, s in graph.items()}
    for cycle in find_cycles(edges):
        problems.append(
            Problem(
                f"dependency cycle: {' -> '.join(cycle)}",
                source=source,
                path=f"{cycle[0]}.depends_on.{cycle[1]}",
                hint="services cannot wait for each other; remove one of these dependencies",
            )
        )
    return problems
