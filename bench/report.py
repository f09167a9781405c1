#!/usr/bin/env python3
"""Write bench/REPORT.md from the results `make bench` leaves under bench/target/.

Verification: criterion's criterion/<group>/<impl>/<size>/new/estimates.json for the groups and
implementations that benches/verify.rs measures. Start-up, overhead, size and cost:
startup.json (startup/harness.py), pipeline.json (benches/pipeline.rs), peer_overhead.json
(peer/overhead.py), sizes.json (startup/sizes.py) and memory.json (memory.py), rendered by startup/report_sections.py.
All of them under the results directory (bench/target/ by default; `make bench-smoke` points it
at the smoke run's startup.json alone). Adds the machine, the toolchain and the date; a part
whose results are missing says so. Standard library only.
Usage: python3 bench/report.py [--results-dir DIR] [--out PATH] [--source TEXT] [--verification-only]
(--verification-only: replace just the verification section of an existing --out, after running
`cargo bench --bench verify` alone.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "startup"))
import report_sections  # noqa: E402

SIZES = [256, 1024, 16 * 1024, 64 * 1024]
MIB = 1024 * 1024
# Issue 10's bar, for the schemes that MAC the body as received (Alocity, Amani raw): ours/ring
# (keyed per call) >= 0.8x up to 1 KiB and >= 0.95x from 16 KiB, and ours/svix >= 3x. The json.dumps
# fallback re-serialises the body and MACs twice by design; it and the bearer token are reported
# without a target, as is ours/ring pre-keyed (the floor).
TARGET_SVIX = 3.0
BAR_GROUPS = ("alocity", "amani-raw")


def target_ring(size: int) -> float:
    return 0.8 if size <= 1024 else 0.95


# (criterion group, title, group whose ring/svix baselines apply, what "ours" does)
SCHEMES = [
    (
        "alocity",
        "Alocity `Alocity-Signature`",
        "alocity",
        "header parse (`split` / `split_once`), base64 decode, 1 HMAC over `<t>.<body>`, "
        "`hmac::Mac::verify_slice`",
    ),
    (
        "amani-raw",
        "Amani `Webhook-Signature`, raw-bytes path",
        "amani-raw",
        "base64 decode, 1 HMAC over the body as received, `hmac::Mac::verify_slice`",
    ),
    (
        "amani-dumps",
        "Amani `Webhook-Signature`, `json.dumps` fallback",
        "amani-dumps",
        "the body arrives compact, signed over its `json.dumps` form with the current secret: 1 "
        "failing HMAC over the raw bytes, `pyjson::python_dumps` (parse into a value, write it "
        "as `json.dumps` does), 1 HMAC over the result",
    ),
    (
        "faceio-bearer",
        "FACEIO bearer token",
        "amani-raw",
        "header lookup, `Bearer` parse, constant-time compare against the candidates; "
        "no MAC, the body is not read (baselines: the `amani-raw` ones, an HMAC over the body)",
    ),
]


class CriterionResults:
    """criterion's results: <root>/<group>/<impl>/<size>/new/*.json."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _load(self, group: str, impl: str, size: int, name: str) -> dict | None:
        path = self.root / group / impl / str(size) / "new" / name
        return json.loads(path.read_text()) if path.is_file() else None

    def ns(self, group: str, impl: str, size: int) -> float | None:
        """Median time per iteration."""
        data = self._load(group, impl, size, "estimates.json")
        return None if data is None else data["median"]["point_estimate"]

    def samples(self, group: str, impl: str, size: int) -> int | None:
        data = self._load(group, impl, size, "sample.json")
        return None if data is None else len(data["iters"])


def mibs(size: int, nanos: float | None) -> str:
    return "n/a" if nanos is None else f"{size / MIB / (nanos * 1e-9):,.0f}"


def ratio(ours: float | None, other: float | None) -> float | None:
    # throughput ours / throughput other = time other / time ours
    return None if ours is None or other is None else other / ours


