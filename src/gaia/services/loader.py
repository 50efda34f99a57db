"""Load service definitions: one service or a list, JSON or YAML, every problem at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic

from gaia._textfile import TextFileError, read_text_file
from gaia._yaml import Path as DataPath
from gaia._yaml import Positions, YamlSyntaxError, dotted, load_located, schema_problem
from gaia.errors import Problem, ServiceValidationError
from gaia.services.spec import HealthCheckSpec, RestartSpec, ServiceSpec, StopSpec

__all__ = ["load_service_file", "load_services"]

_FIELDS: dict[str, list[str]] = {
    "": sorted(ServiceSpec.model_fields),
    "health_check": sorted(HealthCheckSpec.model_fields),
    "restart": sorted(RestartSpec.model_fields),
    "stop": sorted(StopSpec.model_fields),
}
_HINTS = {
    "type": "use one of: http, tcp, exec",
    "policy": "use one of: no, on_failure, always",
}


def load_service_file(path: Path) -> list[ServiceSpec]:
    """Load a file; its relative `cwd` and `env_file` are taken from the file's folder."""
    try:
        text = read_text_file(path, "service file")
    except TextFileError as exc:
        raise ServiceValidationError.from_problems(str(path), [exc.problem]) from None
    return load_services(text, source=str(path), base_dir=path.resolve().parent)


def load_services(
    text: str, *, source: str = "<services>", base_dir: Path | None = None
) -> list[ServiceSpec]:
    """Parse and validate; raise ServiceValidationError listing every problem.

    `~` in `cwd` and `env_file` is the user's home; a relative (or absent) `cwd` is
    taken from ``base_dir`` (the definition file's folder; default the home directory,
    never the daemon's working directory, which the user does not choose), and a
    relative `env_file` from the service's `cwd`. The specs carry the absolute paths, so a
    service starts in the same place whoever registered it and from wherever.
    """
    try:
        data, positions, problems = load_located(text, source)
    except YamlSyntaxError as exc:
        raise ServiceValidationError.from_problems(source, [exc.problem]) from None
    prefix: DataPath = ()
    if isinstance(data, dict) and isinstance(data.get("services"), list) and len(data) == 1:
        data, prefix = data["services"], ("services",)
    items: list[tuple[DataPath, Any]]
    if isinstance(data, list):
        items = [((*prefix, i), item) for i, item in enumerate(data)]
    elif isinstance(data, dict):
        items = [(prefix, data)]
    else:
        kind = "empty" if data is None else f"a {type(data).__name__}"
        problem = Problem(
            f"expected a service (a mapping with 'name' and 'command') or a list of them, "
            f"but the document is {kind}",
            source=source,
            line=1,
            column=1,
        )
        raise ServiceValidationError.from_problems(source, [problem])

    specs: list[ServiceSpec] = []
    seen: dict[str, DataPath] = {}
    for path, item in items:
        if not isinstance(item, dict):
            problems.append(positions.problem(path, "each service must be a mapping"))
            continue
        try:
            spec = ServiceSpec.model_validate(item)
        except pydantic.ValidationError as exc:
            problems.extend(_problem(error, path, positions) for error in exc.errors())
            continue
        if spec.name in seen:
            first, _ = positions.locate((*seen[spec.name], "name"))
            problems.append(
                positions.problem(
                    (*path, "name"),
                    f"service {spec.name!r} is defined twice (first at line {first})",
                    "give every service a unique name",
                )
            )
            continue
        seen[spec.name] = path
        specs.append(_with_absolute_paths(spec, base_dir or Path.home()))
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise ServiceValidationError.from_problems(source, problems)
    return specs


def _with_absolute_paths(spec: ServiceSpec, base_dir: Path) -> ServiceSpec:
    cwd = base_dir / Path(spec.cwd).expanduser() if spec.cwd else base_dir
    env_file = cwd / Path(spec.env_file).expanduser() if spec.env_file else None
    return spec.model_copy(
        update={"cwd": str(cwd), "env_file": None if env_file is None else str(env_file)}
    )


def _problem(error: Any, item: DataPath, positions: Positions) -> Problem:
    """``item`` is where the service sits: () for a lone one, ("services", 2) in a list."""
    located = {**error, "loc": (*item, *error["loc"])}
    in_list = bool(item) and isinstance(item[-1], int)

    def known(mapping: DataPath) -> list[str] | None:
        return _FIELDS.get(".".join(str(p) for p in mapping[len(item) :]))

    def describe(where: DataPath) -> str:
        head = f"service #{int(item[-1]) + 1}" if in_list else "the service"
        rest = dotted(where[len(item) :])
        return f"{head} {rest}" if rest else head

    return schema_problem(located, positions, known_fields=known, describe=describe, hints=_HINTS)
