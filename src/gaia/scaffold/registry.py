"""Templates by name: built-ins shipped with gaia, and ``$GAIA_HOME/templates/<name>/``.

A registered template with a built-in's name takes its place. Templates from both
places are trusted (their hooks run); a template given by path is not, unless the
user says so.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from gaia.errors import ConflictError, NotFoundError, ScaffoldValidationError
from gaia.scaffold.loader import TEMPLATE_FILE, LoadedTemplate, load_template_file
from gaia.scaffold.plan import safe_relative

__all__ = ["BUILTIN_DIR", "Template", "TemplateRegistry"]

BUILTIN_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Template:
    loaded: LoadedTemplate
    origin: str  # "builtin", "registry" or "path"

    @property
    def name(self) -> str:
        return self.loaded.spec.name

    @property
    def trusted(self) -> bool:
        return self.origin in ("builtin", "registry")

    @property
    def source(self) -> str:
        """What the answers file records to find the template again."""
        return self.name if self.trusted else str(self.loaded.file.resolve())


class TemplateRegistry:
    def __init__(self, directory: Path, builtin_dir: Path = BUILTIN_DIR) -> None:
        self.directory = directory
        self.builtin_dir = builtin_dir

    def _candidates(self) -> dict[str, tuple[Path, str]]:
        found: dict[str, tuple[Path, str]] = {}
        for root, origin in ((self.builtin_dir, "builtin"), (self.directory, "registry")):
            if root.is_dir():
                for child in sorted(root.iterdir()):
                    if (child / TEMPLATE_FILE).is_file():
                        found[child.name] = (child, origin)
        return found

    def templates(self) -> list[Template]:
        """Every template that loads; one that does not is skipped (``get`` says why)."""
        templates = []
        for name in self._candidates():
            try:
                templates.append(self.get(name))
            except ScaffoldValidationError:
                continue
        return templates

    def get(self, name: str) -> Template:
        candidates = self._candidates()
        if name not in candidates:
            known = ", ".join(candidates) or "none"
            raise NotFoundError(
                f"template {name!r} not found (templates: {known})",
                details={"kind": "template", "id": name},
            )
        path, origin = candidates[name]
        return Template(load_template_file(path), origin)

    def resolve(self, ref: str) -> Template:
        """A registered name, or a path to a template directory or YAML file."""
        path = Path(ref).expanduser()
        if ("/" in ref or ref.endswith((".yaml", ".yml")) or ref == ".") and path.exists():
            return Template(load_template_file(path), "path")
        return self.get(ref)

    def register(self, path: Path, *, replace: bool = False) -> Template:
        """Validate the template at ``path`` and copy it into the registry."""
        loaded = load_template_file(path)
        name = loaded.spec.name
        dest = self.directory / name
        if dest.exists() and not replace:
            raise ConflictError(f"template {name!r} is already registered ({dest}); pass --replace")
        sources = [f.source for f in loaded.spec.files if f.source is not None]
        _refuse_outside_links(path if path.is_dir() else None, loaded, sources)
        staging = self.directory / f".{name}.registering"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            if path.is_dir():
                shutil.copytree(path, staging, dirs_exist_ok=True, symlinks=False)
            else:
                shutil.copyfile(loaded.file, staging / TEMPLATE_FILE)
                for source in sources:
                    relative = safe_relative(source)
                    if relative is None:
                        continue  # load_template_file would have refused it on use
                    (staging / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(loaded.root / relative, staging / relative)
            shutil.rmtree(dest, ignore_errors=True)
            staging.replace(dest)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise ScaffoldValidationError(f"cannot register template {name!r}: {exc}") from exc
        return Template(load_template_file(dest), "registry")


def _refuse_outside_links(
    directory: Path | None, loaded: LoadedTemplate, sources: list[str]
) -> None:
    """A template may not bring in files from outside its directory through symlinks."""
    base = loaded.root.resolve()
    candidates = list(directory.rglob("*")) if directory is not None else []
    candidates += [base / rel for s in sources if (rel := safe_relative(s)) is not None]
    for candidate in candidates:
        try:
            candidate.resolve().relative_to(base)
        except ValueError:
            raise ScaffoldValidationError(
                f"cannot register template {loaded.spec.name!r}: {candidate} links to "
                f"{candidate.resolve()}, outside the template directory"
            ) from None
