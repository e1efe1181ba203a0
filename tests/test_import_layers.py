"""The dependency rule of docs/ARCHITECTURE.md: a module imports only from its own layer or the layers below it.

Every `import` / `from ... import` of every module under ackd_bench/ counts, including those inside functions
(a function-level import is no way around the rule). Parsed with `ast`; nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ackd_bench"

# Lowest first. A module belongs to the longest entry that prefixes its dotted name (after `ackd_bench.`).
LAYERS: tuple[tuple[str, ...], ...] = (
    # "" = the package root (`__version__`)
    ("", "errors", "io", "registry", "config", "runtime", "result_record", "result_schema"),
    ("data", "retrieval", "transport", "transport_costs"),
    ("models",),
    ("methods",),
    ("fidelity",),
    ("engine",),
    ("report",),
    ("sweep",),
    ("study",),
    ("cli", "__main__"),
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def layer_of(module: str) -> int:
    """Rank of `ackd_bench.X.Y...` (its top-level unit X); the root package is the base layer."""
    parts = module.split(".")
    unit = parts[1] if len(parts) > 1 else ""
    if unit not in RANK:
        raise AssertionError(
            f"{module}: not in any layer of tests/test_import_layers.py (add it, and to docs/ARCHITECTURE.md)"
        )
    return RANK[unit]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every ackd_bench import in `path`, at any depth of the tree."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            # `from ackd_bench import io` names a module; `from ackd_bench import __version__` the root
            targets = (
                [f"{name}.{a.name}" if _is_module(a.name) else name for a in node.names]
                if name == "ackd_bench"
                else [name]
            )
            out += [(node.lineno, t) for t in targets]
    return [(line, name) for line, name in out if name == "ackd_bench" or name.startswith("ackd_bench.")]


def _is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").exists() or (PACKAGE / name / "__init__.py").exists()


def upward_imports() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        own = layer_of(module)
        for line, target in imported_modules(path, module):
            if layer_of(target) > own:
                bad.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {module} (layer {own}) imports {target} "
                    f"(layer {layer_of(target)})"
                )
    return bad


def test_no_module_imports_a_higher_layer():
    assert upward_imports() == []


def test_methods_never_import_the_engine():
    for path in sorted((PACKAGE / "methods").rglob("*.py")):
        for line, target in imported_modules(path, module_name(path)):
            assert not target.startswith("ackd_bench.engine"), f"{path}:{line} imports {target}"


@pytest.mark.parametrize(
    "source, target, upward",
    [
        ("from ackd_bench.engine.run import run\n", "ackd_bench.engine.run", True),
        ("def f():\n    from ackd_bench.report import stats\n", "ackd_bench.report", True),
        ("import ackd_bench.models.base as b\n", "ackd_bench.models.base", False),
        ("from ackd_bench import config\n", "ackd_bench.config", False),
    ],
)
def test_checker_sees_every_import_form(tmp_path, source, target, upward):
    """The checker itself: function-level, `import x.y as z` and `from ackd_bench import m` forms all count."""
    path = tmp_path / "mod.py"
    path.write_text(source, encoding="utf-8")
    found = [t for _, t in imported_modules(path, "ackd_bench.methods.mod")]
    assert found == [target]
    assert (layer_of(target) > layer_of("ackd_bench.methods.mod")) is upward
