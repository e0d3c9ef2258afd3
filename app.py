"""``python app.py``: the web playground with the defaults of ``playground serve`` (wiring only)."""

import sys

from playground.settings import Settings
from playground.web.serve import serve

if __name__ == "__main__":
    sys.exit(serve(Settings.load()))
