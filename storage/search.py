"""Search over prompts, answers and titles: SQLite FTS5, or PostgreSQL text search.

Both index every turn's prompt and every output's text with English stemming (SQLite: the
`porter` tokenizer; PostgreSQL: the `english` configuration): SQLite inside the writing
transaction (triggers, migration 2), PostgreSQL prompts likewise (a generated column) and answers
just after the save (storage/indexer.py; an answer not indexed yet is matched from its text). A query is words and "quoted
phrases"; a session matches when each of them occurs somewhere in it. A term matches as you type it:
- as the start of a word in a prompt or an answer, through the index ("Moo" finds "Moon", "steeping"
  finds "steep"; the last word of a phrase is a prefix too). The index holds stems, so a prefix
  longer than a word's stem but shorter than the word ("runn" for "running") does not match;
- anywhere inside the session's title (its first prompt's first words): "oon" finds "Moon landing";
- anywhere inside a prompt or a final answer, for a term of 3 characters or more ("oon" finds
  "Moon"), through trigram indexes (migration 6: SQLite's FTS5 trigram tokenizer; PostgreSQL's
  pg_trgm for ILIKE), so this never reads every answer (docs/benchmarks.md has the figures). Shorter
  terms have no trigram: they match the start of a word, or a title. An answer still streaming is
  found by the start of a word only (its trigrams are indexed once, when it is final).
Results are the matching sessions, newest first, with one snippet each (matches between ** marks).

Plan, so that a common word is as fast as a rare one: a term found in few rows (≤ CAP) narrows
the sessions to those few; otherwise the newest sessions are walked and each is checked for the
terms, which stops as soon as `limit` are found (PostgreSQL; on SQLite a prefix costs a merge of
every word it stands for per MATCH, so each term's rows are collected once instead). Snippets are cut in Python from a window of text
around the match, the same way for both databases.

User input never reaches a query parser raw: terms are runs of word characters only; each is
quoted for FTS5, quoted as lexemes for PostgreSQL's `to_tsquery`, and escaped for LIKE (``%``,
``_`` and the escape character), so `c++`, `-v`, `%`, a stray quote or `NEAR(` can never be a syntax
error or a wildcard.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select, text

from storage.indexer import VECTOR
from storage.tables import OUTPUTS, SESSIONS, TURNS

MARK = "**"
MAX_TERMS = 8
CAP = 2000  # a term in at most this many rows narrows the search to its sessions
WINDOW_BEFORE, WINDOW_AFTER = 80, 160  # characters around a match that a snippet is cut from
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
    """An FTS5 query that ANDs the words and phrases of `query` (each a prefix); None when it has none."""
    return " ".join(_fts5_term(t) for t in terms(query)) or None


def _fts5_term(term: str) -> str:
    """A quoted FTS5 string whose last token is a prefix (``"moo"*`` matches "moon")."""
    return '"' + term.replace('"', '""') + '"*'


def pg_tsquery(term: str) -> str:
    """The ``to_tsquery`` text of one term: its words in a row, the last a prefix. A term is word
    characters and spaces only (``terms``), so quoting each word makes it a lexeme, never syntax."""
    words = [w.replace("'", "''").replace("\\", "\\\\") for w in term.split()]
    return " <-> ".join(f"'{w}'" for w in words) + ":*"


def like_pattern(term: str) -> str:
    """A LIKE pattern that finds ``term`` anywhere, its ``%``, ``_`` and ``\\`` taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


MIN_SUBSTRING = 3  # a trigram index finds nothing shorter


def fts5_substring(term: str) -> str | None:
    """The trigram index's query for ``term`` anywhere (a quoted string: no syntax); None when too short."""
    return '"' + term.replace('"', '""') + '"' if len(term) >= MIN_SUBSTRING else None


def _in_title(term: str) -> ColumnElement[bool]:
    return SESSIONS.c.title.ilike(like_pattern(term), escape="\\")


