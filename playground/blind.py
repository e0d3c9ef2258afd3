"""Blind lanes: "Model A", "Model B", … in place of model ids until a vote is cast."""

from __future__ import annotations

import string


def blind_names(n: int) -> list[str]:
    return [f"Model {string.ascii_uppercase[i % 26]}{'' if i < 26 else i // 26}" for i in range(n)]
