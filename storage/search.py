"""Full-text search over prompts and answers: SQLite FTS5, or PostgreSQL text search.

Both index every turn's prompt and every output's text with English stemming (SQLite: the
`porter` tokenizer; PostgreSQL: the `english` configuration), kept current inside the writing
transaction (triggers / generated columns, see migration 2). A query is words and "quoted
phrases"; a session matches when each of them occurs somewhere in it (a prompt or an answer).
Results are the matching sessions, newest first, with one snippet each, matches between ** marks.

User input never reaches a query parser raw: each term is quoted for FTS5, and handed to
`phraseto_tsquery` on PostgreSQL, so `c++`, `-v` or a stray quote can never be a syntax error.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, String, bindparam, select, text

from storage.tables import SESSIONS

MARK = "**"
MAX_TERMS = 8
_TERMS = re.compile(r'"([^"]*)"|(\w+)', re.UNICODE)
# Words too common to search for (PostgreSQL's `english` configuration drops these and more);
# dropped on SQLite too, so that both answer a query the same way.
STOP_WORDS = frozenset(
    "a an and are as at be but by for from had has have he her his i if in into is it its me my no not of "
    "on or our she so than that the their them then there these they this to was we were what when where "
    "which who why will with you your".split()
)


def terms(query: str) -> list[str]:
    """The words and quoted phrases of `query` (punctuation and stop words dropped), at most MAX_TERMS."""
    found = []
    for phrase, word in _TERMS.findall(query):
        term = " ".join(re.findall(r"\w+", phrase)) if phrase else word
        if term and term not in found and term.lower() not in STOP_WORDS:
            found.append(term)
    return found[:MAX_TERMS]


def fts5_query(query: str) -> str | None:
    """An FTS5 query that ANDs the words and phrases of `query`; None when it has none."""
    return " ".join(_fts5_term(t) for t in terms(query)) or None


def _fts5_term(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _usable_terms(conn: Connection, query: str) -> list[str]:
    found = terms(query)
    if conn.dialect.name == "postgresql" and found:  # drop stop words: they match nothing there
        probe = ", ".join(f"numnode(phraseto_tsquery('english', :t{i}))" for i in range(len(found)))
        sizes = conn.execute(text(f"SELECT {probe}"), {f"t{i}": t for i, t in enumerate(found)}).one()
        found = [t for t, size in zip(found, sizes, strict=True) if size]
    return found


def session_filter(conn: Connection, query: str):  # noqa: ANN201 - a SQLAlchemy clause
    """A WHERE clause on sessions for `query`, or None when the query has no usable terms."""
    found = _usable_terms(conn, query)
    if not found:
        return None
    if conn.dialect.name == "sqlite":
        one = ("SELECT session_id FROM (SELECT o.session_id FROM outputs o WHERE o.id IN "
               "(SELECT rowid FROM outputs_fts WHERE outputs_fts MATCH :t{i}) "
               "UNION SELECT t.session_id FROM turns t WHERE t.id IN "
               "(SELECT rowid FROM turns_fts WHERE turns_fts MATCH :t{i})) AS m{i}")
        values = {f"t{i}": _fts5_term(t) for i, t in enumerate(found)}
    else:
        one = ("SELECT session_id FROM (SELECT o.session_id FROM outputs o "
               "WHERE o.search @@ phraseto_tsquery('english', :t{i}) "
               "UNION SELECT t.session_id FROM turns t "
               "WHERE t.search @@ phraseto_tsquery('english', :t{i})) AS m{i}")
        values = {f"t{i}": t for i, t in enumerate(found)}
    sql = " INTERSECT ".join(one.format(i=i) for i in range(len(found)))
    sub = text(sql).bindparams(**values).columns(session_id=String).subquery()
    return SESSIONS.c.id.in_(select(sub.c.session_id))


def snippets(conn: Connection, query: str, ids: list[str]) -> dict[str, str]:
    """One snippet per session of `ids`: from a matching prompt if any, else a matching answer."""
    found = _usable_terms(conn, query)
    if not ids or not found:
        return {}
    if conn.dialect.name == "sqlite":
        values: dict[str, Any] = {"match": " OR ".join(_fts5_term(t) for t in found)}
        sql = text(
            f"SELECT t.session_id AS sid, snippet(turns_fts, 0, '{MARK}', '{MARK}', '…', 12) AS snip, 0 AS pri "
            "FROM turns_fts JOIN turns t ON t.id = turns_fts.rowid "
            "WHERE turns_fts MATCH :match AND t.session_id IN :ids "
            f"UNION ALL SELECT o.session_id, snippet(outputs_fts, 0, '{MARK}', '{MARK}', '…', 12), 1 "
            "FROM outputs_fts JOIN outputs o ON o.id = outputs_fts.rowid "
            "WHERE outputs_fts MATCH :match AND o.session_id IN :ids"
        )
    else:
        values = {f"t{i}": t for i, t in enumerate(found)}
        tsquery = " || ".join(f"phraseto_tsquery('english', :t{i})" for i in range(len(found)))
        options = f"StartSel={MARK}, StopSel={MARK}, MaxWords=14, MinWords=6, ShortWord=2"
        sql = text(
            f"WITH q AS (SELECT {tsquery} AS q), "
            "hits AS (SELECT DISTINCT ON (session_id) session_id, body, pri FROM ("
            "  SELECT t.session_id, t.prompt AS body, 0 AS pri, t.id AS pos FROM turns t, q "
            "  WHERE t.session_id IN :ids AND t.search @@ q.q "
            "  UNION ALL SELECT o.session_id, o.text, 1, o.id FROM outputs o, q "
            "  WHERE o.session_id IN :ids AND o.search @@ q.q) AS m ORDER BY session_id, pri, pos) "
            f"SELECT hits.session_id AS sid, ts_headline('english', left(hits.body, 20000), q.q, '{options}') "
            "AS snip, hits.pri FROM hits, q"
        )
    sql = sql.bindparams(bindparam("ids", expanding=True))
    best: dict[str, tuple[int, str]] = {}
    for sid, snip, pri in conn.execute(sql, {**values, "ids": ids}):
        if sid not in best or pri < best[sid][0]:
            best[sid] = (pri, " ".join(snip.split()))
    return {sid: snip for sid, (_, snip) in best.items()}


def with_snippets(rows: list[dict[str, Any]], found: dict[str, str]) -> list[dict[str, Any]]:
    return [{**row, "snippet": found.get(row["id"])} for row in rows]
