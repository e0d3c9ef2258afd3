"""The ``playground`` command line."""

from playground.cli.main import EXIT_LANE_FAILED, EXIT_OK, EXIT_USAGE, build_parser, main

__all__ = ["EXIT_LANE_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]
