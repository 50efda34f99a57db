"""Alembic environment: gaia always passes an open connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from gaia.storage.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by running alembic by hand
    raise SystemExit("run migrations through gaia (they start with every gaia command)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
