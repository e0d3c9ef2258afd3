"""The server's long-lived objects, made once by ``serve()`` and handed to the page's handlers:
settings, one Runtime (loaded models stay warm), one Store, and the run in progress per browser
session (so Stop can reach it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playground.engine.runtime import Runtime
from playground.settings import Settings

if TYPE_CHECKING:
    from storage import Store


@dataclass
class Context:
    settings: Settings
    runtime: Runtime
    store: Store
    active: dict[str, Any] = field(default_factory=dict)  # session hash -> compare.Job
    revealed: set[str] = field(default_factory=set)  # blind sessions whose names were shown here

    @property
    def exports(self) -> Path:
        return self.settings.home / "exports"
