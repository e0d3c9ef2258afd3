"""The layer rules (pyproject.toml's [tool.importlinter] contracts) hold, and would catch a break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)


def test_every_layer_contract_is_kept() -> None:
    res = _lint(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def test_an_import_pointing_up_is_caught(tmp_path: Path) -> None:
    for name in ("backends", "storage", "playground"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    base = tmp_path / "backends" / "base.py"
    base.write_text(base.read_text(encoding="utf-8") + "\nimport playground.web.serve  # noqa\n", encoding="utf-8")
    res = _lint(tmp_path)
    assert res.returncode == 1
    assert "backends is not allowed to import playground" in res.stdout
