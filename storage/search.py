"""Full-text search over prompts and answers: SQLite FTS5, or PostgreSQL text search.

Both index every turn's prompt and every output's text with English stemming (SQLite: the
`porter` tokenizer; PostgreSQL: the `english` configuration), kept current inside the writing
transaction (triggers / generated columns, see migration 2). A query is words and "quoted
phrases"; a session matches when each of them occurs somewhere in it (a prompt or an answer).
Results are the matching sessions, newest first, with one snippet each (matches between ** marks).

Plan, so that a common word is as fast as a rare one: a term found in few rows (≤ CAP) narrows
the sessions to those few; otherwise the newest sessions are walked and each is checked for the
terms, which stops as soon as `limit` are found. Snippets are cut in Python from the texts of the
sessions shown, the same way for both databases.

User input never reaches a query parser raw: each term is quoted for FTS5, and handed to
`phraseto_tsquery` on PostgreSQL, so `c++`, `-v` or a stray quote can never be a syntax error.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, select, text

from storage.tables import OUTPUTS, SESSIONS, TURNS

MARK = "**"
MAX_TERMS = 8
CAP = 2000  # a term in at most this many rows narrows the search to its sessions
SNIPPET_SOURCE = 20000  # characters of each text looked at for a snippet
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


def session_filter(conn: Connection, query: str) -> ColumnElement[bool] | None:
    """A WHERE clause on sessions for `query`; None when it has no usable terms."""
    found = terms(query)
    if not found:
        return None
    if conn.dialect.name == "sqlite":
        return _sqlite_filter(conn, found)
    return _postgres_filter(conn, found)


def _sqlite_filter(conn: Connection, found: list[str]) -> ColumnElement[bool]:
    counts = []
    for term in found:
        counts.append(conn.execute(text(
            "SELECT (SELECT count(*) FROM (SELECT 1 FROM outputs_fts WHERE outputs_fts MATCH :m LIMIT :cap)) "
            "+ (SELECT count(*) FROM (SELECT 1 FROM turns_fts WHERE turns_fts MATCH :m LIMIT :cap))"
        ), {"m": _fts5_term(term), "cap": CAP + 1}).scalar_one())
    if min(counts) == 0:
        return SESSIONS.c.id.is_(None)  # some term occurs nowhere: no session matches
    clauses = []
    rarest = counts.index(min(counts))
    if counts[rarest] <= CAP:  # few rows: start from them
        clauses.append(SESSIONS.c.id.in_(text(
            "SELECT o.session_id FROM outputs o WHERE o.id IN "
            "(SELECT rowid FROM outputs_fts WHERE outputs_fts MATCH :r) "
            "UNION SELECT t.session_id FROM turns t WHERE t.id IN "
            "(SELECT rowid FROM turns_fts WHERE turns_fts MATCH :r)"
        ).bindparams(r=_fts5_term(found[rarest])).columns(OUTPUTS.c.session_id)))
    for i, term in enumerate(found):
        if i == rarest and counts[i] <= CAP:
            continue
        clauses.append(text(
            f"(EXISTS (SELECT 1 FROM outputs o CROSS JOIN outputs_fts f ON f.rowid = o.id "
            f"WHERE o.session_id = sessions.id AND outputs_fts MATCH :e{i}) "
            f"OR EXISTS (SELECT 1 FROM turns t CROSS JOIN turns_fts g ON g.rowid = t.id "
            f"WHERE t.session_id = sessions.id AND turns_fts MATCH :e{i}))"
        ).bindparams(**{f"e{i}": _fts5_term(term)}))
    return and_(*clauses)


def _postgres_filter(conn: Connection, found: list[str]) -> ColumnElement[bool] | None:
    # Stop words make an empty tsquery, which matches nothing: drop them first.
    probe = ", ".join(f"numnode(phraseto_tsquery('english', :t{i}))" for i in range(len(found)))
    sizes = conn.execute(text(f"SELECT {probe}"), {f"t{i}": t for i, t in enumerate(found)}).one()
    found = [t for t, size in zip(found, sizes, strict=True) if size]
    if not found:
        return None
    clauses = [
        text(
            f"(EXISTS (SELECT 1 FROM outputs o WHERE o.session_id = sessions.id "
            f"AND o.search @@ phraseto_tsquery('english', :p{i})) "
            f"OR EXISTS (SELECT 1 FROM turns t WHERE t.session_id = sessions.id "
            f"AND t.search @@ phraseto_tsquery('english', :p{i})))"
        ).bindparams(**{f"p{i}": term})
        for i, term in enumerate(found)
    ]
    return and_(*clauses)


def snippets(conn: Connection, query: str, ids: list[str]) -> dict[str, str]:
    """One snippet per session of `ids`: around the first match in a prompt, else in an answer."""
    found = terms(query)
    if not ids or not found:
        return {}
    pattern = _highlighter(found)
    texts: dict[str, list[str]] = {sid: [] for sid in ids}
    prompts = select(TURNS.c.session_id, func.substr(TURNS.c.prompt, 1, SNIPPET_SOURCE)).where(
        TURNS.c.session_id.in_(bindparam("ids", expanding=True))).order_by(TURNS.c.session_id, TURNS.c.idx)
    answers = select(OUTPUTS.c.session_id, func.substr(OUTPUTS.c.text, 1, SNIPPET_SOURCE)).where(
        OUTPUTS.c.session_id.in_(bindparam("ids", expanding=True))).order_by(OUTPUTS.c.session_id, OUTPUTS.c.id)
    for stmt in (prompts, answers):
        for sid, body in conn.execute(stmt, {"ids": ids}):
            texts[sid].append(body)
    result = {}
    for sid, bodies in texts.items():
        for body in bodies:
            snip = cut_snippet(body, pattern)
            if snip:
                result[sid] = snip
                break
    return result


def _highlighter(found: list[str]) -> re.Pattern[str]:
    """Matches any term, allowing other endings (a rough stand-in for stemming)."""
    parts = []
    for term in found:
        words = term.split()
        words[-1] = words[-1][: max(4, len(words[-1]) - 3)] if len(words[-1]) > 4 else words[-1]
        parts.append(r"\W+".join(re.escape(w) for w in words) + r"\w*")
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + ")", re.IGNORECASE)


def cut_snippet(body: str, pattern: re.Pattern[str], before: int = 40, after: int = 100) -> str | None:
    """About 140 characters of `body` around the first match, matches between ** marks."""
    first = pattern.search(body)
    if first is None:
        return None
    start, end = max(0, first.start() - before), min(len(body), first.start() + after)
    while start > 0 and body[start - 1].isalnum():
        start -= 1
    while end < len(body) and body[end].isalnum():
        end += 1
    window = pattern.sub(lambda m: f"{MARK}{m.group(0)}{MARK}", body[start:end])
    return ("…" if start else "") + " ".join(window.split()) + ("…" if end < len(body) else "")


def with_snippets(rows: list[dict[str, Any]], found: dict[str, str]) -> list[dict[str, Any]]:
    return [{**row, "snippet": found.get(row["id"])} for row in rows]
