"""Playground: one prompt to many models at once, side by side, with honest figures.

    doc = await playground.compare("Hi", models=["gguf:smollm2", "hf:smollm2"], max_tokens=64)
"""

from playground.api import Comparison, compare, stream

__all__ = ["Comparison", "compare", "stream"]
__version__ = "0.1.0"
