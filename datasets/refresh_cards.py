"""Rebuild the presets that ship a card (`datasets/<preset>/card.json`) and store their cards.

Usage: python datasets/refresh_cards.py [PRESET ...]
Run it after a deliberate change to the build output; tests compare fresh builds with these cards.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ackd_bench.data.build import build_dataset  # noqa: E402
from ackd_bench.data.presets import PRESETS, spec_from_options  # noqa: E402
from ackd_bench.io import atomic_write_json  # noqa: E402


def main(names: list[str]) -> None:
    names = names or sorted(n for n, p in PRESETS.items() if p.get("card"))
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            card = build_dataset(spec_from_options(preset=name), Path(tmp) / "bench", quiet=True)
        atomic_write_json(REPO / PRESETS[name]["card"], card)
        print(f"{name}: wrote {PRESETS[name]['card']}")


if __name__ == "__main__":
    main(sys.argv[1:])
