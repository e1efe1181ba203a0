"""SemBridge (AAAI-26): Student-Friendly Matching + Semantic-aware Knowledge Alignment, as a plug-in."""

from ackd_bench.methods.sembridge.coral import coral
from ackd_bench.methods.sembridge.matcher import MatcherInfo, load_matcher, train_matcher
from ackd_bench.methods.sembridge.matching import dynm_match, dynm_match_reference
from ackd_bench.methods.sembridge.planner import Planner, refine, token_weights
from ackd_bench.methods.sembridge.schedule import dynm_epochs
from ackd_bench.methods.sembridge.wrapper import SEMBRIDGE_DEFAULTS, SemBridge

__all__ = [
    "SEMBRIDGE_DEFAULTS",
    "MatcherInfo",
    "Planner",
    "SemBridge",
    "coral",
    "dynm_epochs",
    "dynm_match",
    "dynm_match_reference",
    "load_matcher",
    "refine",
    "token_weights",
    "train_matcher",
]
