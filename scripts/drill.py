#!/usr/bin/env python3
"""The adding-a-provider drill: for each provider in the registry, the files of shipping code that
name it outside its homes. The target is 0 (docs/adding-a-provider.md).

A provider's homes are its crate (functions/<name>/), its fixtures (tests/fixtures/<name>/ and
tests/fixtures/vectors/<name>*.json), its sample Lambda events (events/<name>/), the registry (cli/src/registry.rs, cli/Cargo.toml) and the
SAM application (template.yaml, samconfig.toml, env.json). Products of one vendor form a family (the part of
the name before the first '-', e.g. the two Alocity products): they may share a scheme module in
shared/ named after the vendor (shared/src/<vendor>.rs, shared/src/verify/<vendor>.rs, declared by
`pub mod <vendor>;`), and each family crate may name the vendor. A provider alone in its family
has no such module: its scheme lives in its crate.

Shipping code is every tracked file except documentation (*.md), lock files, and tests and
benchmarks (tests/, */tests/, bench/, fuzz/, Rust `#[cfg(test)]` modules, shared/src/testing*):
those name providers to test or measure them, and are listed separately, not counted. Comments
are not code.

    python3 scripts/drill.py           # the report
    python3 scripts/drill.py --check   # and exit 1 unless every count is 0
    python3 scripts/drill.py --self-test   # the rules above, on made-up files
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import registry  # noqa: E402

REGISTRY_FILES = {"cli/src/registry.rs", "cli/Cargo.toml"}
SAM_FILES = {"template.yaml", "samconfig.toml", "env.json"}
NOT_CODE = (".md", ".lock", ".png", ".svg")
TEST_PREFIXES = ("tests/", "bench/", "fuzz/", "shared/src/testing")
LINE_COMMENT = {".rs": "//", ".py": "#", ".sh": "#", ".toml": "#", ".yaml": "#", ".yml": "#", "": "#"}


def family(name: str) -> str:
    return name.split("-", 1)[0]


def pattern(name: str, names: list[str]) -> re.Pattern[str]:
    """`name` in any spelling (alocity-selfie, alocity_selfie, AlocitySelfie, ALOCITY_SELFIE), not
    as the start of a longer provider name."""
    spell = lambda text: r"[-_ ]?".join(re.escape(part) for part in text.split("-"))  # noqa: E731
    longer = [other[len(name):] for other in names if other != name and other.startswith(name)]
    ahead = "".join(f"(?![-_ ]?{spell(rest.lstrip('-'))})" for rest in longer)
    return re.compile(spell(name) + ahead, re.IGNORECASE)


def is_test(path: str) -> bool:
    return path.startswith(TEST_PREFIXES) or "/tests/" in path


def is_home(path: str, name: str, names: list[str]) -> bool:
    if path in REGISTRY_FILES or path in SAM_FILES:
        return True
    vendor = family(name)
    kin = [other for other in names if family(other) == vendor]
    for crate in kin:
        if path.startswith((f"functions/{crate}/", f"tests/fixtures/{crate}/", f"events/{crate}/")):
            return True
    if path.startswith("tests/fixtures/vectors/") and Path(path).name.startswith(name):
        return True
    return shares_scheme(name, names) and path in (f"shared/src/{vendor}.rs", f"shared/src/verify/{vendor}.rs")


def shares_scheme(name: str, names: list[str]) -> bool:
    """Whether `name` is one of several products of its vendor (only those share a scheme module)."""
    return sum(family(other) == family(name) for other in names) > 1


def declares_family_module(path: str, line: str, name: str, names: list[str]) -> bool:
    """`pub mod <vendor>;` in shared/: the declaration of a family's shared scheme module."""
    return (shares_scheme(name, names) and path.startswith("shared/src/")
            and line.strip() == f"pub mod {family(name)};")


def code_lines(path: str, text: str) -> list[str]:
    """The lines of code: comments removed, and a Rust file's `#[cfg(test)]` module."""
    suffix = Path(path).suffix
    if suffix == ".rs":
        lines = text.splitlines()
        for at, line in enumerate(lines):
            if line.strip() == "#[cfg(test)]" and at + 1 < len(lines) and lines[at + 1].startswith("mod tests"):
                text = "\n".join(lines[:at])
                break
    marker = LINE_COMMENT.get(suffix, "#" if Path(path).name in ("Makefile",) else None)
    out = []
    for line in text.splitlines():
        if marker:
            line = re.sub(rf"(^|\s){re.escape(marker)}.*$", "", line)
        if line.strip():
            out.append(line)
    return out


