"""Live watches of the templates views (see gaia.live).

``templates``: every template as ``GET /templates`` shows it. Templates change only when
someone registers or replaces one, so each second costs one directory listing and a
``stat`` per template file; templates are loaded (parsed) again only when that changed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from gaia.live.base import LiveEvent, Watch, changes
from gaia.runtime import Runtime
from gaia.scaffold.loader import TEMPLATE_FILE
from gaia.scaffold.registry import TemplateRegistry
from gaia.scaffold.views import template_view

__all__ = ["WATCHES", "registry_signature"]

INTERVAL = 1.0


def registry_signature(registry: TemplateRegistry) -> tuple[tuple[str, str, int, int], ...]:
    """What changes when a template is added, removed or edited: name and file times."""
    found: list[tuple[str, str, int, int]] = []
    for root in (registry.builtin_dir, registry.directory):
        try:
            children = sorted(os.scandir(root), key=lambda e: e.name)
        except OSError:
            continue
        for child in children:
            try:
                info = (Path(child.path) / TEMPLATE_FILE).stat()
            except OSError:
                continue
            found.append((str(root), child.name, info.st_mtime_ns, info.st_size))
    return tuple(found)


async def _watch_templates(runtime: Runtime, _argument: str) -> AsyncIterator[LiveEvent]:
    registry = runtime.scaffold.registry
    async for _signature in changes(lambda: registry_signature(registry), INTERVAL):
        yield "templates", await _views(registry)


async def _views(registry: TemplateRegistry) -> list[dict[str, Any]]:
    def load() -> list[dict[str, Any]]:
        return [template_view(t).model_dump(mode="json") for t in registry.templates()]

    return await asyncio.to_thread(load)


WATCHES: dict[str, Watch] = {"templates": _watch_templates}
