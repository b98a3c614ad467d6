"""The package's architecture, read from its source: stages import only from earlier stages.

The stages, in order (model/__init__.py says the same): `errors`, `files`, `world`, `scenarios`,
`ensemble`, `calibration`, `outputs`, then `cli` on top. Every import counts, those made only
for type hints (`if TYPE_CHECKING:`) and those inside functions included: a type hint that
names a later stage is a dependency on it all the same.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "model"
NAME = "labor_stocks"
STAGES = ("errors", "files", "world", "scenarios", "ensemble", "calibration", "outputs", "cli")
"""Earlier stages first; `__init__` and `__main__` of the package may import anything."""
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([NAME, *parts])


def imports(path: Path) -> set[str]:
    """Every module of the package that `path` imports, resolved to its full dotted name."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith(NAME):
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(NAME))
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {name for name in found if name in modules and name != here}


def stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else None


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def test_no_module_imports_from_a_later_stage():
    wrong = []
    for module, targets in graph().items():
        mine = stage(module)
        if mine is None:
            continue
        for target in targets:
            theirs = stage(target)
            if theirs is not None and theirs > mine:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports from a later stage: " + "; ".join(sorted(wrong))


def test_no_import_cycles():
    edges = {m: {t for t in ts if not t.endswith("__init__")} for m, ts in graph().items()}
    # package __init__ modules re-export and are not part of a stage's logic
    edges = {m: ts for m, ts in edges.items() if stage(m) is not None}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if target not in edges:
                continue
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target):] + [target]) if target in path else target)
            elif state.get(target) is None:
                visit(target, [*path, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(cycles)


def test_the_checker_sees_a_cycle_and_a_backward_import(tmp_path, monkeypatch):
    """The two tests above would catch what they promise (a checker that sees nothing is no check)."""
    package = tmp_path / "model"
    for folder in ("world", "outputs"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "world" / "a.py").write_text("from . import b\nfrom typing import TYPE_CHECKING\n"
                                            "if TYPE_CHECKING:\n    from ..outputs.plot import x\n")
    (package / "world" / "b.py").write_text("from .a import y\n")
    (package / "outputs" / "plot.py").write_text("x = 1\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    import pytest

    with pytest.raises(AssertionError, match="world.a imports labor_stocks.outputs.plot"):
        test_no_module_imports_from_a_later_stage()
    with pytest.raises(AssertionError, match="import cycles"):
        test_no_import_cycles()


def test_no_module_is_over_600_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"
