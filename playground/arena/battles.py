"""Chatbot Arena battle files: export votes as JSON lines, import them back.

One line per pairwise battle, with Chatbot Arena's fields, so its analysis notebooks and
``elo_analysis.py``-style tools read them as they are::

    {"question_id": "01J.../0/0v1", "model_a": "openai:gpt-4o", "model_b": "gguf:smollm2",
     "winner": "model_a", "judge": "human", "turn": 1, "anony": true, "tstamp": 1795683600.0,
     "language": null, "session_id": "01J...", "session_turn": 0, "lane_a": 0, "lane_b": 1,
     "source": "human", "tags": []}

- ``winner``: ``model_a`` | ``model_b`` | ``tie`` | ``tie (bothbad)``.
- ``judge``: ``"human"`` for a person, else the judge's model id; ``source`` says which.
  Arena's own files carry an anonymous user id there and no ``source``: read as human.
- ``turn``: as in Arena, the number of user turns up to the judged one (our 0-based index + 1);
  the conversation itself is referenced, not copied: ``session_id`` + ``session_turn`` (and
  ``question_id``, built from them and the two lanes).
- ``anony``: the vote was blind.

A vote among n > 2 lanes becomes the n - 1 battles of the winner against each other lane.
Import accepts JSON lines or one JSON array (Arena's ``clean_battle_*.json``), ignores unknown fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from .pairs import Battle
from .votes import WINNERS


def battle_to_row(battle: Battle) -> dict[str, Any]:
    """One battle as an Arena-format dict."""
    row = asdict(battle)
    row["turn"] = None if battle.turn is None else battle.turn + 1
    row["session_turn"] = battle.turn
    row["tags"] = list(battle.tags)
    row["language"] = None
    return row


def row_to_battle(row: dict[str, Any]) -> Battle:
    """An Arena-format dict back into a battle; raises ``ValueError`` on a missing or bad field."""
    missing = [k for k in ("model_a", "model_b", "winner", "tstamp") if row.get(k) is None]
    if missing:
        raise ValueError(f"battle row lacks {', '.join(missing)}")
    if row["winner"] not in WINNERS:
        raise ValueError(f"battle winner must be one of {', '.join(WINNERS)}, not {row['winner']!r}")
    source = row.get("source") or "human"
    if source not in ("human", "judge"):
        raise ValueError(f"battle source must be 'human' or 'judge', not {source!r}")
    return Battle(
        model_a=str(row["model_a"]),
        model_b=str(row["model_b"]),
        winner=row["winner"],
        tstamp=float(row["tstamp"]),
        judge=str(row.get("judge") or "human"),
        source=source,
        anony=bool(row.get("anony", False)),
        session_id=row.get("session_id"),
        turn=row.get("session_turn"),
        lane_a=row.get("lane_a"),
        lane_b=row.get("lane_b"),
        question_id=None if row.get("question_id") is None else str(row["question_id"]),
        tags=tuple(row.get("tags") or ()),
    )


def write_battles(battles: Iterable[Battle], out: IO[str]) -> int:
    """Write JSON lines to an open text file; returns the number of lines."""
    n = 0
    for battle in battles:
        out.write(json.dumps(battle_to_row(battle), ensure_ascii=False) + "\n")
        n += 1
    return n


def export_battles(battles: Iterable[Battle], path: str | Path) -> int:
    """Write a battle file (JSON lines, UTF-8); returns the number of battles written."""
    with open(path, "w", encoding="utf-8") as out:
        return write_battles(battles, out)


def iter_rows(text: str) -> Iterator[dict[str, Any]]:
    """Rows of JSON lines, or of a single JSON array."""
    if text.lstrip().startswith("["):
        yield from json.loads(text)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"line {number} is not JSON: {exc.msg}") from exc


def read_battles(text: str) -> list[Battle]:
    """Battles from the text of a battle file; ``ValueError`` names the bad line."""
    battles = []
    for number, row in enumerate(iter_rows(text), start=1):
        try:
            battles.append(row_to_battle(row))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"battle {number}: {exc}") from exc
    return battles


def import_battles(path: str | Path) -> list[Battle]:
    """Read a battle file (ours or Chatbot Arena's)."""
    return read_battles(Path(path).read_text(encoding="utf-8"))
