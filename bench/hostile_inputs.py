"""How long the loaders take on hostile documents: python bench/hostile_inputs.py.

Prints seconds per document; each should be well under a second (an alias bomb took
64 s and 2.9 GB before the caps, 16,000 references in 80 KB took 40 s to locate).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from gaia.errors import GaiaError
from gaia.workflows.loader import load_workflow_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import contextlib

from tests.corpus.generate import write_corpus

NAMES = [
    "alias-bomb",
    "merge-bomb",
    "deep-flow-closed",
    "huge-int",
    "big-comment-80k",
    "refs-80k-same",
    "refs-80k-distinct",
    "refs-unclosed-80k",
    "refs-many-tasks",
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_corpus(root)
        for name in NAMES:
            path = root / "workflows" / f"{name}.yaml"
            started = time.perf_counter()
            with contextlib.suppress(GaiaError):
                load_workflow_file(path)
            elapsed = time.perf_counter() - started
            print(f"{name:22} {path.stat().st_size:>8} bytes  {elapsed * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