# PostgreSQL indexes an answer just after its save (storage/indexer.py): until then its `search`
# is NULL and the answer is matched from its text (the partial index ix_outputs_unindexed finds it).
_PG_OUTPUT_MATCH = (
    "(o.search @@ to_tsquery('english', :{p}) OR (o.search IS NULL AND "
    + VECTOR.format(col="o.text") + " @@ to_tsquery('english', :{p})))"
)
# Per dialect: how many rows hold a term (counting stops past CAP), the sessions of those rows,
# and a per-session test. The per-session test is written so that neither database can turn it
# into "collect every matching row first" (PostgreSQL would hash an EXISTS): a walk over the
# newest sessions then stops as soon as `limit` of them match.
_SQL = {
    "sqlite": {
        "count": "SELECT (SELECT count(*) FROM (SELECT 1 FROM outputs_fts WHERE outputs_fts MATCH :m LIMIT :cap)) "
                 "+ (SELECT count(*) FROM (SELECT 1 FROM turns_fts WHERE turns_fts MATCH :m LIMIT :cap))",
        "sessions": "SELECT o.session_id FROM outputs o WHERE o.id IN "
                    "(SELECT rowid FROM outputs_fts WHERE outputs_fts MATCH :{p}) "
                    "UNION SELECT t.session_id FROM turns t WHERE t.id IN "
                    "(SELECT rowid FROM turns_fts WHERE turns_fts MATCH :{p})",
        "test": "(EXISTS (SELECT 1 FROM outputs o CROSS JOIN outputs_fts f ON f.rowid = o.id "
                "WHERE o.session_id = sessions.id AND outputs_fts MATCH :{p}) "
                "OR EXISTS (SELECT 1 FROM turns t CROSS JOIN turns_fts g ON g.rowid = t.id "
                "WHERE t.session_id = sessions.id AND turns_fts MATCH :{p}))",
        # the same three, for a part inside a word (the trigram indexes; ``fts5_substring``)
        # (answers waiting for the trigram indexer, storage/indexer.py, are read: :l is the term lowered)
        "sub_count": "SELECT (SELECT count(*) FROM (SELECT 1 FROM outputs_tri WHERE outputs_tri MATCH :m "
                     "LIMIT :cap)) + (SELECT count(*) FROM (SELECT 1 FROM turns_tri WHERE turns_tri MATCH :m "
                     "LIMIT :cap)) + (SELECT count(*) FROM (SELECT 1 FROM outputs_tri_pending w JOIN outputs o "
                     "ON o.id = w.id WHERE instr(lower(o.text), :l) > 0 LIMIT :cap))",
        "sub_sessions": "SELECT o.session_id FROM outputs o WHERE o.id IN "
                        "(SELECT rowid FROM outputs_tri WHERE outputs_tri MATCH :{p}) "
                        "UNION SELECT t.session_id FROM turns t WHERE t.id IN "
                        "(SELECT rowid FROM turns_tri WHERE turns_tri MATCH :{p}) "
                        "UNION SELECT o.session_id FROM outputs_tri_pending w JOIN outputs o ON o.id = w.id "
                        "WHERE instr(lower(o.text), :{p}_l) > 0",
        # a part found in many rows: each session walked reads its own texts (lower() folds ASCII
        # only, where the trigram index folds every letter; only such a common part is read so)
        "sub_test": "(EXISTS (SELECT 1 FROM outputs o WHERE o.session_id = sessions.id AND o.status <> 'running' "
                    "AND instr(lower(o.text), :{p}) > 0) OR EXISTS (SELECT 1 FROM turns t "
                    "WHERE t.session_id = sessions.id AND instr(lower(t.prompt), :{p}) > 0))",
    },
    "postgresql": {
        "count": "SELECT (SELECT count(*) FROM (SELECT 1 FROM outputs o "
                 f"WHERE {_PG_OUTPUT_MATCH.format(p='m')} LIMIT :cap) AS a) "
                 "+ (SELECT count(*) FROM (SELECT 1 FROM turns "
                 "WHERE search @@ to_tsquery('english', :m) LIMIT :cap) AS b)",
        "sessions": f"SELECT o.session_id FROM outputs o WHERE {_PG_OUTPUT_MATCH} "
                    "UNION SELECT t.session_id FROM turns t WHERE t.search @@ to_tsquery('english', :{p})",
        "test": "(COALESCE((SELECT bool_or(COALESCE(o.search, "
                f"{VECTOR.format(col='o.text')}) @@ to_tsquery('english', :{{p}})) FROM outputs o "
                "WHERE o.session_id = sessions.id), false) "
                "OR COALESCE((SELECT bool_or(t.search @@ to_tsquery('english', :{p})) FROM turns t "
                "WHERE t.session_id = sessions.id), false))",
        # a part inside a word: ILIKE, through pg_trgm's indexes where migration 6 could make them
        # (the index holds the answers the indexer has seen: those waiting are read, found by
        # ix_outputs_unindexed)
        "sub_count": "SELECT (SELECT count(*) FROM (SELECT 1 FROM outputs WHERE search IS NOT NULL "
                     "AND text ILIKE :m ESCAPE '\\' LIMIT :cap) AS a) + (SELECT count(*) FROM (SELECT 1 FROM "
                     "outputs WHERE search IS NULL AND status <> 'running' AND text ILIKE :m ESCAPE '\\' "
                     "LIMIT :cap) AS w) + (SELECT count(*) FROM (SELECT 1 FROM turns "
                     "WHERE prompt ILIKE :m ESCAPE '\\' LIMIT :cap) AS b)",
        "sub_sessions": "SELECT session_id FROM outputs WHERE search IS NOT NULL AND text ILIKE :{p} ESCAPE '\\' "
                        "UNION SELECT session_id FROM outputs WHERE search IS NULL AND status <> 'running' "
                        "AND text ILIKE :{p} ESCAPE '\\' "
                        "UNION SELECT session_id FROM turns WHERE prompt ILIKE :{p} ESCAPE '\\'",
        "sub_test": "(EXISTS (SELECT 1 FROM outputs o WHERE o.session_id = sessions.id AND o.text ILIKE :{p} "
                    "ESCAPE '\\' AND o.status <> 'running') OR EXISTS (SELECT 1 FROM turns t "
                    "WHERE t.session_id = sessions.id AND t.prompt ILIKE :{p} ESCAPE '\\'))",
    },
}


