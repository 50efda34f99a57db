"""GenerateProject: render everything first, then write it all, or nothing.

Files are rendered in memory and written into a staging directory inside the target;
pre-generate hooks run there. Only when all of that succeeded are the files moved into
place, so a render error or a failing pre-hook leaves nothing behind; the move itself
is undone if one of its renames fails, so the target is never half-written. Post-generate
hooks then run in the project, their output streamed, and a failing one is reported by
name with its exit status. Hooks of a template from outside the registry and the
built-ins run only when trusted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from gaia.errors import ScaffoldError, ScaffoldHookError, ScaffoldValidationError
from gaia.scaffold.loader import LoadedTemplate
from gaia.scaffold.plan import ImplicitUse, Plan, implicit_uses, implicit_variables, make_plan
from gaia.scaffold.render import Renderer
from gaia.scaffold.shell import run_shell
from gaia.scaffold.variables import resolve_variables

__all__ = ["ANSWERS_FILE", "GenerateOptions", "GenerateResult", "generate_project", "resolve_all"]

ANSWERS_FILE = ".gaia-answers.yml"
HOOK_TIMEOUT = 600.0  # seconds; a module constant so tests can shorten it
Output = Callable[[str], None]


@dataclass(frozen=True)
class GenerateOptions:
    dry_run: bool = False
    force: bool = False
    run_hooks: bool = True
    trust: bool = False


@dataclass
class GenerateResult:
    template: str
    path: Path
    variables: dict[str, Any]
    files: list[str]
    directories: list[str]
    skipped: list[str]
    dry_run: bool
    hooks: list[str] = field(default_factory=list)  # the hooks that ran
    # A dry run's rendered files: path to text (None: not UTF-8 text), for a preview.
    contents: dict[str, str | None] = field(default_factory=dict)


def resolve_all(
    loaded: LoadedTemplate, given: Mapping[str, Any]
) -> tuple[dict[str, Any], Plan, dict[str, list[str]]]:
    """Typed variables, the plan and the rendered hooks; every problem raised at once."""
    spec = loaded.spec
    uses = implicit_uses(loaded)
    implicit = implicit_variables(loaded, uses)
    full = spec.model_copy(update={"variables": [*spec.variables, *implicit]})
    try:
        values = resolve_variables(full, given, source=str(loaded.file), positions=loaded.positions)
    except ScaffoldValidationError as exc:
        raise _locate_implicit(exc, uses) from None
    plan = make_plan(loaded, values)
    renderer = Renderer(values)
    hooks: dict[str, list[str]] = {}
    for stage in ("pre_generate", "post_generate"):
        commands = getattr(spec.hooks, stage)
        hooks[stage] = [
            renderer.render(cmd, source=f"{loaded.file}#hooks.{stage}[{i}]")
            for i, cmd in enumerate(commands)
        ]
    return values, plan, hooks


def _locate_implicit(
    error: ScaffoldValidationError, uses: Mapping[str, ImplicitUse]
) -> ScaffoldValidationError:
    """A missing undeclared variable is most often a misspelling: say where it is used."""
    problems = []
    for problem in error.problems:
        name = (problem.path or "").removeprefix("variables.")
        use = uses.get(name)
        if use is not None and problem.line is None:
            problem = dataclasses.replace(
                problem,
                message=f"{use.where}: undefined variable {name!r} (not declared in variables)",
                line=use.line,
                column=use.column,
                hint=f"declare it, fix the name, or pass --var {name}=...",
            )
        problems.append(problem)
    return ScaffoldValidationError(error.message, problems)


def generate_project(
    loaded: LoadedTemplate,
    target: Path,
    given: Mapping[str, Any],
    *,
    trusted: bool,
    source: str,
    options: GenerateOptions | None = None,
    output: Output | None = None,
) -> GenerateResult:
    """Generate; ``source`` (a template name or path) goes into the answers file."""
    options = options or GenerateOptions()
    values, plan, hooks = resolve_all(loaded, given)
    spec = loaded.spec
    target = target.expanduser().resolve()
    has_hooks = any(hooks.values())
    # A dry run runs nothing, so it needs no trust: it lists the hooks instead.
    if has_hooks and options.run_hooks and not (trusted or options.trust or options.dry_run):
        raise ScaffoldError(
            f"template {spec.name!r} (from {loaded.root}, outside the registry) has hooks that "
            "run commands on this machine: "
            "pass --trust to run them, or --no-hooks to skip them"
        )
    _check_target(target, plan, force=options.force)
    result = GenerateResult(
        template=spec.name,
        path=target,
        variables=values,
        files=[f.path for f in plan.files],
        directories=plan.directories,
        skipped=plan.skipped,
        dry_run=options.dry_run,
    )
    if options.dry_run:
        result.contents = {f.path: _text(f.content) for f in plan.files}
        if options.run_hooks:
            result.hooks = [*hooks["pre_generate"], *hooks["post_generate"]]
        return result
    # The outermost directory this call creates: removed again if anything fails.
    created = next((p for p in [*reversed(target.parents), target] if not p.exists()), None)
    try:
        target.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".gaia-scaffold-", dir=target))
    except OSError as exc:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise ScaffoldError(f"cannot create {target}: {exc.strerror or exc}") from None
    set_aside = staging.with_name(staging.name + ".replaced")
    try:
        _write(staging, plan)
        answers = {
            "template": spec.name,
            "version": spec.version,
            "source": source,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "variables": values,
        }
        (staging / ANSWERS_FILE).write_text(yaml.safe_dump(answers, sort_keys=False))
        if options.run_hooks:
            for index, command in enumerate(hooks["pre_generate"]):
                _run_hook("pre_generate", index, command, staging, values, output)
                result.hooks.append(command)
        set_aside.mkdir()
        placement = _Placement(set_aside)
        try:
            placement.move_into(staging, target)
        except OSError as exc:
            placement.undo()
            raise ScaffoldError(
                f"cannot move the project into {target}: {exc}; nothing was changed there"
            ) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(set_aside, ignore_errors=True)
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(set_aside, ignore_errors=True)
    if options.run_hooks and hooks["post_generate"]:
        try:
            for index, command in enumerate(hooks["post_generate"]):
                _run_hook("post_generate", index, command, target, values, output)
                result.hooks.append(command)
        finally:
            _record_checksums(target, plan, answers)
    return result


def _text(content: bytes) -> str | None:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _record_checksums(target: Path, plan: Plan, answers: dict[str, Any]) -> None:
    """Remember the files as the post hooks left them, so validate does not call the
    hooks' own edits drift."""
    checksums = {}
    for item in plan.files:
        try:
            data = (target / item.path).read_bytes()
        except OSError:
            continue
        if data != item.content:
            checksums[item.path] = hashlib.sha256(data).hexdigest()
    if checksums:
        answers["checksums"] = checksums
        (target / ANSWERS_FILE).write_text(yaml.safe_dump(answers, sort_keys=False))


