"""Playground storage: sessions, turns and outputs in SQLite or PostgreSQL.

The session document (`playground.session/1`, see docs/session.schema.json) is this package's API:
it takes plain dicts in the export format and gives them back, and imports nothing from
`playground/` or `backends/`.

    from storage import Store
    store = Store.open()                      # SQLite at $PLAYGROUND_HOME/playground.db
    sid = store.create_session(title="espresso", system=None)
"""

from storage.errors import ImportRejected, NotFound, StorageError
from storage.store import Store

__all__ = ["ImportRejected", "NotFound", "StorageError", "Store"]
