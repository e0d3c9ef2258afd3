"""The session document as the core builds it, saved while it streams (recorder), aggregated over repeats, re-run."""