def _check_target(target: Path, plan: Plan, *, force: bool) -> None:
    if target.exists() and not target.is_dir():
        raise ScaffoldError(f"{target} exists and is not a directory")
    if not target.exists():
        return
    entries = sorted(p.name for p in target.iterdir())
    if entries and not force:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise ScaffoldError(
            f"{target} is not empty ({shown}): pass --force to write into it "
            "(files the template produces are overwritten)"
        )
    # Writing into an existing tree: a symlink in it must not carry a file outside.
    root = target.resolve()
    for relative in plan.paths():
        probe = target / relative
        try:
            probe.resolve().relative_to(root)
        except ValueError:
            problem_path = next((p for p in [probe, *probe.parents] if p.is_symlink()), probe)
            raise ScaffoldError(
                f"refusing to write {relative}: {problem_path} is a symlink that leaves {target}"
            ) from None
    # --force overwrites files, never a directory of yours, and never turns a file into one.
    clashes = [f"{f.path} (a directory is there)" for f in plan.files if (target / f.path).is_dir()]
    wanted_dirs = {*plan.directories, *(str(Path(f.path).parent) for f in plan.files)}
    for directory in sorted(wanted_dirs - {"."}):
        for part in [Path(directory), *Path(directory).parents]:
            existing = target / part
            if str(part) != "." and existing.exists() and not existing.is_dir():
                clashes.append(f"{part}/ (a file is there)")
    if clashes:
        raise ScaffoldError(
            f"refusing to write into {target}: the template needs other kinds of entries at "
            + ", ".join(sorted(set(clashes)))
        )


def _write(staging: Path, plan: Plan) -> None:
    """Write the plan into the staging directory (an OSError names the file)."""
    relative = ""
    try:
        for relative in plan.directories:
            (staging / relative).mkdir(parents=True, exist_ok=True)
        for item in plan.files:
            relative = item.path
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(item.content)
            if item.mode is not None:
                path.chmod(item.mode)
    except OSError as exc:
        raise ScaffoldError(f"cannot write {relative}: {exc.strerror or exc}") from None


class _Placement:
    """Moving the staged tree into the target as one change: every rename is recorded,
    a file it replaces is set aside, and ``undo`` puts all of it back. A failure halfway
    (a directory a pre-generate hook made where a file goes, a read-only directory)
    leaves the target as it was, not half-overwritten."""

    def __init__(self, set_aside: Path) -> None:
        self.set_aside = set_aside
        self.done: list[tuple[Path, Path, Path | None]] = []  # staged, placed, replaced

    def move_into(self, staging: Path, target: Path) -> None:
        """Merge ``staging`` into ``target``, into directories that exist."""
        for entry in sorted(staging.iterdir()):
            dest = target / entry.name
            if entry.is_dir() and dest.is_dir():
                # A symlinked directory was checked to stay inside the target: merge into it.
                self.move_into(entry, dest.resolve())
            else:
                self._place(entry, dest)

    def _place(self, entry: Path, dest: Path) -> None:
        replaced = None
        if dest.exists() or dest.is_symlink():
            replaced = self.set_aside / str(len(self.done))
            dest.replace(replaced)
        try:
            entry.replace(dest)
        except OSError:
            if replaced is not None:
                replaced.replace(dest)
            raise
        self.done.append((entry, dest, replaced))

    def undo(self) -> None:
        for entry, dest, replaced in reversed(self.done):
            dest.replace(entry)
            if replaced is not None:
                replaced.replace(dest)
        self.done.clear()


def _run_hook(
    stage: str,
    index: int,
    command: str,
    cwd: Path,
    values: Mapping[str, Any],
    output: Output | None,
) -> None:
    name = f"{stage}[{index}] ({command!r})"
    if output is not None:
        output(f"$ {command}")
    env = {**os.environ, "GAIA_PROJECT_DIR": str(cwd)}
    env.update({f"GAIA_VAR_{k.upper()}": str(v) for k, v in values.items()})
    result = run_shell(command, cwd, timeout=HOOK_TIMEOUT, env=env, on_line=output)
    code = result.code
    if code is None:
        raise ScaffoldHookError(
            f"hook {name} did not finish within {HOOK_TIMEOUT:g}s and was killed",
            details={"hook": name, "stage": stage, "exit_code": None},
        )
    if code != 0:
        detail = "\n".join(result.output.splitlines()[-5:])
        raise ScaffoldHookError(
            f"hook {name} exited with status {code}" + (f":\n{detail}" if detail else ""),
            details={"hook": name, "stage": stage, "exit_code": code},
        )
