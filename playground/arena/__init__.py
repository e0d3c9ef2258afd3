"""Arena: votes on a session's turns, Bradley–Terry leaderboards, battle sampling, Arena battle files.

Pure functions over plain data (session documents as dicts, numpy for the fit); nothing here
imports the rest of the playground, the backends or storage.
"""

from .battles import export_battles, import_battles, read_battles, write_battles
from .fit import Rating, fit_ratings, leaderboard, win_rate_matrix
from .pairs import (
    Battle,
    battles_to_pairs,
    filter_battles,
    vote_to_battles,
    vote_to_pairs,
    votes_from_sessions,
)
from .sampling import choose_battle, pair_counts
from .votes import VOTE_JSON_SCHEMA, make_vote, set_vote, validate_vote, withdraw_vote

__all__ = [
    "VOTE_JSON_SCHEMA",
    "Battle",
    "Rating",
    "battles_to_pairs",
    "choose_battle",
    "export_battles",
    "filter_battles",
    "fit_ratings",
    "import_battles",
    "leaderboard",
    "make_vote",
    "pair_counts",
    "read_battles",
    "set_vote",
    "validate_vote",
    "vote_to_battles",
    "vote_to_pairs",
    "votes_from_sessions",
    "win_rate_matrix",
    "withdraw_vote",
    "write_battles",
]
