"""The tables, as SQLModel classes: what the current code reads and writes.

    sessions 1─* turns 1─* outputs *─1 model_specs          schema_migrations (one row per migration)
    arena_battles (imported battle rows; votes cast here live in sessions.votes)

Conventions: session ids are ULIDs (26 characters, sortable by creation time); times are naive
`datetime`s in UTC (plain SQLAlchemy `DateTime`: SQLModel's own type insists on aware ones);
structured fields (params, metrics, error, tags, ...) are compact JSON text so
that SQLite and PostgreSQL store them the same way and the export gives back exactly what came in.
`outputs.timeline` packs the `[[ms, chars], ...]` list into bytes (see storage.codec for why).

These classes never create tables: the numbered migrations in storage.migrations do, and a test
checks that the migrated database and these classes agree.
"""

from datetime import datetime

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


class SchemaMigration(SQLModel, table=True):
    __tablename__ = "schema_migrations"

    version: int = Field(primary_key=True)
    name: str
    applied_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class SessionRow(SQLModel, table=True):
    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_created", "created_at", "id"),)

    id: str = Field(sa_column=Column(String(26), primary_key=True))
    title: str = Field(sa_column=Column(Text, nullable=False))
    system: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    rerun_of: str | None = Field(default=None, sa_column=Column(String(26), index=True))
    tags: str | None = Field(default=None, sa_column=Column(Text))  # JSON list; NULL = no tags field
    votes: str | None = Field(default=None, sa_column=Column(Text))  # JSON list; NULL = no votes field


class TurnRow(SQLModel, table=True):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("session_id", "idx", name="uq_turns_session_idx"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    session_id: str = Field(
        sa_column=Column(String(26), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False)
    )
    idx: int
    prompt: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class ModelSpecRow(SQLModel, table=True):
    """One distinct (model, label, params) ever used; outputs point at it."""

    __tablename__ = "model_specs"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    key: str = Field(sa_column=Column(String(64), nullable=False, unique=True))  # sha256 of the three
    model: str = Field(sa_column=Column(Text, nullable=False, index=True))
    label: str | None = Field(default=None, sa_column=Column(Text))
    params: str = Field(sa_column=Column(Text, nullable=False))  # JSON object, as given
    first_used_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class OutputRow(SQLModel, table=True):
    __tablename__ = "outputs"
    __table_args__ = (
        UniqueConstraint("turn_id", "lane", name="uq_outputs_turn_lane"),
        Index("ix_outputs_session", "session_id"),
        Index("ix_outputs_spec_created", "spec_id", "created_at"),
        Index("ix_outputs_status", "status"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    session_id: str = Field(
        sa_column=Column(String(26), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False)
    )
    turn_id: int = Field(sa_column=Column(Integer, ForeignKey("turns.id", ondelete="CASCADE"), nullable=False))
    lane: int
    spec_id: int = Field(sa_column=Column(Integer, ForeignKey("model_specs.id"), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))  # JSON object or NULL
    finish_reason: str | None = Field(default=None, sa_column=Column(Text))
    metrics: str = Field(sa_column=Column(Text, nullable=False))  # JSON object
    server_metrics: str = Field(sa_column=Column(Text, nullable=False))  # JSON object
    timeline: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # codec.pack_timeline
    extra: str | None = Field(default=None, sa_column=Column(Text))  # JSON object of other output keys
    tokens: bytes | None = Field(default=None, sa_column=Column(LargeBinary))  # codec.pack_tokens
    # Copies of metrics figures, so that stats and filters never parse JSON.
    ttft_ms: float | None = None
    total_ms: float | None = None
    tokens_per_s: float | None = None
    cost_usd: float | None = None
    output_tokens: int | None = None
    created_at: datetime = Field(sa_column=Column(DateTime, nullable=False))  # the turn's time
    updated_at: datetime = Field(sa_column=Column(DateTime, nullable=False))  # last write
    writer: str | None = Field(default=None, sa_column=Column(Text))  # "host:pid:token" of the writing Store


class ImportedBattleRow(SQLModel, table=True):
    """A battle read from an arena battle file (Chatbot Arena's format), kept as its JSON row."""

    __tablename__ = "arena_battles"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    row: str = Field(sa_column=Column(Text, nullable=False))  # one JSON object, as imported
    imported_at: datetime = Field(sa_column=Column(DateTime, nullable=False))


SESSIONS = SessionRow.__table__
TURNS = TurnRow.__table__
OUTPUTS = OutputRow.__table__
SPECS = ModelSpecRow.__table__
MIGRATIONS = SchemaMigration.__table__
BATTLES = ImportedBattleRow.__table__
