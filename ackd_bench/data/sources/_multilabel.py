"""The multi-label convention shared by the multi-label teacher sources (bigearthnet-s2, multilabel-tif,
synthetic with `multilabel` > 0).

A multi-label sample carries ALL its source class names in `RawSample.extra["labels"]`, ordered by
preference: the first is the primary class and equals `RawSample.class_name`. The build maps every
name through the class map, keeps those that survive, and takes the first surviving name as the
primary class (`label`/`class_name` in the manifest: used for matching and as the student label);
the manifest's `labels` column holds every surviving class index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

LABELS_KEY = "labels"


def labels_of(sample) -> list[str]:
    """Source class names of `sample`, primary first (a single-label sample: just its class)."""
    names = sample.extra.get(LABELS_KEY) if sample.extra else None
    return list(names) if names else [sample.class_name]


def rarest_first(label_sets: Sequence[Sequence[str]], class_order: Sequence[str]) -> list[list[str]]:
    """Each label set ordered rarest first (fewest samples in `label_sets` carrying the class); ties
    by position in `class_order`. Duplicates are removed."""
    counts = Counter(c for labels in label_sets for c in set(labels))
    rank = {c: i for i, c in enumerate(class_order)}
    return [sorted(set(labels), key=lambda c: (counts[c], rank.get(c, len(rank)), c)) for labels in label_sets]
