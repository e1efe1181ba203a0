"""Backbones returning (tokens, embedding, logits), the MODELS registry and the six benchmark pairs."""

from ackd_bench.models import mobilenet, resnet, shufflenet  # noqa: F401  (register the backbones)
from ackd_bench.models.base import EMBED_DIM, MODELS, BackboneOutput, build_model
from ackd_bench.models.pairs import PAIRS, pair_key, resolve_pair

__all__ = ["EMBED_DIM", "MODELS", "PAIRS", "BackboneOutput", "build_model", "pair_key", "resolve_pair"]