def session_filter(conn: Connection, query: str) -> ColumnElement[bool] | None:
    """A WHERE clause on sessions for `query`; None when it has no usable terms."""
    found = terms(query)
    sql = _SQL["sqlite" if conn.dialect.name == "sqlite" else "postgresql"]
    if conn.dialect.name == "sqlite":
        values = [_fts5_term(t) for t in found]
    else:  # a stop word makes an empty tsquery, which matches nothing in the index
        # plans made for these values: a statement the driver has prepared gets a generic plan after
        # a few runs, and `text ILIKE $1` with no pattern known cannot use the trigram index (a
        # term found nowhere read every answer: 130-200 ms for 3,000 sessions instead of ~25)
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
        values = [pg_tsquery(t) for t in found]
        if found:
            probe = ", ".join(f"numnode(to_tsquery('english', :t{i}))" for i in range(len(found)))
            sizes = conn.execute(text(f"SELECT {probe}"), {f"t{i}": v for i, v in enumerate(values)}).one()
            values = [v if size else None for v, size in zip(values, sizes, strict=True)]
    if not found:
        return None
    titled = [_in_title(t) for t in found]
    sqlite = conn.dialect.name == "sqlite"
    inside = [(fts5_substring(t) if sqlite else like_pattern(t)) if len(t) >= MIN_SUBSTRING else None
              for t in found]

    def count(query: str, value: str | None, lowered: str = "") -> int:
        if value is None:
            return 0
        return conn.execute(text(query), {"m": value, "cap": CAP + 1, "l": lowered}).scalar_one()

    sub_counts = [count(sql["sub_count"], sub, t.lower()) for sub, t in zip(inside, found, strict=True)]
    counts = [
        count(sql["count"], v) + sub_count
        + conn.execute(select(func.count()).select_from(
            select(SESSIONS.c.id).where(title).limit(CAP + 1).subquery())).scalar_one()
        for v, sub_count, title in zip(values, sub_counts, titled, strict=True)
    ]
    if min(counts) == 0:
        return SESSIONS.c.id.is_(None)  # a term that occurs nowhere: no session matches
    rarest = counts.index(min(counts))
    narrow = counts[rarest] <= CAP
    # FTS5 merges every word a prefix stands for each time a MATCH runs, so on SQLite each term's
    # rows are found once (an IN list) rather than once per session walked. Not a part inside
    # words found in many rows: collecting them all cost more (~90 ms for 3,000 sessions) than
    # reading the texts of the newest sessions until enough match (``sub_test``)
    once = sqlite
    clauses = []
    for i, (value, sub, title) in enumerate(zip(values, inside, titled, strict=True)):
        start = (i == rarest and narrow) or once  # few rows: start from their sessions
        either = [title]
        for key, bound, name in (("", value, f"s{i}"), ("sub_", sub, f"u{i}")):
            if bound is None:  # only a stop word to PostgreSQL's index; a term too short for trigrams
                continue
            if key and sqlite and sub_counts[i] > CAP and not (i == rarest and narrow):
                bound = found[i].lower()  # the per-session test reads the texts: the term itself
            elif start:
                waiting = {f"{name}_l": found[i].lower()} if key and sqlite else {}  # read, not indexed yet
                sessions = text(sql[key + "sessions"].format(p=name)).bindparams(**{name: bound}, **waiting)
                either.append(SESSIONS.c.id.in_(sessions.columns(OUTPUTS.c.session_id)))
                continue
            either.append(text(sql[key + "test"].format(p=name)).bindparams(**{name: bound}))
        clauses.append(or_(*either))
    return and_(*clauses)


