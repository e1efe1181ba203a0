"""Run every benchmarks/bench_*.py script in turn (`make bench` / `python -m benchmarks`)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    only = set(argv)
    scripts = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    failed = []
    for name in scripts:
        if only and name not in only and name.removeprefix("bench_") not in only:
            continue
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        try:
            module.main([])
        except Exception as exc:  # keep going; report at the end
            print(f"   {name} failed: {exc}", flush=True)
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
