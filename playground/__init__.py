"""Playground: one prompt to many models at once, side by side, with honest figures.

    doc = await playground.compare("Hi", models=["gguf:smollm2", "hf:smollm2"], max_tokens=64)
    html = playground.export_html(doc)   # one offline file: the answers, the figures, a replay
"""

from playground.api import Comparison, compare, export_html, stream

__all__ = ["Comparison", "compare", "export_html", "stream"]
__version__ = "0.1.0"
