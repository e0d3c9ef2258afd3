"""``python -m playground.cli.main``."""

import sys

from playground.cli.main import main

sys.exit(main())
