"""Backbones returning (tokens, embedding, logits), the MODELS registry and the six benchmark pairs."""

from ackd_bench.models.base import EMBED_DIM, MODELS, BackboneOutput, build_model
from ackd_bench.models.pairs import PAIRS, pair_key, resolve_pair
from ackd_bench.registry import import_submodules

# Every module here except `base` and `pairs` registers backbones: a new architecture is one new file.
import_submodules(__name__, __path__, skip=("base", "pairs"))

__all__ = ["EMBED_DIM", "MODELS", "PAIRS", "BackboneOutput", "build_model", "pair_key", "resolve_pair"]
