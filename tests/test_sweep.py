"""Grid sweeps: expansion, validation, dry-run, and end-to-end runs through the real CLI and submitit."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ackd_bench.cli import cli
from ackd_bench.errors import ConfigError
from ackd_bench.sweep import Sweep, expand, is_finished, load_grid, sanitize
from ackd_bench.sweep.slurm_config import parse_mem_gb, parse_minutes, submitit_parameters


def write_grid(tmp_path: Path, name: str = "grid.yaml", **grid) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(grid, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def two_benches(tmp_path: Path) -> list[str]:
    for name in ("bench-a", "bench b"):
        (tmp_path / name).mkdir()
    return ["bench-a", "bench b"]


def full_grid(tmp_path: Path, benches: list[str], **extra) -> Path:
    grid = dict(
        benchmarks=benches,
        methods=["kd", "kd+sembridge"],
        pairings=["random", "ssm"],
        pairs=["R-R", "resnet18:shufflenetv2_x0_5"],
        seeds=[0, 1, 2],
        run_args={"profile": "fast", "epochs": 1, "device": "cpu", "no_dynm": True, "amp": False, "config": "c.yaml"},
        out="runs",
    )
    grid.update(extra)
    return write_grid(tmp_path, **grid)


# ---------------------------------------------------------------- expansion


def test_expand_counts_names_and_commands(tmp_path, two_benches):
    grid = load_grid(full_grid(tmp_path, two_benches))
    cells = expand(grid)
    assert len(cells) == 2 * 2 * 2 * 3  # benches x (kd x random, kd+sembridge x ssm) x pairs x seeds
    rels = [c.rel_dir for c in cells]
    assert len(set(rels)) == len(rels)
    # YAML order, seeds innermost; unsafe characters sanitised, '+' kept
    assert rels[0] == "bench-a/kd/random/R-R/seed0"
    assert rels[1] == "bench-a/kd/random/R-R/seed1"
    assert "bench_b/kd+sembridge/ssm/resnet18_shufflenetv2_x0_5/seed2" in rels
    root = (tmp_path / "runs").resolve()
    assert all(c.run_dir == root / c.rel_dir for c in cells)
    cmd = cells[-1].command()
    assert cmd[:4] == [sys.executable, "-m", "ackd_bench", "run"]
    assert cmd[cmd.index("--benchmark") + 1] == str((tmp_path / "bench b").resolve())
    assert cmd[cmd.index("--arch") + 1] == "resnet18:shufflenetv2_x0_5"
    assert cmd[cmd.index("--pairing") + 1] == "ssm"
    assert cmd[cmd.index("--seed") + 1] == "2"
    assert cmd[cmd.index("--epochs") + 1] == "1"
    assert "--no-dynm" in cmd and "--amp" not in cmd
    assert cmd[cmd.index("--config") + 1] == str((tmp_path / "c.yaml").resolve())  # relative to the grid file
    assert cmd[cmd.index("--out") + 1] == str(cells[-1].run_dir)
    assert cmd[-1] == "--resume"


def test_expand_is_deterministic_and_out_override(tmp_path, two_benches):
    path = full_grid(tmp_path, two_benches)
    first = expand(load_grid(path))
    assert first == expand(load_grid(path))
    other = expand(load_grid(path), out=tmp_path / "elsewhere")
    assert [c.rel_dir for c in other] == [c.rel_dir for c in first]
    assert other[0].run_dir == (tmp_path / "elsewhere").resolve() / first[0].rel_dir


def test_relative_paths_follow_the_grid_file(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "data" / "b1").mkdir(parents=True)
    path = write_grid(
        tmp_path / "cfg",
        benchmarks=["../data/b1"],
        methods=["student"],
        pairings=["random"],
        pairs=["S-S"],
        seeds=[0],
        out="../runs",
    )
    monkeypatch.chdir(tmp_path / "data")
    (cell,) = expand(load_grid(path))
    assert cell.benchmark == (tmp_path / "data" / "b1").resolve()
    assert cell.run_dir == (tmp_path / "runs" / "b1" / "student" / "random" / "S-S" / "seed0").resolve()


def test_sanitize():
    assert sanitize("kd+sembridge") == "kd+sembridge"
    assert sanitize("resnet18:shufflenetv2_x0_5") == "resnet18_shufflenetv2_x0_5"
    assert sanitize("../x y") == "_x_y"
    assert sanitize("..") == "_"


# ---------------------------------------------------------------- validation


BASE = dict(benchmarks=["b"], methods=["student"], pairings=["random"], pairs=["S-S"], seeds=[0], out="runs")


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"method": ["kd"]}, "unknown key(s) method"),
        ({"methods": []}, "'methods' is an empty list"),
        ({"seeds": 0}, "'seeds' must be a list"),
        ({"seeds": ["0"]}, "'seeds' items must be int"),
        ({"seeds": [True]}, "'seeds' items must be int"),
        ({"pairs": ["S-S", "S-S"]}, "'pairs' repeats S-S"),
        ({"pairs": ["a:b", "a_b"]}, "both map to folder 'a_b'"),
        ({"run_args": {"seed": 3}}, "may not set 'seed'"),
        ({"run_args": {"epochs": [1, 2]}}, "'run_args.epochs' must be"),
        ({"run_args": ["epochs"]}, "'run_args' must be a mapping"),
        ({"out": 3}, "'out' must be a folder path"),
        ({"slurm": {"partiton": "gpu"}}, "unknown key slurm.partiton"),
        ({"slurm": {"time": "ten minutes"}}, "slurm.time has a bad value"),
        ({"slurm": {"gpus_per_node": "1"}}, "slurm.gpus_per_node must be int"),
        ({"slurm": {"cluster": "pbs"}}, "slurm.cluster must be one of"),
        ({"benchmarks": ["missing"]}, "does not exist"),
    ],
)
def test_invalid_grid_is_one_line_config_error(tmp_path, change, problem):
    (tmp_path / "b").mkdir()
    path = write_grid(tmp_path, **{**BASE, **change})
    with pytest.raises(ConfigError) as info:
        expand(load_grid(path))
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert "\n" not in message


def test_missing_key_bad_yaml_and_missing_out(tmp_path):
    grid = {k: v for k, v in BASE.items() if k != "pairings"}
    with pytest.raises(ConfigError, match="missing key\\(s\\) pairings"):
        load_grid(write_grid(tmp_path, **grid))
    bad = tmp_path / "bad.yaml"
    bad.write_text("methods: [kd\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_grid(bad)
    (tmp_path / "b").mkdir()
    no_out = write_grid(tmp_path, "no_out.yaml", **{k: v for k, v in BASE.items() if k != "out"})
    with pytest.raises(ConfigError, match="set 'out' in the grid or pass --out"):
        expand(load_grid(no_out))
    assert expand(load_grid(no_out), out=tmp_path / "r")


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"methods": ["student", "kdd"]}, "unknown method 'kdd'"),
        ({"methods": ["kdd+sembridge"]}, "unknown method 'kdd+sembridge'"),
        ({"pairs": ["R-X"]}, "'pairs': unknown pair 'R-X'"),
        ({"pairs": ["resnet18:vit"]}, "unknown model 'vit'"),
        ({"pairings": ["random", "best"]}, "unknown pairing 'best'"),
    ],
)
def test_unknown_names_fail_before_running(tmp_path, change, problem):
    (tmp_path / "b").mkdir()
    path = write_grid(tmp_path, **{**BASE, **change})
    result = CliRunner().invoke(cli, ["sweep", str(path)])
    assert result.exit_code == 2
    assert f"error: {path}: " in result.output and problem in result.output
    assert not (tmp_path / "runs").exists()


def test_known_names_pass(tmp_path):
    (tmp_path / "b").mkdir()
    grid = {
        **BASE,
        "methods": ["kd", "sembridge", "dkd+sembridge"],
        "pairs": ["R-S", "resnet18:mobilenetv2"],
        "pairings": ["random", "oracle", "ssm", "ssm-free"],
    }
    result = CliRunner().invoke(cli, ["sweep", str(write_grid(tmp_path, **grid)), "--dry-run"])
    assert result.exit_code == 0, result.output
    # kd x {random, oracle} + 2 SemBridge methods x {ssm, ssm-free}, x 2 pairs; kd x ssm* and SemBridge x
    # random/oracle would be refused by `run`, so they are left out (and said so) instead of failing later
    assert result.output.splitlines()[-1] == "12 cells: 12 to run, 0 finished (skipped)"
    assert "left out: kd with pairing ssm (pairing ssm needs a +sembridge method)" in result.output
    assert (
        "left out: dkd+sembridge with pairing oracle (SemBridge pairs by its matcher (ssm, ssm-free))" in result.output
    )


def test_invalid_method_pairing_cells_are_left_out(tmp_path):
    from ackd_bench.sweep import expand, left_out

    (tmp_path / "b").mkdir()
    grid = load_grid(write_grid(tmp_path, **{**BASE, "methods": ["kd", "sembridge"], "pairings": ["random", "ssm"]}))
    assert [(c.method, c.pairing) for c in expand(grid)] == [("kd", "random"), ("sembridge", "ssm")]
    assert [(m, p) for m, p, _ in left_out(grid)] == [("kd", "ssm"), ("sembridge", "random")]
    # with --no-ssm SemBridge pairs randomly: then sembridge x random is the valid cell
    no_ssm = load_grid(
        write_grid(
            tmp_path, **{**BASE, "methods": ["sembridge"], "pairings": ["random", "ssm"], "run_args": {"no_ssm": True}}
        )
    )
    assert [(c.method, c.pairing) for c in expand(no_ssm)] == [("sembridge", "random")]
    nothing = load_grid(write_grid(tmp_path, **{**BASE, "methods": ["student"], "pairings": ["ssm"]}))
    with pytest.raises(ConfigError, match="no valid method/pairing combination"):
        expand(nothing)


def test_cli_reports_config_error_on_one_line(tmp_path):
    path = write_grid(tmp_path, **{**BASE, "colour": "blue"})
    result = CliRunner().invoke(cli, ["sweep", str(path)])
    assert result.exit_code == 2
    assert f"error: {path}: unknown key(s) colour" in result.output


def test_slurm_parsing_and_real_submitit_parameters(tmp_path):
    assert parse_minutes(90) == 90
    assert parse_minutes("1:30:00") == 90
    assert parse_minutes("1-00:00:00") == 1440
    assert parse_minutes("0:30") == 1  # MM:SS rounds up
    assert parse_mem_gb("32G") == 32 and parse_mem_gb("512M") == 0.5 and parse_mem_gb(8) == 8
    slurm = {
        "partition": "gpu",
        "time": "02:00:00",
        "gpus_per_node": 1,
        "cpus_per_task": 8,
        "mem": "32G",
        "array_parallelism": 16,
        "setup": ["module load cuda"],
    }
    params = submitit_parameters(slurm)
    assert params["timeout_min"] == 120 and params["mem_gb"] == 32 and params["slurm_partition"] == "gpu"
    assert params["slurm_array_parallelism"] == 16
    import submitit

    # the real AutoExecutor checks every name, the slurm_* ones included, even for the local cluster
    executor = submitit.AutoExecutor(folder=tmp_path / "submitit", cluster="local")
    executor.update_parameters(**params)
    with pytest.raises(NameError):
        executor.update_parameters(slurm_partitio="gpu")


# ---------------------------------------------------------------- dry run and status


def test_is_finished(tmp_path):
    assert not is_finished(tmp_path)
    (tmp_path / "result.json").write_text('{"schema_version": 1', encoding="utf-8")
    assert not is_finished(tmp_path)
    (tmp_path / "result.json").write_text("[]", encoding="utf-8")
    assert not is_finished(tmp_path)
    (tmp_path / "result.json").write_text('{"schema_version": 1}', encoding="utf-8")
    assert is_finished(tmp_path)


def test_dry_run_lists_cells_and_commands_and_writes_nothing(tmp_path):
    (tmp_path / "b").mkdir()
    path = write_grid(tmp_path, **{**BASE, "seeds": [0, 1], "run_args": {"epochs": 1}})
    done = tmp_path / "runs" / "b" / "student" / "random" / "S-S" / "seed1"
    done.mkdir(parents=True)
    (done / "result.json").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(cli, ["sweep", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "run  b/student/random/S-S/seed0" in lines
    assert "skip b/student/random/S-S/seed1" in lines
    commands = [line for line in lines if line.startswith("  $ ")]
    assert len(commands) == 1
    assert "--seed 0" in commands[0] and "--epochs 1" in commands[0] and commands[0].endswith("--resume")
    assert lines[-1] == "2 cells: 1 to run, 1 finished (skipped)"
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["b"]  # no status file, no new folders
    assert not (tmp_path / "runs" / "b" / "student" / "random" / "S-S" / "seed0").exists()

    slurm = write_grid(tmp_path, "s.yaml", **{**BASE, "slurm": {"partition": "gpu", "time": 30}})
    result = CliRunner().invoke(cli, ["sweep", str(slurm), "--dry-run", "--executor", "slurm"])
    assert result.exit_code == 0, result.output
    assert "'slurm_partition': 'gpu'" in result.output and "'timeout_min': 30" in result.output


def test_status_keeps_earlier_submissions(tmp_path):
    (tmp_path / "b").mkdir()
    grid = load_grid(write_grid(tmp_path, **{**BASE, "seeds": [0, 1]}))
    cells = expand(grid)
    sweep = Sweep(grid, cells, (tmp_path / "runs").resolve())
    sweep.statuses[cells[0].rel_dir].submit = {"state": "accepted", "result_sha256": "x"}
    sweep.write_status()
    status = json.loads(sweep.status_path.read_text())
    assert status["counts"] == {"pending": 2, "skipped": 0, "done": 0, "failed": 0, "busy": 0}
    assert [c["log"] for c in status["cells"]] == [f"{c.rel_dir}.sweep.log" for c in cells]
    again = Sweep(grid, cells, sweep.out)
    assert again.statuses[cells[0].rel_dir].submit == {"state": "accepted", "result_sha256": "x"}
    assert again.statuses[cells[1].rel_dir].submit is None


def test_example_grid_is_valid():
    from ackd_bench.sweep import check_names

    grid = load_grid(Path(__file__).resolve().parents[1] / "examples" / "grid.yaml")
    check_names(grid)
    assert len(grid.benchmarks) * len(grid.methods) * len(grid.pairings) * len(grid.pairs) * len(grid.seeds) == 36
    assert submitit_parameters(grid.slurm)["timeout_min"] == 240


def test_slurm_without_a_cluster_is_an_error_before_writing(tmp_path):
    if shutil.which("srun"):
        pytest.skip("this machine has SLURM")
    (tmp_path / "b").mkdir()
    path = write_grid(tmp_path, **BASE)
    result = CliRunner().invoke(cli, ["sweep", str(path), "--executor", "slurm"])
    assert result.exit_code == 2
    assert "error: cannot use submitit cluster 'slurm'" in result.output
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------- end to end: real CLI, real engine


def ackd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ackd_bench", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def bench(default_bench) -> Path:
    """The default benchmark (the shipped EuroSAT sample), built once per session (conftest.py)."""
    return default_bench


def tiny_grid(tmp_path: Path, benchmarks: list[str], seeds: list[int], **extra) -> Path:
    """student on S-S for 1 epoch, with a 1-epoch teacher (a config file, relative to the grid)."""
    (tmp_path / "tiny.yaml").write_text("teacher: {epochs: 1}\n", encoding="utf-8")
    run_args = {"profile": "fast", "epochs": 1, "device": "cpu", "config": "tiny.yaml", "quiet": True}
    return write_grid(
        tmp_path,
        benchmarks=benchmarks,
        methods=["student"],
        pairings=["random"],
        pairs=["S-S"],
        seeds=seeds,
        run_args=run_args,
        out="runs",
        **extra,
    )


def status_of(out: Path) -> dict:
    return json.loads((out / "sweep_status.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_local_sweep_runs_then_skips_finished_cells(tmp_path, bench):
    grid = tiny_grid(tmp_path, [str(bench)], [0, 1])
    proc = ackd("sweep", str(grid), "--workers", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = tmp_path / "runs" / bench.name / "student" / "random" / "S-S"
    results = [runs / f"seed{k}" / "result.json" for k in (0, 1)]
    for k, path in enumerate(results):
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["seed"] == k and record["method"] == "student" and record["epochs"] == 1
        log = runs / f"seed{k}.sweep.log"
        assert log.read_text().startswith("# ackd-bench sweep: ")
        assert log.read_text().rstrip().endswith("# exit code 0")
    status = status_of(tmp_path / "runs")
    assert status["counts"]["done"] == 2 and status["counts"]["failed"] == 0
    assert {c["state"] for c in status["cells"]} == {"done"}

    before = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in results]
    proc = ackd("sweep", str(grid), "--workers", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 finished (skipped), 0 to run" in proc.stdout
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in results] == before
    assert status_of(tmp_path / "runs")["counts"]["skipped"] == 2
    assert ackd("sweep", str(grid), "--dry-run").stdout.count(f"skip {bench.name}/") == 2


@pytest.mark.slow
def test_failing_cell_is_listed_with_its_log(tmp_path, bench):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "benchmark.json").write_text("{not json", encoding="utf-8")
    proc = ackd("sweep", str(tiny_grid(tmp_path, ["broken"], [0])))
    assert proc.returncode == 1
    log = (tmp_path / "runs" / "broken" / "student" / "random" / "S-S" / "seed0.sweep.log").resolve()
    failed = [line for line in proc.stderr.splitlines() if line.startswith("FAILED ")]
    assert len(failed) == 1
    assert failed[0].startswith("FAILED broken/student/random/S-S/seed0 (exit 2): error: ")
    assert failed[0].endswith(f"log: {log}")
    (cell,) = status_of(tmp_path / "runs")["cells"]
    assert cell["state"] == "failed" and cell["returncode"] == 2 and cell["message"].startswith("error: ")
    assert not (log.parent / "seed0" / "result.json").exists()


@pytest.mark.slow
def test_slurm_path_with_submitit_local_executor(tmp_path, bench):
    grid = tiny_grid(tmp_path, [str(bench)], [3], slurm={"cluster": "local", "time": 20, "cpus_per_task": 1})
    proc = ackd("sweep", str(grid), "--executor", "slurm")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "submitted job array" in proc.stdout
    assert is_finished(tmp_path / "runs" / bench.name / "student" / "random" / "S-S" / "seed3")
    status = status_of(tmp_path / "runs")
    assert status["executor"] == "slurm" and status["counts"]["done"] == 1
    assert list((tmp_path / "runs" / ".submitit").glob("*_result.pkl"))


@pytest.mark.slow
def test_sweep_submits_and_replaces_only_when_asked(tmp_path, bench):
    grid = tiny_grid(tmp_path, [str(bench)], [0])
    proc = ackd("sweep", str(grid), "--submit", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "submit accepted" in proc.stdout
    stored = list((tmp_path / "leaderboard" / "submissions").rglob("result.json"))
    assert len(stored) == 1
    # the same cell run again into another folder: its record has the key of the stored one
    proc = ackd("sweep", str(grid), "--submit", "--out", "again", cwd=tmp_path)
    assert proc.returncode == 1 and "REFUSED" in proc.stderr
    proc = ackd("sweep", str(grid), "--submit", "--replace", "--out", "again", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "submit accepted" in proc.stdout
    assert list((tmp_path / "leaderboard" / "submissions").rglob("result.json")) == stored
