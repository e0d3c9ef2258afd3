"""Finding outputs left `running` by a writer that is gone, and marking them `interrupted`.

Every output row names its writer, `host:pid:token` (token: one per open Store). A `running` row
is stale when its writer cannot still be writing it:

- same host, same process: that Store was closed (its token is not among this process's open ones);
- same host, other process: that process no longer exists;
- any host: the row has not been written for `stale_after` (a writer on another machine, or a
  reused process id).

A row wrongly judged stale heals itself: its live writer's next `update_output` replaces it. The
streamed text and timeline are left exactly as last flushed; only the status changes.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, select, update

from storage.codec import now
from storage.tables import OUTPUTS

_OPEN_TOKENS: set[str] = set()  # tokens of the Stores open in this process


@dataclass(frozen=True)
class Writer:
    host: str
    pid: int
    token: str

    @classmethod
    def new(cls) -> Writer:
        writer = cls(socket.gethostname(), os.getpid(), secrets.token_hex(4))
        _OPEN_TOKENS.add(writer.token)
        return writer

    @classmethod
    def parse(cls, text: str | None) -> Writer | None:
        try:
            host, pid, token = (text or "").rsplit(":", 2)
            return cls(host, int(pid), token)
        except ValueError:
            return None

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"


def is_gone(writer: Writer | None) -> bool:
    """True when `writer` surely is not writing any more (judged from this machine)."""
    if writer is None:
        return True
    if writer.host != socket.gethostname():
        return False
    if writer.pid == os.getpid():
        return writer.token not in _OPEN_TOKENS
    try:
        os.kill(writer.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, belongs to another user
        return False
    return False


def recover(conn: Connection, *, stale_after: timedelta) -> int:
    """Mark stale `running` outputs `interrupted`; returns how many."""
    running = conn.execute(
        select(OUTPUTS.c.id, OUTPUTS.c.writer, OUTPUTS.c.updated_at).where(OUTPUTS.c.status == "running")
    ).all()
    cutoff = now() - stale_after
    stale = [row.id for row in running if row.updated_at < cutoff or is_gone(Writer.parse(row.writer))]
    if stale:
        conn.execute(
            update(OUTPUTS)
            .where(OUTPUTS.c.id.in_(stale), OUTPUTS.c.status == "running")
            .values(status="interrupted", updated_at=now())
        )
    return len(stale)


def release(conn: Connection, writer: Writer) -> int:
    """At close: this Store's outputs still `running` can never finish; mark them `interrupted`."""
    _OPEN_TOKENS.discard(writer.token)
    done = conn.execute(
        update(OUTPUTS)
        .where(OUTPUTS.c.status == "running", OUTPUTS.c.writer == str(writer))
        .values(status="interrupted", updated_at=now())
    )
    return done.rowcount
