"""`ackd-bench cost RUN_DIR`: transport costs of a finished run (ackd_bench/transport_costs.py), written to
RUN_DIR/cost.json."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ackd_bench.data.benchmark import Benchmark
from ackd_bench.engine.embed import load_run_config, run_embeddings
from ackd_bench.io import atomic_write_json
from ackd_bench.transport_costs import costs_from_embeddings


def run_cost(
    run_dir: str | Path,
    *,
    split: str = "train",
    benchmark: str | Path | None = None,
    device: str = "auto",
    **options: Any,
) -> dict:
    """Embed the run's pools with its best checkpoint (engine.embed.run_embeddings) and write cost.json.

    The run's pairing tables name TRAIN samples, so partners are used for split="train"; other splits
    compare each class's whole teacher pool ("teacher_side": "class_pool").
    """
    run_dir = Path(run_dir)
    bench = Benchmark.open(benchmark or load_run_config(run_dir)["benchmark"])
    emb = asdict(run_embeddings(run_dir, split, benchmark=benchmark, device=device))
    emb["classes"] = list(bench.classes)
    if split != "train":
        emb["pairing"] = None
    emb["sckd_pairs"] = bench.sckd_pairs
    result = {"split": split, **costs_from_embeddings(emb, **options)}
    atomic_write_json(run_dir / "cost.json", result)
    return result
