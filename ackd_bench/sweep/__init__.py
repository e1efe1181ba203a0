"""Grid sweeps: expand a grid YAML into cells and run them locally or on SLURM, with cell-level resume.

grid.py          YAML -> Grid -> Cells (deterministic run folders and `ackd-bench run` commands)
slurm_config.py  the grid's `slurm:` section -> submitit parameters
executors.py     run_cell (one subprocess + log + lock), local worker pool, submitit job array
runner.py        Sweep (skip finished cells, status file), submit, summary
"""

from ackd_bench.sweep.grid import Cell, Grid, check_names, expand, left_out, load_grid, out_root, sanitize
from ackd_bench.sweep.runner import STATUS_NAME, Sweep, is_finished

__all__ = [
    "Cell",
    "Grid",
    "STATUS_NAME",
    "Sweep",
    "check_names",
    "expand",
    "is_finished",
    "left_out",
    "load_grid",
    "out_root",
    "sanitize",
]
