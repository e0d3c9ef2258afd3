"""The storage error tree.

    StorageError            anything the store cannot do (database problem, bad write, newer schema)
     ├── NotFound           no session (or turn, or lane) with that id; also a KeyError
     └── ImportRejected     a document that is not a valid `playground.session/1` record

Messages are one line and say what to do next. Database driver errors are translated into
`StorageError` at the store's boundary (`raise ... from exc`), so callers never import SQLAlchemy.

A stored session that a reader cannot use (a row written by hand, or by a release that checked
less) is not an error of the view that meets it: `skipped` reports it in one line and the view
goes on without it.
"""

from __future__ import annotations

import logging

log = logging.getLogger("playground.storage")


class StorageError(Exception):
    """The store could not do what was asked; the message is one line."""


class ImportRejected(StorageError):
    """A document was refused on import or validation; nothing was written."""


class NotFound(StorageError, KeyError):
    """No session, turn or lane with that id; also a `KeyError` for dict-like callers."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def skipped(session_id: str, reason: str) -> str:
    """Report (a one-line warning) a stored session that a view leaves out; returns the line."""
    line = (f"skipped session {session_id}: {' '.join(reason.split())[:200]} — delete it with "
            f"`playground sessions delete {session_id}` or fix its row")
    log.warning("%s", line)
    return line
