#!/usr/bin/env python3
"""Import cycles between the modules of each crate of the workspace (the rule in STYLE.md: no two
modules of a crate import each other; a shared fact goes into a leaf module both use).

A module imports another when its code (outside `#[cfg(test)]` modules and comments) names a
path into it: `use crate::a::b`, `crate::a::b::f()`, `super::x`, or, in a `use`, a child module
(`pub use child::Item`). Each cycle is printed with its modules; exit status 1 when there is one.

    python3 scripts/module_cycles.py [CRATE_DIR ...]   # default: every workspace crate
    python3 scripts/module_cycles.py --self-test       # the rules above, on made-up crates
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CRATES = ["shared", "cli", "pyjson", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "functions").iterdir() if p.is_dir())]
PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M)


def module_of(src: Path, file: Path) -> tuple[str, ...]:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return tuple(parts)


def code(text: str) -> str:
    lines = text.splitlines()
    for at, line in enumerate(lines):
        if line.strip() == "#[cfg(test)]" and at + 1 < len(lines) and lines[at + 1].startswith("mod tests"):
            lines = lines[:at]
            break
    return "\n".join(re.sub(r"//.*$", "", line) for line in lines)


def resolve(modules: set[tuple[str, ...]], here: tuple[str, ...], head: str, rest: list[str]) -> tuple[str, ...] | None:
    base = {"crate": (), "self": here, "super": here[:-1]}[head]
    while rest and rest[0] == "super":
        base, rest = base[:-1], rest[1:]
    best = None
    for n in range(len(rest) + 1):
        candidate = base + tuple(rest[:n])
        if candidate in modules:
            best = candidate
    return best


def edges_of(modules: set[tuple[str, ...]], here: tuple[str, ...], text: str) -> set[tuple[str, ...]]:
    found = set()
    for head, tail in PATH.findall(text):
        target = resolve(modules, here, head, tail.strip(":").split("::"))
        if target is not None:
            found.add(target)
    for use in USE.findall(text):
        first = re.split(r"::|\s|\{", use.strip(), maxsplit=1)[0]
        if here + (first,) in modules:
            found.add(here + (first,))
    found.discard(here)
    return found


def cycles(crate: Path) -> list[list[str]]:
    src = crate / "src"
    files = {module_of(src, f): f for f in src.rglob("*.rs")}
    modules = set(files)
    graph = {m: edges_of(modules, m, code(f.read_text(encoding="utf-8"))) for m, f in files.items()}
    # Tarjan's strongly connected components.
    index: dict = {}
    low: dict = {}
    stack: list = []
    on: set = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(m):
        index[m] = low[m] = counter[0]
        counter[0] += 1
        stack.append(m)
        on.add(m)
        for n in graph[m]:
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in on:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            component = []
            while True:
                n = stack.pop()
                on.discard(n)
                component.append("::".join(n) or "(crate root)")
                if n == m:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for m in sorted(graph):
        if m not in index:
            visit(m)
    return found


def self_test() -> None:
    """The check can fail: small made-up crates with and without cycles."""
    import tempfile

    crates = {
        # Siblings that import each other, by crate path and by super path.
        "siblings": {"lib.rs": "pub mod a;\npub mod b;", "a.rs": "use crate::b::B;",
                     "b.rs": "pub fn f() { super::a::g() }"},
        # A parent that re-exports its child, and the child that imports the parent.
        "parent": {"lib.rs": "pub mod store;", "store/mod.rs": "pub mod put;\npub use put::Put;\npub struct Item;",
                   "store/put.rs": "use super::Item;"},
        # Leaves both use, tests importing their parent, comments naming a cycle: no cycle.
        "leaf": {"lib.rs": "pub mod a;\npub mod b;\npub mod fact;", "a.rs": "use crate::fact::F; // crate::b",
                 "b.rs": "use crate::fact::F;\n#[cfg(test)]\nmod tests {\n    use crate::a::*;\n}", "fact.rs": "pub struct F;"},
    }
    expected = {"siblings": [["a", "b"]], "parent": [["store", "store::put"]], "leaf": []}
    with tempfile.TemporaryDirectory() as scratch:
        for name, files in crates.items():
            for file, text in files.items():
                path = Path(scratch) / name / "src" / file
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
            found = cycles(Path(scratch) / name)
            assert found == expected[name], f"{name}: expected {expected[name]}, found {found}"


def main(argv: list[str]) -> int:
    if argv[1:] == ["--self-test"]:
        self_test()
        print("module cycle self-test: ok")
        return 0
    crates = [ROOT / c for c in (argv[1:] or DEFAULT_CRATES)]
    bad = 0
    for crate in crates:
        for cycle in cycles(crate):
            bad += 1
            print(f"{crate.relative_to(ROOT)}: modules import each other: {', '.join(cycle)}")
    print(f"module import cycles: {bad} in {len(crates)} crates")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