def snippets(conn: Connection, query: str, ids: list[str]) -> dict[str, str]:
    """One snippet per session of `ids`: around the first match in a prompt, else in an answer.

    The database finds where the first term's stem occurs and sends back only a window of text
    around it, never whole answers; Python marks the terms in it. Answers are searched for the
    stem as written first (lowering megabytes of text costs more than the rest of a search), and
    lowered only for the sessions still without a snippet.
    """
    found = terms(query)
    if not ids or not found:
        return {}
    pattern = _highlighter(found)
    anchor = _stem(found[0].split()[0]).lower()
    result: dict[str, str] = {}
    for column, lowered in ((TURNS.c.prompt, True), (OUTPUTS.c.text, False), (OUTPUTS.c.text, True)):
        todo = [sid for sid in ids if sid not in result]
        if not todo:
            break
        for sid, first, window in conn.execute(_windows(conn, column, anchor, lowered, todo)):
            snip = None if sid in result else cut_snippet(window, pattern)
            if snip:
                more = len(window) == WINDOW_BEFORE + WINDOW_AFTER
                result[sid] = ("…" if first > 1 and not snip.startswith("…") else "") + snip.rstrip("…") + (
                    "…" if more else "")
    return result


def _windows(conn: Connection, column: Any, anchor: str, lowered: bool, ids: list[str]) -> Select:
    """(session id, window start, window) of one text of each session of `ids` that holds `anchor`.

    One text a session: the first found (in the table's order) ends that session's scan, so a
    session of eight long answers reads one of them, not all eight (measured on PostgreSQL: 26 ms
    -> 2 ms over the 3.9 MB of answers of 50 hits)."""
    sqlite = conn.dialect.name == "sqlite"
    table = column.table

    def position(col: Any) -> Any:
        body = func.lower(col) if lowered else col
        return func.instr(body, anchor) if sqlite else func.strpos(body, anchor)

    other = table.alias("other")
    first = (
        select(other.c.id).where(other.c.session_id == SESSIONS.c.id, position(other.c[column.name]) > 0)
        .limit(1).correlate(SESSIONS).scalar_subquery()
    )
    chosen = select(first).where(SESSIONS.c.id.in_(ids))
    # OFFSET 0 keeps the subquery whole, so `pos` is computed once per row, not once per use.
    found = (
        select(table.c.session_id.label("sid"), position(column).label("pos"), column.label("body"))
        .where(table.c.id.in_(chosen)).offset(0).subquery()
    )
    start = (func.max if sqlite else func.greatest)(found.c.pos - WINDOW_BEFORE, 1)
    return select(found.c.sid, start, func.substr(found.c.body, start, WINDOW_BEFORE + WINDOW_AFTER))


def _stem(word: str) -> str:
    return word[: max(4, len(word) - 3)] if len(word) > 4 else word


def _highlighter(found: list[str]) -> re.Pattern[str]:
    """Matches any term, allowing other endings (a rough stand-in for stemming), and the whole
    word around a term found inside it ("oon": "Moon")."""
    parts = []
    for term in found:
        words = term.split()
        words[-1] = _stem(words[-1])
        parts.append(r"\W+".join(re.escape(w) for w in words) + r"\w*")
    return re.compile(r"(?<!\w)\w*?(?:" + "|".join(parts) + ")", re.IGNORECASE)


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
