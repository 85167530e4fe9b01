"""The package's layout: imports between its modules form no cycle, no module grows past the size where it
should be split, and the stages import only downward."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "qa"
MAX_LINES = 400

# Each stage may import from the stages listed after it, never from one before it.
STAGES = ["cli", "serving", "evaluation", "api", "records", "judge", "reader", "search", "index", "encoder", "documents",
          "types", "errors"]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The package's modules this one imports, at any depth of its code (imports inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import (write it absolute, qa.<stage>.<module>)"
            base = node.module or ""
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in known else base)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in known}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    # importing qa.x.y runs qa/x/__init__.py; a package's own __init__ importing its modules is not a cycle
    return {name: {m for m in imports_of(path, known) if m != name and not name.startswith(m + ".")
                   and m != "qa"}
            for name, path in mods.items()}


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(g[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state and (c := visit(n)):
            return c
    return None


def stage_of(module: str) -> str:
    return module.split(".")[1] if module != "qa" else "qa"


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_modules():
    assert find_cycle(graph()) is None


def test_stages_import_only_downward():
    upward = []
    for name, deps in graph().items():
        here = stage_of(name)
        if here not in STAGES:
            continue
        for dep in deps:
            there = stage_of(dep)
            if there != here and there in STAGES and STAGES.index(there) < STAGES.index(here):
                upward.append(f"{name} -> {dep}")
    assert not upward, upward


def test_every_module_belongs_to_a_stage():
    assert {stage_of(m) for m in modules()} - set(STAGES) == {"qa"}


def test_no_module_is_too_long():
    long = {str(p.relative_to(ROOT)): n for p in [*PACKAGE.rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long
