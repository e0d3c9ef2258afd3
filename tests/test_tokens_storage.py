"""Token probabilities in the store, after the storage fix of issue 13: rows are split into columns
once per save and packed with float64 logprobs and uint16 text indexes (storage/tokens.py,
storage/codec.py). They come back exactly through SQLite and PostgreSQL — any float, not only the
engine's 4-decimal ones; blobs of the earlier format 1 still read; a bad row is still refused with
one line naming it."""

from __future__ import annotations

import array
import random
import struct

import pytest
from sqlalchemy import select

from storage.codec import pack_tokens, unpack_tokens
from storage.errors import StorageError
from storage.tables import OUTPUTS


def _rows(n: int, k: int, seed: int = 13, distinct: int = 500) -> list:
    rng = random.Random(seed)
    words = [f" w{i}\u00e9" for i in range(distinct)]
    return [[rng.choice(words), -rng.random() * 3, [[w, -rng.random() * 20] for w in rng.sample(words, k)]]
            for _ in range(n)]


def _save(store, output, rows, *, k=20):
    text = "".join(r[0] for r in rows)
    sid = store.create_session(title="tokens", system=None)
    store.start_turn(sid, prompt="go", outputs=[output("", status="running", tokens=[])])
    store.update_outputs(sid, 0, {0: output(text, tokens=rows, logprobs={"top_k": k, "kind": "raw"})})
    return sid


def test_any_float_round_trips_packed_through_the_database(store, output):
    rows = _rows(300, 20)  # full-precision floats: format 1 could only keep them as JSON
    sid = _save(store, output, rows)
    assert store.export_document(sid)["turns"][0]["outputs"][0]["tokens"] == rows
    with store.engine.connect() as conn:
        blob = bytes(conn.execute(select(OUTPUTS.c.tokens)).scalar_one())
    assert blob[0] == 2  # packed (uint16 indexes, float64), not JSON
    assert len(blob) < 300 * (2 + 8 + 1 + 20 * (2 + 8)) + 500 * 16  # and about that size


def test_more_texts_than_uint16_can_index_use_the_wide_format(store, output):
    rows = [[f" t{i}", -0.5, [[f" a{i}.{j}", -1.0 - j / 7] for j in range(20)]] for i in range(3200)]
    # 67,200 distinct texts: past the 65,536 a uint16 index can name
    packed = pack_tokens(rows)
    assert packed[0] == 3 and unpack_tokens(packed) == rows
    sid = _save(store, output, rows)
    assert store.export_document(sid)["turns"][0]["outputs"][0]["tokens"] == rows


def test_format_2_is_written_and_blobs_of_format_1_still_read():
    rows = [[" Paris", -0.2644, [[" Paris", -0.2644], [" the", -2.8043]]], [" the", -1.25, []]]
    assert pack_tokens(rows)[0] == 2
    # format 1, as the store wrote it before: header, text table, uint32 indexes, int32 units of 1e-4
    texts = [" Paris", " the"]
    encoded = [t.encode() for t in texts]
    blob = (struct.pack("<BII", 1, 2, 2) + array.array("I", map(len, encoded)).tobytes() + b"".join(encoded)
            + array.array("I", [0, 1]).tobytes() + array.array("i", [-2644, -12500]).tobytes()
            + array.array("B", [2, 0]).tobytes() + array.array("I", [0, 1]).tobytes()
            + array.array("i", [-2644, -28043]).tobytes())
    assert unpack_tokens(blob) == rows


def test_a_bad_alternative_is_refused_with_one_line_naming_its_row(store, output):
    for bad, message in ((10**400, r"tokens\[1\]: a logprob that is not a finite number"),  # once a crash
                         (1e10, r"tokens\[1\]: a logprob that is not a finite number"),
                         (float("nan"), r"tokens\[1\]: a logprob that is not a finite number"),
                         (True, r"tokens\[1\]: expected \[text, logprob")):
        rows = [["a", -1.0, [["a", -1.0]]], ["b", -2.0, [["b", -2.0], ["c", bad]]]]
        with pytest.raises(StorageError, match=message):
            _save(store, output, rows)
