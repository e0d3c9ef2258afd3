"""Playground: one prompt to many models at once, side by side, with honest figures.

    doc = await playground.compare("Hi", models=["gguf:smollm2", "hf:smollm2"], max_tokens=64)
    html = playground.export_html(doc)   # one offline file: the answers, the figures, a replay
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playground.api import Comparison, compare, export_html, stream

__all__ = ["Comparison", "compare", "export_html", "stream"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The API loads on first use: importing a layer (playground.engine, playground.web) must not
    # load the recorder, the document types and storage before it needs them.
    if name in __all__:
        from playground import api

        return getattr(api, name)
    raise AttributeError(f"module 'playground' has no attribute {name!r}")