def mentions(path: str, text: str, names: list[str]) -> dict[str, int]:
    """How often `path` (with content `text`) names each provider outside that provider's homes."""
    lines = code_lines(path, text)
    found = {}
    for name in names:
        if is_home(path, name, names):
            continue
        hits = sum(len(pattern(name, names).findall(line)) for line in lines
                   if not declares_family_module(path, line, name, names))
        if hits:
            found[name] = hits
    return found


def scan() -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    names = [provider["name"] for provider in registry.providers()]
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    counted: dict[str, dict[str, int]] = {name: {} for name in names}
    tests: dict[str, dict[str, int]] = {name: {} for name in names}
    for path in files:
        if path.endswith(NOT_CODE) or path.startswith("docs/") or path == "scripts/drill.py":
            continue
        try:
            text = (ROOT / path).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for name, hits in mentions(path, text, names).items():
            (tests if is_test(path) else counted)[name][path] = hits
    return counted, tests


def self_test() -> None:
    """The drill can fail: each rule on small made-up files, with made-up provider names."""
    names = ["acme-widgets", "acme", "zeta"]
    cases = [
        # (path, text, expected mentions)
        ("shared/src/x.rs", 'match p { "zeta" => 1 }', {"zeta": 1}),
        ("shared/src/x.rs", "// zeta in a comment\nlet a = 1; // and zeta again", {}),
        ("shared/src/x.rs", "fn f() {}\n#[cfg(test)]\nmod tests { const P: &str = \"zeta\"; }", {}),
        ("cli/src/y.rs", "use acme_widgets::CATALOG; let _ = AcmeWidgets; ZETA_SETTING", {"acme-widgets": 2, "zeta": 1}),
        ("cli/src/y.rs", 'let vendor = "acme";', {"acme": 1}),
        ("functions/zeta/src/lib.rs", 'const NAME: &str = "zeta";', {}),
        ("functions/acme-widgets/src/lib.rs", "use webhook_core::acme::Envelope;", {}),
        ("functions/acme-widgets/src/lib.rs", 'let other = "zeta";', {"zeta": 1}),
        ("shared/src/acme.rs", 'pub const NAME: &str = "acme";', {}),
        ("shared/src/lib.rs", "pub mod acme;\npub mod zeta;", {"zeta": 1}),
        ("shared/src/zeta.rs", 'pub const NAME: &str = "zeta";', {"zeta": 1}),
        ("cli/src/registry.rs", "&zeta::CATALOG,", {}),
        ("template.yaml", "ZetaFunction:", {}),
        ("events/zeta/alb.json", '{"path": "/webhooks/zeta"}', {}),
        ("events/acme-widgets/alb.json", '{"acme": 1, "zeta": 2}', {"zeta": 1}),
        ("Makefile", "build:\n\tcargo build -p zeta-webhook  # zeta", {"zeta": 1}),
        ("scripts/x.py", "print('zeta')  # zeta", {"zeta": 1}),
    ]
    for path, text, expected in cases:
        got = mentions(path, text, names)
        assert got == expected, f"{path}: {text!r}: expected {expected}, got {got}"
    assert is_test("functions/zeta/tests/vectors.rs") and is_test("tests/e2e/conftest.py")
    assert not is_test("cli/src/send.rs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 unless every count is 0")
    parser.add_argument("--self-test", action="store_true", help="check the drill's own rules, then exit")
    args = parser.parse_args(argv)
    if args.self_test:
        self_test()
        print("drill self-test: ok")
        return 0
    counted, tests = scan()
    width = max(len(name) for name in counted)
    print("provider mentions in shipping code outside the provider's homes (target 0):")
    total = 0
    for name, files in counted.items():
        mentions = sum(files.values())
        total += mentions
        listed = ", ".join(f"{path} ({hits})" for path, hits in sorted(files.items()))
        print(f"  {name:<{width}}  {mentions}" + (f"  {listed}" if listed else ""))
    print(f"  {'total':<{width}}  {total}")
    print("tests and benchmarks naming a provider to test or measure it (not counted):")
    for name, files in tests.items():
        print(f"  {name:<{width}}  {len(files)} files, {sum(files.values())} mentions")
    return 1 if args.check and total else 0


if __name__ == "__main__":
    sys.exit(main())
