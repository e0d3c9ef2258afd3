"""Full-text search over prompts and answers: SQLite FTS5, or PostgreSQL text search.

Both index every turn's prompt and every output's text with English stemming (SQLite: the
`porter` tokenizer; PostgreSQL: the `english` configuration), kept current inside the writing
transaction (triggers / generated columns, see migration 2). A query is plain words and "quoted
phrases", all of which must match; results are the matching sessions, newest first, with one
snippet each, the matched words between ** marks.

User input never reaches the FTS5 query parser raw: every word is quoted, so `c++`, `-v` or a
stray quote search for themselves instead of raising a syntax error.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, String, bindparam, select, text

from storage.tables import SESSIONS

MARK = "**"
_TERMS = re.compile(r'"([^"]*)"|(\w+)', re.UNICODE)


def fts5_query(query: str) -> str | None:
    """An FTS5 query that ANDs the words and phrases of `query`; None when it has none."""
    parts = []
    for phrase, word in _TERMS.findall(query):
        term = " ".join(re.findall(r"\w+", phrase)) if phrase else word
        if term:
            parts.append('"' + term.replace('"', '""') + '"')
    return " ".join(parts) or None


def matching_sessions(conn: Connection, query: str):  # noqa: ANN201 - a SQLAlchemy selectable
    """A subquery of the ids of sessions whose prompts or answers match `query`, or None."""
    if conn.dialect.name == "sqlite":
        match = fts5_query(query)
        if match is None:
            return None
        sql = text(
            "SELECT o.session_id FROM outputs o WHERE o.id IN "
            "(SELECT rowid FROM outputs_fts WHERE outputs_fts MATCH :match) "
            "UNION SELECT t.session_id FROM turns t WHERE t.id IN "
            "(SELECT rowid FROM turns_fts WHERE turns_fts MATCH :match)"
        ).bindparams(match=match)
    else:
        if not query.strip():
            return None
        sql = text(
            "SELECT o.session_id FROM outputs o WHERE o.search @@ websearch_to_tsquery('english', :match) "
            "UNION SELECT t.session_id FROM turns t WHERE t.search @@ websearch_to_tsquery('english', :match)"
        ).bindparams(match=query)
    return sql.columns(session_id=String).subquery()


def session_filter(conn: Connection, query: str):  # noqa: ANN201
    """A WHERE clause on sessions for `query`, or None when the query has no words."""
    sub = matching_sessions(conn, query)
    return None if sub is None else SESSIONS.c.id.in_(select(sub.c.session_id))


def snippets(conn: Connection, query: str, ids: list[str]) -> dict[str, str]:
    """One snippet per session of `ids`: from a matching prompt if any, else a matching answer."""
    if not ids:
        return {}
    if conn.dialect.name == "sqlite":
        match = fts5_query(query)
        sql = text(
            f"SELECT t.session_id AS sid, snippet(turns_fts, 0, '{MARK}', '{MARK}', '…', 12) AS snip, 0 AS pri "
            "FROM turns_fts JOIN turns t ON t.id = turns_fts.rowid "
            "WHERE turns_fts MATCH :match AND t.session_id IN :ids "
            f"UNION ALL SELECT o.session_id, snippet(outputs_fts, 0, '{MARK}', '{MARK}', '…', 12), 1 "
            "FROM outputs_fts JOIN outputs o ON o.id = outputs_fts.rowid "
            "WHERE outputs_fts MATCH :match AND o.session_id IN :ids"
        )
    else:
        match = query
        options = f"StartSel={MARK}, StopSel={MARK}, MaxWords=14, MinWords=6, ShortWord=2"
        sql = text(
            "WITH q AS (SELECT websearch_to_tsquery('english', :match) AS q), "
            "hits AS (SELECT DISTINCT ON (session_id) session_id, body, pri FROM ("
            "  SELECT t.session_id, t.prompt AS body, 0 AS pri, t.id AS pos FROM turns t, q "
            "  WHERE t.session_id IN :ids AND t.search @@ q.q "
            "  UNION ALL SELECT o.session_id, o.text, 1, o.id FROM outputs o, q "
            "  WHERE o.session_id IN :ids AND o.search @@ q.q) AS m ORDER BY session_id, pri, pos) "
            f"SELECT hits.session_id AS sid, ts_headline('english', left(hits.body, 20000), q.q, '{options}') "
            "AS snip, hits.pri FROM hits, q"
        )
    sql = sql.bindparams(bindparam("ids", expanding=True))
    found: dict[str, tuple[int, str]] = {}
    for sid, snip, pri in conn.execute(sql, {"match": match, "ids": ids}):
        if sid not in found or pri < found[sid][0]:
            found[sid] = (pri, " ".join(snip.split()))
    return {sid: snip for sid, (_, snip) in found.items()}


def with_snippets(rows: list[dict[str, Any]], found: dict[str, str]) -> list[dict[str, Any]]:
    return [{**row, "snippet": found.get(row["id"])} for row in rows]
