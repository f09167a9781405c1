"""Markdown sections of bench/REPORT.md for the start-up harness, the in-process handler
overhead, deployment sizes and the cost model (bench/report.py puts them together).

Inputs, from bench/report.py's results directory (bench/target/ by default): startup.json
(harness.py), pipeline.json (benches/pipeline.rs), peer_overhead.json (peer/overhead.py),
sizes.json (sizes.py), memory.json (bench/memory.py). A missing input makes its section say so, and its targets "not measured",
instead of failing; a missing key in an input that is there fails.
"""

from __future__ import annotations

import math
import re
from typing import Any

import cost

MIB = 1024 * 1024
TARGET_COLD_RATIO = 0.1
TARGET_RSS_RATIO = 0.25
TARGET_RSS_MIB = 25
TARGET_OVERHEAD_P99_US = 100
OVERHEAD_TARGET = "warm handler overhead, 1 KiB, p99"

# (what, measured, target, met)
Target = tuple[str, str, str, bool]


def _ms(value: float | None) -> str:
    return "n/a" if value is None else (f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms")


def _cpu(value: float | None) -> str:
    """CPU time read in 10 ms clock ticks: 0 means under one tick."""
    return "< 10 ms" if value == 0 else _ms(value)


def _mib(kib: float | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def _bytes(size: int) -> str:
    return f"{size / MIB:.2f} MiB" if size >= MIB else f"{size / 1024:.0f} KiB"


def _per_event_bytes(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} B"


def _ratio(ours: float | None, peer: float | None) -> float | None:
    return None if not ours or not peer else ours / peer


def _fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}×"


def _field(subject: dict[str, Any], key: str, absent: Any = None) -> Any:
    """A subject's harness figure (None when not measured), `absent` when the subject was not run
    ({}); a key the harness does not write is a KeyError, so renaming one fails the smoke run."""
    return subject[key] if subject else absent


def _ratio_target(what: str, ours: float | None, peer: float | None, fmt: Any, limit: float) -> Target:
    """ours / peer ≤ limit; without both measurements: not measured, not met."""
    if ours is None or not peer:
        return what, f"not measured (ours {fmt(ours)}, peer {fmt(peer)})", f"≤ {limit}×", False
    ratio = ours / peer
    return what, f"{fmt(ours)} vs {fmt(peer)} = {ratio:.3f}×", f"≤ {limit}×", ratio <= limit


def _startup_targets(ours: dict[str, Any], peer: dict[str, Any]) -> list[Target]:
    rss = _field(ours, "peak_rss_kib")
    return [
        _ratio_target("cold start ≤ 0.1× the peer", _field(ours, "cold_start_ms"), _field(peer, "cold_start_ms"),
                      _ms, TARGET_COLD_RATIO),
        _ratio_target("peak RSS ≤ 0.25× the peer", rss, _field(peer, "peak_rss_kib"), _mib, TARGET_RSS_RATIO),
        ("peak RSS ≤ 25 MiB", "not measured" if rss is None else _mib(rss), f"≤ {TARGET_RSS_MIB} MiB",
         rss is not None and rss <= TARGET_RSS_MIB * 1024),
    ]


def startup_section(data: dict[str, Any] | None) -> tuple[list[str], list[Target]]:
    if not data or "rust" not in data["subjects"]:
        return (["## Cold and warm start", "", "Not run (`make bench` runs bench/startup/harness.py).", ""],
                _startup_targets({}, {}))
    ours, peer = data["subjects"]["rust"], data["subjects"].get("peer", {})
    rows = [
        ("init: spawn → first `next`", "init_ms", _ms),
        ("first event (first Secrets Manager / DynamoDB calls)", "first_event_ms", _ms),
        ("**cold start: spawn → first answer**", "cold_start_ms", _ms),
        ("CPU time of the cold start", "cold_cpu_ms", _cpu),
        ("warm duration p50", "warm_p50_ms", _ms),
        ("warm duration p99", "warm_p99_ms", _ms),
        ("warm duration mean", "warm_mean_ms", _ms),
        ("CPU time per warm event", "warm_cpu_ms_per_event", _cpu),
        ("**peak RSS (VmHWM)**", "peak_rss_kib", _mib),
        ("output (CloudWatch Logs) per invocation", "log_bytes_per_event", _per_event_bytes),
        ("of which EMF metric documents", "metric_bytes_per_event", _per_event_bytes),
    ]
    lines = [
        "## Cold and warm start",
        "",
        "bench/startup/harness.py: our own Lambda Runtime API on 127.0.0.1 hands each function "
        "process signed API Gateway v2 events (Alocity Selfie `FaceMatched`, "
        f"{data['body_bytes']} B bodies, a new `Id` each, signed by tests/fixtures/sign.py); both "
        "subjects store into DynamoDB and read their secret from Secrets Manager, each on its own "
        "moto server (as `make dev`). Per subject "
        f"{data['runs']} cold starts (fresh process each), each followed by {data['warm_per_run']} "
        "warm events and one forged event (a body byte changed after signing), interleaved "
        f"ours/peer. Run on {data['date']}, {data['seconds']} s.",
        "",
        f"- **ours**: {ours['label']}",
        f"- **peer**: {_field(peer, 'label', 'not run')}; bench/peer/app.py, Powertools Idempotency "
        "(DynamoDB persistence layer), `parameters.get_secret(max_age=300)`, `hmac`, run as "
        "`python -m awslambdaric app.handler`",
        "",
        "Durations are what Lambda bills: from the Runtime API handing out the event to the "
        "function posting its answer; they include the calls to moto on this machine (no network, "
        "but moto is slower than DynamoDB: a PutItem takes several ms). Medians over the cold "
        "starts; warm percentiles over all warm events. CPU times come from /proc in 10 ms ticks "
        "(per warm event: the ticks of all warm events divided by their number). Almost all of "
        "ours' CPU per event is spent around the handler, not in it (the handler itself: the "
        "overhead section below): HTTP to the Runtime API and to DynamoDB, SigV4 signing, "
        "request and response serialisation in the runtime and the AWS SDK.",
        "",
        "| | ours | peer | ours / peer |",
        "|---|---:|---:|---:|",
    ]
    for label, key, fmt in rows:
        lines.append(f"| {label} | {fmt(ours.get(key))} | {fmt(_field(peer, key))} "
                     f"| {_fmt_ratio(_ratio(ours.get(key), _field(peer, key)))} |")
    peer_storage = _field(peer, "storage", {"items": "n/a", "expected": "n/a"})
    lines += [
        f"| cold starts, each (ms) | {', '.join(f'{v:.0f}' for v in ours['cold_start_ms_each'])} "
        f"| {', '.join(f'{v:.0f}' for v in _field(peer, 'cold_start_ms_each', []))} | |",
        f"| events stored (counted in moto) / answered `stored` | {ours['storage']['items']} / "
        f"{ours['storage']['expected']} | {peer_storage['items']} / {peer_storage['expected']} | |",
        f"| forged events refused with 401, nothing stored | {ours['forged_refused']} | "
        f"{_field(peer, 'forged_refused', 'n/a')} | |",
        "",
        "AWS calls each subject made (moto's request log):",
        "",
        "| call | ours | peer |",
        "|---|---:|---:|",
    ]
    peer_calls = _field(peer, "calls", {})
    for key in sorted(set(ours["calls"]) | set(peer_calls)):
        lines.append(f"| `{key}` | {ours['calls'].get(key, 0)} | {peer_calls.get(key, 0)} |")
    lines += [
        "",
        "Ours loads the secret (AWSCURRENT and AWSPREVIOUS) and opens the DynamoDB connection at "
        "init; a verification miss (the forged event) reloads it once, throttled to once per 30 s. "
        "The peer loads its secret on the first event and writes an idempotency record twice per "
        "event (INPROGRESS, then COMPLETED) besides the event itself.",
        "",
    ]
    return lines, _startup_targets(ours, peer)


def overhead_section(data: dict[str, Any] | None, peer: dict[str, Any] | None = None) -> tuple[list[str], list[Target]]:
    if not data:
        return (["## Warm handler overhead without I/O", "", "Not run (`cd bench && cargo bench --bench "
                 "pipeline`).", ""],
                [(OVERHEAD_TARGET, "not measured", f"≤ {TARGET_OVERHEAD_P99_US} µs", False)])
    lines = [
        "## Warm handler overhead without I/O",
        "",
        "**Ours**, benches/pipeline.rs, in process: deserialise the API Gateway v2 event JSON (as "
        "`lambda_runtime` does), `Pipeline::handle` for Alocity Selfie with the in-memory secret "
        "source and store (verify, parse the typed event, SHA-256, build and store the record, one "
        "JSON log line through the function's own subscriber into a sink), serialise the response. "
        f"{data['requests']:,} requests after {data['warmup_requests']:,} warm-up ones, each a new "
        f"freshly signed {data['body_bytes']} B event (all stored).",
        "",
        "**Peer**, bench/peer/overhead.py, in process: `json.loads` of the event, `app.handler` "
        "with the secret served from memory and the events table's and the idempotency layer's "
        "writes stubbed out (Powertools event class, logger into a sink, `hmac`, the item, the "
        "idempotency bookkeeping), `json.dumps` of the answer"
        + (f"; {peer['requests']:,} requests after {peer['warmup_requests']:,} warm-up ones." if peer else
           ": not run."),
        "",
        "The tails (p99.9, max) include this shared 2-core machine preempting the process for a "
        "scheduler slice of a few ms: the longer a request, the more often one lands in it (on a "
        "busier run the peer's p99 was 4.3 ms). See the load average above.",
        "",
        "| | p50 | p90 | p99 | p99.9 | max | mean |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    off = data.get("without_metrics")
    for name, row in (("ours (metrics on, as deployed)", data), ("ours without metrics", off), ("peer", peer)):
        if row:
            lines.append(f"| {name} | {row['p50_us']:.1f} µs | {row['p90_us']:.1f} µs | {row['p99_us']:.1f} µs "
                         f"| {row['p999_us']:.1f} µs | {row['max_us']:.1f} µs | {row['mean_us']:.1f} µs |")
    if peer:
        lines.append(f"| ours / peer | {data['p50_us'] / peer['p50_us']:.3f}× | {data['p90_us'] / peer['p90_us']:.3f}× "
                     f"| {data['p99_us'] / peer['p99_us']:.3f}× | | | {data['mean_us'] / peer['mean_us']:.3f}× |")
    if off:
        lines.append(f"| metrics' cost (on − off) | {data['p50_us'] - off['p50_us']:+.1f} µs "
                     f"| {data['p90_us'] - off['p90_us']:+.1f} µs | {data['p99_us'] - off['p99_us']:+.1f} µs | | "
                     f"| {data['mean_us'] - off['mean_us']:+.1f} µs |")
    lines.append("")
    if off:
        lines += ["Metrics on: `metrics::measure` around the pipeline, then the EMF document rendered "
                  "and written to a sink, as the function does per invocation; off: the same events "
                  "through a second pipeline in the same run, batches alternating which goes first.", ""]
    met = data["p99_us"] <= TARGET_OVERHEAD_P99_US
    return lines, [(OVERHEAD_TARGET, f"{data['p99_us']:.1f} µs",
                    f"≤ {TARGET_OVERHEAD_P99_US} µs", met)]


def sizes_section(data: dict[str, Any] | None) -> list[str]:
    if not data:
        return ["## Deployment size", "", "Not run (bench/startup/sizes.py).", ""]
    peer, with_sdk = data["peer"], data["peer_with_sdk"]
    lines = [
        "## Deployment size",
        "",
        "Ours: `cargo lambda build --release --output-format zip` (x86_64; arm64 needs a target "
        "this machine does not have). Peer: bench/peer/app.py plus what pip installed for "
        f"{', '.join(f'`{c}`' for c in peer['counted'])}, zipped (deflate), `__pycache__` "
        "included as `pip install --target` leaves it; not counted, because the Lambda Python "
        f"runtime provides them: {', '.join(f'`{c}`' for c in peer['left_out'])}.",
        "",
        "| package | zip | unzipped |",
        "|---|---:|---:|",
    ]
    for name, size in data["ours"].items():
        lines.append(f"| ours: `{name}` | {_bytes(size['zip_bytes'])} | {_bytes(size['unzipped_bytes'])} |")
    lines += [
        f"| peer, as deployed (runtime's boto3) | {_bytes(peer['zip_bytes'])} | {_bytes(peer['unzipped_bytes'])} |",
        f"| peer with its own boto3/botocore bundled | {_bytes(with_sdk['zip_bytes'])} "
        f"| {_bytes(with_sdk['unzipped_bytes'])} |",
        "",
        "Our binary carries its whole AWS SDK, TLS stack and runtime; the peer leans on the "
        "~20 MiB SDK the managed Python runtime already has. Both are far below Lambda's 50 MB "
        "zip limit.",
        "",
    ]
    return lines


def cost_section(data: dict[str, Any] | None) -> list[str]:
    if not data or "peer" not in data["subjects"]:
        return ["## Cost per million webhooks", "", "Needs the harness results for both subjects.", ""]
    ours, peer = data["subjects"]["rust"], data["subjects"]["peer"]
    lines = [
        "## Cost per million webhooks",
        "",
        "us-east-1 list prices: Lambda $0.20 per million requests and $0.0000133334 per GB-s "
        "(arm64); HTTP API $1.00 per million requests; DynamoDB on-demand $0.625 per million "
        "write request units; Secrets Manager $0.05 per 10,000 calls. Sources and the model: "
        "bench/startup/cost.py (prices looked up 2026-11-24). Warm steady state, 128 MB arm64.",
        "",
    ]
    for title, billed_key in (("as measured here (full x86 core, moto)", "measured"),
                              ("estimated for a 128 MB share of a vCPU", "estimated")):
        lines += [f"### Lambda durations {title}", ""]
        billed = {}
        estimate = {}
        for name, subject in (("ours", ours), ("peer", peer)):
            if billed_key == "measured":  # already the mean of per-invocation round-ups
                value = subject["warm_billed_ms_mean"]
            else:  # a mean duration: rounded up once, as Lambda would round one invocation
                estimate[name] = cost.estimated_128mb_ms(subject)
                value = None if estimate[name] is None else math.ceil(estimate[name])
            billed[name] = value
        missing = [name for name, value in billed.items() if value is None]
        if missing:  # no warm events, or no CPU time from /proc: no duration to bill
            lines += [f"Not measured for {' and '.join(missing)}.", ""]
            continue
        lines += ["| item | ours | peer | ours $ | peer $ |", "|---|---|---|---:|---:|"]
        rows_ours = cost.model(ours, billed["ours"])
        rows_peer = cost.model(peer, billed["peer"])
        by_item = {item: (how, usd) for item, how, usd in rows_peer}
        for item, how, usd in rows_ours:
            peer_how, peer_usd = by_item.pop(item, ("—", 0.0))
            lines.append(f"| {item} | {how} | {peer_how} | {usd:.2f} | {peer_usd:.2f} |")
        for item, (how, usd) in by_item.items():
            lines.append(f"| {item} | — | {how} | 0.00 | {usd:.2f} |")
        total_ours = sum(usd for *_, usd in rows_ours)
        total_peer = sum(usd for *_, usd in rows_peer)
        lines += [f"| **total** | | | **{total_ours:.2f}** | **{total_peer:.2f}** |", ""]
        usd_ours = {item: usd for item, _, usd in rows_ours}
        usd_peer = {item: usd for item, _, usd in rows_peer}
        gaps = {item: usd_peer.get(item, 0.0) - usd_ours.get(item, 0.0) for item in usd_ours | usd_peer}
        widest = max(gaps, key=lambda item: abs(gaps[item]))
        lines += [f"The largest difference: {widest} (peer − ours = ${gaps[widest]:.2f}).", ""]
        if billed_key == "estimated":
            lines += [
                f"128 MB estimate: I/O wait (mean duration minus CPU time) + CPU time × 1769/128: "
                f"ours {estimate['ours']:.1f} ms, peer {estimate['peer']:.1f} ms per webhook, "
                "each rounded up to the next millisecond for the bill.",
                "",
            ]
    lines += [
        "Fixed monthly costs (the secret, $0.40 a month; alarms; storage) are the same for both and "
        "left out.",
        "",
    ]
    return lines


def memory_section(data: dict[str, Any] | None) -> tuple[list[str], list[Target]]:
    """bench/memory.py's figures: peak RSS of one adversarial request at each function's cap."""
    what = "worst request at the body cap ≤ half of 128 MB"
    if not data:
        return (["## Memory at the body cap", "", "Not run (bench/memory.py).", ""],
                [(what, "not measured", "≤ 64 MiB", False)])
    kinds = ["members", "nesting", "string", "numbers"]
    limit = data["limit_kib"]
    lines = [
        "## Memory at the body cap",
        "",
        f"bench/memory.py, {data['label']}, {data['date']}: each function under the Runtime API with "
        "MAX_BODY_BYTES at its template default; each body of exactly the cap (inside the provider's "
        "envelope, so a signed one is verified, parsed and stored) in a process of its own, after one "
        "warm-up event, with the peak RSS (VmHWM) reset before the body and read after its answer. "
        f"Nesting: arrays {data['nesting_depth']} deep, repeated. Amani's signed bodies go through "
        "the json.dumps fallback. Figures are signed / forged.",
        "",
        "| function | cap | RSS after warm-up | " + " | ".join(kinds) + " | peak | ≤ " + _mib(limit) + " |",
        "|---|---:|---:|" + "---:|" * len(kinds) + "---:|---|",
    ]
    peaks = []
    for name, result in data["functions"].items():
        cells = []
        for kind in kinds:
            got = {row["auth"]: row["vmhwm_kib"] for row in result["bodies"] if row["kind"] == kind}
            cells.append(f"{_mib(got.get('signed'))} / {_mib(got.get('forged'))}")
        peak = result["peak_kib"]
        peaks.append(peak)
        met = peak is not None and peak <= limit
        lines.append(f"| {name} | {_bytes(result['cap_bytes'])} | {_mib(result['baseline_rss_kib'])} | "
                     + " | ".join(cells) + f" | {_mib(peak)} | {'yes' if met else '**no**'} |")
    lines += ["", *(f"- failure: {failure}" for failure in data["failures"]), ""]
    worst = None if None in peaks or not peaks else max(peaks)
    return lines, [(what, "not measured" if worst is None else _mib(worst), f"≤ {_mib(limit)}",
                    worst is not None and worst <= limit and not data["failures"])]


def targets_section(targets: list[Target]) -> list[str]:
    lines = ["## Targets: start-up, memory, handler overhead (issue 6)", "", "| target | measured | limit | met |",
             "|---|---|---|---|"]
    for what, measured, limit, met in targets:
        lines.append(f"| {what} | {measured} | {limit} | {'yes' if met else '**no**'} |")
    return [*lines, ""]


def previous_report(text: str) -> tuple[str, dict[str, str]]:
    """From a REPORT.md written earlier: when and what it measured, and its targets' figures."""
    when = re.search(r"on (\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC)", text)
    source = re.search(r"^- Source measured: (.+)$", text, re.MULTILINE)
    figures: dict[str, str] = {}
    in_targets = False
    for line in text.splitlines():
        if line.startswith("## "):
            in_targets = line.startswith("## Targets")
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if in_targets and len(cells) == 4 and cells[0] not in ("target", "---"):
            figures[cells[0]] = cells[1]
    label = f"{when.group(1) if when else 'undated'}, {source.group(1) if source else 'source unknown'}"
    return label, figures


def comparison_section(previous: tuple[str, dict[str, str]] | None, targets: list[Target]) -> list[str]:
    """The targets now beside the report this one replaces (read before it was overwritten)."""
    if not previous or not previous[1]:
        return []
    label, figures = previous
    lines = ["## Against the previous report", "",
             f"The previous REPORT.md ({label}) beside this run; different runs on a shared machine, "
             "so differences of a few per cent are noise (the ratios in each section are measured side "
             "by side in one run).", "", "| target | previous | now |", "|---|---|---|"]
    for what, measured, _limit, _met in targets:
        lines.append(f"| {what} | {figures.get(what, 'not in it')} | {measured} |")
    return [*lines, ""]
