"""The storage error tree.

    StorageError            anything the store cannot do (database problem, bad write, newer schema)
     ├── NotFound           no session (or turn, or lane) with that id; also a KeyError
     └── ImportRejected     a document that is not a valid `playground.session/1` record

Messages are one line and say what to do next. Database driver errors are translated into
`StorageError` at the store's boundary (`raise ... from exc`), so callers never import SQLAlchemy.
"""

from __future__ import annotations


class StorageError(Exception):
    """The store could not do what was asked; the message is one line."""


class ImportRejected(StorageError):
    """A document was refused on import or validation; nothing was written."""


class NotFound(StorageError, KeyError):
    """No session, turn or lane with that id; also a `KeyError` for dict-like callers."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