def fmt_ratio(value: float | None, target: float | None = None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.2f}×"
    if target is not None and value < target:
        text = f"**{text}**"
    return text


def fmt_size(size: int) -> str:
    return f"{size // 1024} KiB" if size >= 1024 else f"{size} B"


def fmt_time(nanos: float | None) -> str:
    if nanos is None:
        return "n/a"
    return f"{nanos / 1000:.2f} µs" if nanos >= 1000 else f"{nanos:.0f} ns"


def run(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> list[str]:
    fields = {}
    for line in run("lscpu").splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    mem = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        match = re.search(r"MemTotal:\s+(\d+) kB", meminfo.read_text())
        if match:
            mem = f"{int(match.group(1)) / MIB:.1f} GiB"
    flags = fields.get("Flags", "").split()
    accel = [f for f in ("sha_ni", "avx2", "avx512f") if f in flags]
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").is_file() else []
    return [
        f"- CPU: {fields.get('Model name', 'unknown')} ({fields.get('Architecture', platform.machine())}), "
        f"{fields.get('CPU(s)', os.cpu_count())} logical CPUs, "
        f"{fields.get('Thread(s) per core', '?')} thread(s) per core, "
        f"{fields.get('Core(s) per socket', '?')} core(s) per socket; "
        f"hypervisor: {fields.get('Hypervisor vendor', 'none')}",
        f"- CPU features used by SHA-256 code: {', '.join(accel) or 'none of sha_ni/avx2/avx512f'}",
        f"- Memory: {mem}; kernel {platform.release()}",
        f"- Load average when the report was written (1/5/15 min): {' / '.join(load) or 'unknown'}"
        " — other work on the machine during the run shows up here",
    ]


def crate_versions() -> str:
    lock = HERE / "Cargo.lock"
    if not lock.is_file():
        return "unknown"
    packages = tomllib.loads(lock.read_text()).get("package", [])
    wanted = ["svix", "hmac-sha256", "ring", "hmac", "sha2", "criterion"]
    found = []
    for name in wanted:
        versions = sorted({p["version"] for p in packages if p["name"] == name})
        if versions:
            found.append(f"`{name}` {', '.join(versions)}")
    return ", ".join(found)


def scheme_table(criterion: CriterionResults, group: str, base: str) -> tuple[list[str], list[str]]:
    lines = [
        "| body | ours (median) | ours MiB/s | ring MiB/s | ring pre-keyed MiB/s | svix MiB/s "
        "| ours/ring | ours/ring pre-keyed | ours/svix |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    misses = []
    barred = group in BAR_GROUPS
    for size in SIZES:
        ours = criterion.ns(group, "ours", size)
        ring = criterion.ns(base, "ring", size)
        prekeyed = criterion.ns(base, "ring-prekeyed", size)
        svix = criterion.ns(base, "svix", size)
        r_ring = ratio(ours, ring)
        r_pre = ratio(ours, prekeyed)
        r_svix = ratio(ours, svix)
        ring_bar = target_ring(size) if barred else None
        svix_bar = TARGET_SVIX if barred else None
        lines.append(
            f"| {fmt_size(size)} | {fmt_time(ours)} | {mibs(size, ours)} | {mibs(size, ring)} "
            f"| {mibs(size, prekeyed)} | {mibs(size, svix)} | {fmt_ratio(r_ring, ring_bar)} "
            f"| {fmt_ratio(r_pre)} | {fmt_ratio(r_svix, svix_bar)} |"
        )
        if not barred:
            continue
        # A ratio without both results is not measured, so not met.
        for name, value, target in (("ring", r_ring, ring_bar), ("svix", r_svix, svix_bar)):
            if value is None:
                misses.append(f"{fmt_size(size)}: ours/{name} not measured")
            elif value < target:
                misses.append(f"{fmt_size(size)}: ours/{name} {value:.2f}× < {target}×")
    return lines, misses


def source() -> str:
    commit = run("git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD")
    dirty = run("git", "-C", str(HERE.parent), "status", "--porcelain", "--", "shared", "functions",
                "Cargo.toml", "Cargo.lock")
    return f"commit {commit}" + (" with uncommitted changes in shared/ or functions/" if dirty else "")


def load_json(results_dir: Path, name: str) -> dict | None:
    path = results_dir / name
    return json.loads(path.read_text()) if path.is_file() else None


def verification_section(criterion: CriterionResults) -> list[str]:
    if criterion.ns("alocity", "ours", SIZES[0]) is None:
        return ["## Verification micro-benchmarks", "", f"No criterion results under {criterion.root}.", ""]
    sample_count = criterion.samples("alocity", "ours", SIZES[0])
    out = [
        "## Verification micro-benchmarks",
        "",
        "Each row: our full verify through the public functions (two candidate secrets, the "
        "current one first and matching) against a bare HMAC-SHA256 verify by `ring` over exactly "
        "the signed bytes (**ring**: key schedule + MAC + compare per call; **ring pre-keyed**: the "
        "key schedule done once, the absolute floor) and `svix`'s `Webhook::verify` on the same "
        "body signed by `Webhook::sign`. Throughput is wire-body bytes per second of the median "
        "time; a ratio is ours' throughput over the other's (time other / time ours). Targets "
        f"(issue 10), for Alocity and Amani raw: ours/ring ≥ {target_ring(SIZES[0])}× at 256 B and "
        f"1 KiB, ≥ {target_ring(SIZES[-1])}× at 16 and 64 KiB, ours/svix ≥ {TARGET_SVIX}×; a "
        "missed one is **bold**. The `json.dumps` fallback, the bearer token and ours/ring "
        "pre-keyed (the floor) are shown without a target.",
        "",
        f"- Crates: {crate_versions()}",
        f"- criterion: {sample_count or '?'} samples per benchmark; warm-up and measurement "
        "times in `benches/verify.rs` (`config()`)",
        "",
    ]
    all_misses = []
    for group, title, base, what in SCHEMES:
        lines, misses = scheme_table(criterion, group, base)
        out += [f"### {title}", "", f"Ours: {what}.", "", *lines, ""]
        all_misses += [f"{title}, {miss}" for miss in misses]

    out += ["### Verification targets", ""]
    if all_misses:
        out += ["Missed:", "", *[f"- {miss}" for miss in all_misses], ""]
    else:
        out += ["All met.", ""]
    out += [
        "Why the paths cost what they cost (from the code, `shared/src/verify/` and `pyjson/`):",
        "",
        "- Each secret carries its HMAC state after the key schedule, built once when the secret "
        "is loaded (`Secret::new`) and cloned per verify, so **ring pre-keyed** is the like-for-like "
        "baseline; **ring** keys per call (2 extra SHA-256 blocks), which our cached state saves and "
        "our fixed per-request work spends again at small bodies. That work is the plain library "
        "path: the header looked up borrowed (and checked to be visible ASCII), the Alocity header "
        "split with `split` / `split_once`, its `sig` values collected into a `Vec`, each decoded "
        "from base64 into a `[u8; 32]` on the stack, and the tag compared with "
        "`hmac::Mac::verify_slice` (constant time byte by byte, length checked). From 16 KiB the "
        "SHA-256 compression function decides (`sha2` 0.10 with SHA-NI intrinsics against ring's "
        "SHA-NI assembly).",
        "- Alocity and Amani raw: with the current secret first, exactly one MAC; the previous "
        "secret is never tried.",
        "- Amani `json.dumps` fallback: for each secret, current first, the raw body and then the "
        "`json.dumps` rendering (made once by `pyjson::python_dumps`: parsed into a value, "
        "repeated keys resolved like a `dict`, then written): a compact body signed with the "
        "current secret costs two MACs plus the re-serialisation, against one MAC in the "
        "baselines, so it cannot reach ring by construction.",
        "- FACEIO bearer: no MAC at all, so it is far above both baselines at every size.",
        "- svix: `hmac-sha256` (portable Rust, no SHA-NI), and `Webhook::verify` copies the "
        "payload into a `String` (UTF-8 check + `format!`) before the MAC.",
        "",
    ]
    return out


def replace_verification(args: argparse.Namespace, criterion: CriterionResults) -> int:
    """Rewrite the verification section (the last one) of an existing report."""
    heading = "## Verification micro-benchmarks"
    if criterion.ns("alocity", "ours", SIZES[0]) is None:
        print(f"no criterion results under {criterion.root}: run `cargo bench --bench verify`",
              file=sys.stderr)
        return 1
    text = args.out.read_text() if args.out.is_file() else ""
    if heading not in text:
        print(f"{args.out} has no '{heading}' section to replace", file=sys.stderr)
        return 1
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = verification_section(criterion)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").is_file() else []
    section[1:1] = [
        "",
        f"Measured on {now} by `cd bench && cargo bench --bench verify` alone (criterion), then "
        "`python3 bench/report.py --verification-only`, on the machine above; the sections above "
        f"are from the earlier full run. Source measured: {args.source or source()}; {run('rustc', '-V')}; "
        f"load average when written: {' / '.join(load) or 'unknown'}.",
    ]
    args.out.write_text(text[: text.index(heading)] + "\n".join(section))
    print(f"wrote the verification section of {args.out}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", type=Path, default=HERE / "target",
                        help="where the results are (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=HERE / "REPORT.md")
    parser.add_argument("--source", help="what was measured (default: the current commit, and whether "
                        "shared/ or functions/ had uncommitted changes)")
    parser.add_argument("--verification-only", action="store_true",
                        help="replace only the verification section of --out (after `cargo bench "
                        "--bench verify` alone); the other sections stay as they are")
    args = parser.parse_args()

    criterion = CriterionResults(args.results_dir / "criterion")
    if args.verification_only:
        return replace_verification(args, criterion)
    startup = load_json(args.results_dir, "startup.json")
    pipeline = load_json(args.results_dir, "pipeline.json")
    memory = load_json(args.results_dir, "memory.json")
    if criterion.ns("alocity", "ours", SIZES[0]) is None and startup is None and pipeline is None and memory is None:
        print(f"no results under {args.results_dir}: run `make bench`", file=sys.stderr)
        return 1

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    startup_lines, startup_targets = report_sections.startup_section(startup)
    overhead_lines, overhead_targets = report_sections.overhead_section(
        pipeline, load_json(args.results_dir, "peer_overhead.json"))
    memory_lines, memory_targets = report_sections.memory_section(memory)
    targets = startup_targets + overhead_targets + memory_targets
    previous = report_sections.previous_report(args.out.read_text()) if args.out.exists() else None
    out = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (bench/report.py) on {now}: verification micro-benchmarks, "
        "cold and warm start against a Python peer, warm handler overhead, deployment size and "
        "cost.",
        "",
        "## Machine and toolchain",
        "",
        *machine(),
        f"- {run('rustc', '-V')}; profile: opt-level 3, thin LTO, 1 codegen unit (the release "
        "profile of the Lambda binaries), no `target-cpu` (run-time CPU feature detection)",
        f"- {run(sys.executable, '-V')} for the harness; the peer runs in .venv/peer "
        "(bench/peer/requirements.txt)",
        f"- Source measured: {args.source or source()}",
        "",
        *report_sections.targets_section(targets),
        *report_sections.comparison_section(previous, targets),
        *startup_lines,
        *overhead_lines,
        *memory_lines,
        *report_sections.sizes_section(load_json(args.results_dir, "sizes.json")),
        *report_sections.cost_section(startup),
        *verification_section(criterion),
    ]
    args.out.write_text("\n".join(out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
