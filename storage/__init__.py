"""Playground storage: sessions, turns and outputs in SQLite or PostgreSQL.

The session document (`playground.session/1`, see docs/session.schema.json) is this package's API:
it takes plain dicts in the export format and gives them back, and imports nothing from
`playground/` or `backends/`.

    from storage import Store
    store = Store.open()                      # SQLite at $PLAYGROUND_HOME/playground.db
    sid = store.create_session(title="espresso", system=None)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.errors import ImportRejected, NotFound, StorageError

if TYPE_CHECKING:
    from storage.store import Store

__all__ = ["ImportRejected", "NotFound", "StorageError", "Store"]


def __getattr__(name: str) -> object:
    # Store (and SQLAlchemy behind it, ~0.5 s and ~45,000 objects) loads on first use, so a
    # module that needs only the document types or a limit (the engine's lane) stays light.
    if name == "Store":
        from storage.store import Store

        return Store
    raise AttributeError(f"module 'storage' has no attribute {name!r}")
