#!/usr/bin/env python3
"""Cold and warm start harness: our Lambda binary and the Python peer under one Runtime API.

For each subject it starts its own moto server (DynamoDB + Secrets Manager, as `make dev` does,
on a free loopback port), creates the events table (scripts/local_aws.py), the secret and, for
the peer, the Powertools idempotency table; then, per run, spawns the function process with the
environment a Lambda has and AWS_LAMBDA_RUNTIME_API pointing at runtime_api.py, and hands it:

    1 cold event      signed Alocity Selfie delivery, 1 KiB body (first Secrets Manager and
                      DynamoDB calls of the process happen on or before it)
    --warm events     the same, each a new event id
    1 forged event    one body byte changed after signing: must get 401, store nothing

It measures init (spawn -> first `next`), first-event duration, cold start (spawn -> first
answer), warm durations (event handed out -> answer, what Lambda bills), CPU time (cold, per
warm event) and peak RSS (VmHWM of the process just before it is stopped; a run without it is a
failure). Afterwards it takes the AWS calls each subject made from moto's request recorder
(stopped first, so the harness's own reads are not counted), counts the stored items in moto,
checks the forged ids are absent and sizes the items (write units, GSIs included).

Exit status 0 only when every answer was as expected and every authentic event was stored.
Run with the moto venv's python (boto3, moto_server):

    .venv/moto/bin/python bench/startup/harness.py --rust-bin target/release/alocity-selfie-webhook \
        --peer-python .venv/peer/bin/python --runs 3 --warm 200 --out bench/target/startup.json
"""

from __future__ import annotations

import argparse
import atexit
import base64
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(HERE))
import dynamo_size  # noqa: E402
import events  # noqa: E402
import local_aws  # noqa: E402
import registry  # noqa: E402
from local_procs import Processes, start_moto  # noqa: E402
from runtime_api import RuntimeApi  # noqa: E402
from stats import percentile  # noqa: E402

REGION = local_aws.REGION
# The function measured: the provider events.py signs for, as the registry describes it.
SUBJECT = registry.by_name(events.PROVIDER)
SECRET_ID = SUBJECT["secret_id"]
SECRET = SUBJECT["dev_secret"]
EVENTS_TABLE = "bench-events"
IDEMPOTENCY_TABLE = "bench-idempotency"
FUNCTION_NAME = SUBJECT["binary"]
MEMORY_MB = 128
MOTO_START_TIMEOUT = 60.0
INIT_TIMEOUT = 60.0
INVOKE_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


def log(message: str) -> None:
    print(f"[startup] {message}", file=sys.stderr, flush=True)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used so far (/proc/<pid>/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid: int, field_name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


# ---------------------------------------------------------------------------------------------
# moto: one server per subject, so tables and call counts are the subject's own
# ---------------------------------------------------------------------------------------------


class Moto:
    def __init__(self, processes: Processes, name: str, recording: Path) -> None:
        self.recording = recording
        server = Path(sys.executable).parent / "moto_server"
        if not server.exists():
            raise SystemExit(f"{server} missing: run with the moto venv's python (scripts/tools.sh moto)")
        env = {**_clean_env(), "MOTO_RECORDER_FILEPATH": str(recording)}
        self.proc, self.endpoint = start_moto(processes, name, server, env, MOTO_START_TIMEOUT)

    def setup(self, idempotency_table: bool) -> None:
        local_aws.create_table(self.endpoint, EVENTS_TABLE)
        local_aws.ensure_secret(self.endpoint, SECRET_ID, SECRET, reset=True)
        if idempotency_table:  # the schema Powertools' DynamoDBPersistenceLayer expects by default
            ddb = local_aws.client("dynamodb", self.endpoint)
            ddb.create_table(TableName=IDEMPOTENCY_TABLE, BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        self._recorder("reset-recording")
        self._recorder("start-recording")

    def _recorder(self, action: str) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/recorder/{action}", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def calls(self) -> dict[str, int]:
        """AWS calls made since setup, by `<operation> <table or secret>`; the recording (it
        holds request bodies) is deleted afterwards."""
        self._recorder("stop-recording")
        counts: dict[str, int] = {}
        try:
            lines = self.recording.read_text().splitlines() if self.recording.exists() else []
        finally:
            self.recording.unlink(missing_ok=True)
        for line in lines:
            entry = json.loads(line)
            target = entry.get("headers", {}).get("X-Amz-Target", "")
            if not target:
                continue
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            try:
                request = json.loads(body) if body else {}
            except ValueError:
                request = {}
            resource = request.get("TableName") or request.get("SecretId") or ""
            stage = request.get("VersionStage")
            key = f"{target.split('.')[-1]} {resource}" + (f" ({stage})" if stage else "")
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))

    def scan(self, table: str) -> list[dict[str, Any]]:
        ddb = local_aws.client("dynamodb", self.endpoint)
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        while True:
            page = ddb.scan(**kwargs)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _clean_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "C.UTF-8", "TZ": "UTC"}


# ---------------------------------------------------------------------------------------------
# Subjects
# ---------------------------------------------------------------------------------------------


@dataclass
class Subject:
    name: str
    label: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    idempotency_table: bool = False


def lambda_env(runtime_api: str, endpoint: str, task_root: Path, handler: str) -> dict[str, str]:
    """What Lambda puts in a function's environment (dummy credentials, the local endpoint)."""
    return {
        **_clean_env(),
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{FUNCTION_NAME}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench/[$LATEST]0000",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": handler,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "EVENTS_TABLE": EVENTS_TABLE,
        "WEBHOOK_SECRET_ID": SECRET_ID,
        "SECRET_CACHE_TTL_SECS": "300",
        "TIMESTAMP_TOLERANCE_SECS": "300",
    }


def subjects(args: argparse.Namespace) -> list[Subject]:
    chosen = []
    if args.rust_bin:
        binary = Path(args.rust_bin).resolve()
        if not os.access(binary, os.X_OK):
            raise SystemExit(f"{binary}: not an executable (build it first)")
        label = args.rust_label or f"`{binary.name}`, {_build_kind(binary)}"
        chosen.append(Subject("rust", label, [str(binary)],
                              binary.parent, {"RUST_LOG": "info"}))
    if args.peer_python:
        python = Path(args.peer_python).absolute()
        if not python.exists():
            raise SystemExit(f"{python} missing: run scripts/tools.sh peer")
        version = subprocess.run([str(python), "-c", "import platform; print(platform.python_version())"],
                                 capture_output=True, text=True, timeout=30).stdout.strip()
        chosen.append(Subject("peer", f"Python {version}, Powertools, awslambdaric",
                              [str(python), "-m", "awslambdaric", "app.handler"], HERE.parent / "peer",
                              {"IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE, "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version.rsplit('.', 1)[0]}",
                               "POWERTOOLS_LOG_LEVEL": "INFO"}, idempotency_table=True))
    if not chosen:
        raise SystemExit("nothing to run: give --rust-bin and/or --peer-python")
    return chosen


def _build_kind(binary: Path) -> str:
    parts = binary.parts
    return "debug build" if "debug" in parts else "release build"


# ---------------------------------------------------------------------------------------------
# One run: spawn, cold event, warm events, forged event, stop
# ---------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    init_ms: float
    first_event_ms: float
    cold_start_ms: float
    warm_ms: list[float]
    cold_cpu_ms: float | None  # CPU time of the process from spawn to its first answer
    warm_cpu_ms: float | None  # CPU time per warm event
    peak_rss_kib: int | None
    stored_pks: list[str]  # answered `stored`
    forged_pks: list[str]
    failures: list[str] = field(default_factory=list)
    # What the process wrote to stdout (CloudWatch Logs in Lambda) per invocation: all of it,
    # and the EMF metric documents among it.
    log_bytes_per_event: float | None = None
    metric_bytes_per_event: float | None = None


def output_bytes(log: Path, invocations: int) -> tuple[float | None, float | None]:
    """Bytes per invocation of a function's output, and of the EMF documents in it (lines with
    an `_aws` key); the peer's awslambdaric start-up lines are counted too."""
    if not log.exists() or invocations == 0:
        return None, None
    lines = log.read_bytes().splitlines(keepends=True)
    metric = sum(len(line) for line in lines if line.startswith(b"{") and b'"_aws"' in line)
    return sum(len(line) for line in lines) / invocations, metric / invocations


def check_answer(delivery: events.Delivery, answer: Any, outcome: str | None) -> str | None:
    """None when the function answered as expected, else what was wrong (no body, no secret)."""
    if outcome != "response" or not isinstance(answer, dict):
        return f"invocation {outcome}: {str(answer)[:200]}"
    status = answer.get("statusCode")
    try:
        body = json.loads(answer.get("body") or "null")
    except ValueError:
        body = None
    if status != delivery.expect_status:
        return f"status {status}, expected {delivery.expect_status} ({body})"
    if delivery.expect_status == 200 and body != {"status": "stored", "key": delivery.event_id}:
        return f"answer {body}, expected stored under {delivery.event_id}"
    if delivery.expect_reason and (not isinstance(body, dict) or body.get("error") != delivery.expect_reason):
        return f"answer {body}, expected error {delivery.expect_reason}"
    return None


def run_once(processes: Processes, subject: Subject, moto: Moto, index: int, warm: int) -> RunResult:
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION_NAME}"
    api = RuntimeApi(arn).start()
    env = {**lambda_env(api.address, moto.endpoint, subject.cwd, "app.handler" if subject.name == "peer" else "bootstrap"),
           **subject.env}
    failures: list[str] = []
    stored: list[str] = []
    forged_pks: list[str] = []
    warm_ms: list[float] = []
    peak = None
    cold_cpu = warm_cpu = None
    deliveries = [events.authentic(SECRET) for _ in range(1 + warm)]
    forged = events.forged(SECRET)
    spawned_at = time.perf_counter()
    proc = processes.spawn(f"{subject.name}-run{index}", subject.argv, env, subject.cwd)
    try:
        deadline = time.monotonic() + INIT_TIMEOUT
        while not api.first_contact.wait(0.05):
            if proc.poll() is not None:
                raise RuntimeError(f"the function exited with {proc.returncode} before asking for an event")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no `next` within {INIT_TIMEOUT:.0f} s")
        if api.init_error is not None:
            raise RuntimeError("the function reported an init error")
        init_ms = (api.first_next_at - spawned_at) * 1000
        for position, delivery in enumerate([*deliveries, forged]):
            invocation = api.invoke(delivery.event, INVOKE_TIMEOUT, alive=lambda: proc.poll() is None)
            problem = check_answer(delivery, invocation.response_json(), invocation.outcome)
            if problem:
                failures.append(f"{subject.name} run {index} event {position}: {problem}")
            if delivery is forged:
                forged_pks.append(delivery.pk)
                continue
            if not problem:
                stored.append(delivery.pk)
            if position == 0:
                first_ms = invocation.duration_ms or 0.0
                cold_ms = (invocation.answered_at - spawned_at) * 1000
                cold_cpu = cpu_seconds(proc.pid)
            else:
                warm_ms.append(invocation.duration_ms or 0.0)
            if position == warm and cold_cpu is not None and warm:
                warm_cpu = ((cpu_seconds(proc.pid) or cold_cpu) - cold_cpu) * 1000 / warm
        peak = proc_status_kib(proc.pid, "VmHWM")
        if peak is None:
            failures.append(f"{subject.name} run {index}: no VmHWM in /proc/{proc.pid}/status (peak RSS not measured)")
    finally:
        processes.stop(proc, STOP_TIMEOUT)
        api.stop()
    log_bytes, metric_bytes = output_bytes(processes.log_dir / f"{subject.name}-run{index}.log", 2 + warm)
    return RunResult(init_ms, first_ms, cold_ms, warm_ms, None if cold_cpu is None else cold_cpu * 1000, warm_cpu,
                     peak, stored, forged_pks, failures, log_bytes, metric_bytes)


# ---------------------------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------------------------


def summarize(runs: list[RunResult]) -> dict[str, Any]:
    warm = [value for run in runs for value in run.warm_ms]
    peaks = [run.peak_rss_kib for run in runs]
    return {
        "runs": len(runs),
        "init_ms": statistics.median(run.init_ms for run in runs),
        "first_event_ms": statistics.median(run.first_event_ms for run in runs),
        "cold_start_ms": statistics.median(run.cold_start_ms for run in runs),
        "cold_start_ms_each": [round(run.cold_start_ms, 2) for run in runs],
        "init_ms_each": [round(run.init_ms, 2) for run in runs],
        "peak_rss_kib": None if None in peaks else max(peaks),  # a run without it has failed
        "peak_rss_kib_each": peaks,
        "warm_events": len(warm),
        "cold_cpu_ms": _median_known(run.cold_cpu_ms for run in runs),
        "warm_cpu_ms_per_event": _median_known(run.warm_cpu_ms for run in runs),
        # None without warm events (--warm 0).
        "warm_p50_ms": percentile(warm, 50) if warm else None,
        "warm_p99_ms": percentile(warm, 99) if warm else None,
        "warm_mean_ms": statistics.fmean(warm) if warm else None,
        "warm_max_ms": max(warm, default=None),
        "log_bytes_per_event": _median_known(run.log_bytes_per_event for run in runs),
        "metric_bytes_per_event": _median_known(run.metric_bytes_per_event for run in runs),
        # Lambda bills each invocation rounded up to the next millisecond.
        "warm_billed_ms_mean": statistics.fmean(math.ceil(value) for value in warm) if warm else None,
    }


def _median_known(values: Any) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def verify_storage(moto: Moto, runs: list[RunResult]) -> tuple[dict[str, Any], list[str]]:
    """Count what moto holds; size the items; check no forged id got in."""
    failures: list[str] = []
    items = moto.scan(EVENTS_TABLE)
    pks = {item["pk"]["S"] for item in items}
    expected = {pk for run in runs for pk in run.stored_pks}
    missing = expected - pks
    if missing:
        failures.append(f"{len(missing)} answered-as-stored events are not in the table")
    forged = {pk for run in runs for pk in run.forged_pks}
    if forged & pks:
        failures.append(f"{len(forged & pks)} forged events were stored")
    definition = local_aws.table_definition(EVENTS_TABLE)
    sizes = [dynamo_size.item_write_units(item, definition) for item in items]
    return {
        "items": len(items),
        "expected": len(expected),
        "item_bytes_median": statistics.median(s["bytes"] for s in sizes) if sizes else 0,
        "item_wru_median": statistics.median(s["wru"] for s in sizes) if sizes else 0,
        "index_wru_median": {
            name: statistics.median(s["indexes"][name]["wru"] for s in sizes if name in s["indexes"])
            for name in sorted({n for s in sizes for n in s["indexes"]})
        },
        "index_bytes_median": {
            name: statistics.median(s["indexes"][name]["bytes"] for s in sizes if name in s["indexes"])
            for name in sorted({n for s in sizes for n in s["indexes"]})
        },
        "wru_per_event_median": statistics.median(s["wru_total"] for s in sizes) if sizes else 0,
        "attributes": sorted({name for item in items for name in item}),
    }, failures


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def start_processes(log_dir: Path) -> Processes:
    """The run's process table, logging under `log_dir`; everything it starts is stopped at exit
    and on SIGTERM, SIGHUP or SIGINT."""
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = Processes(log_dir)
    atexit.register(processes.stop_all)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: sys.exit(128 + signum))
    return processes


def write_results(out: Path | None, output: dict[str, Any], failures: list[str], log_dir: Path) -> bool:
    """Writes `output` to `out` (when given) as JSON; logs the failures. True when there are none."""
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(output, indent=2) + "\n")
        log(f"wrote {out}")
    if failures:
        log("FAILED:\n  " + "\n  ".join(failures) + f"\nlogs: {log_dir}")
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rust-bin", help=f"our function binary ({FUNCTION_NAME})")
    parser.add_argument("--print-binary", action="store_true",
                        help="print the name of the function binary measured and exit")
    parser.add_argument("--rust-label", help="how the report names our binary (default: its file name and "
                        "whether it is a debug or release build)")
    parser.add_argument("--peer-python", help="python of the peer venv (.venv/peer/bin/python)")
    parser.add_argument("--runs", type=int, default=3, help="cold starts per subject (default %(default)s)")
    parser.add_argument("--warm", type=int, default=200, help="warm events per run (default %(default)s)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--log-dir", type=Path, help="process logs (default .local/bench/<time>)")
    args = parser.parse_args(argv)
    if args.print_binary:
        print(FUNCTION_NAME)
        return 0

    chosen = subjects(args)
    log_dir = args.log_dir or REPO / ".local" / "bench" / time.strftime("%Y%m%d-%H%M%S")
    processes = start_processes(log_dir)

    started = time.monotonic()
    failures: list[str] = []
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch:
        motos = {}
        for subject in chosen:
            motos[subject.name] = Moto(processes, f"moto-{subject.name}", Path(scratch) / f"{subject.name}.rec")
            motos[subject.name].setup(subject.idempotency_table)
        runs: dict[str, list[RunResult]] = {subject.name: [] for subject in chosen}
        try:
            # Interleaved, so a noisy moment of the shared machine does not hit one subject only.
            for index in range(1, args.runs + 1):
                for subject in chosen:
                    result = run_once(processes, subject, motos[subject.name], index, args.warm)
                    runs[subject.name].append(result)
                    failures += result.failures
                    rss = "not measured" if result.peak_rss_kib is None else f"{result.peak_rss_kib / 1024:.1f} MiB"
                    log(f"{subject.name} run {index}: init {result.init_ms:.1f} ms, first event "
                        f"{result.first_event_ms:.1f} ms, peak RSS {rss}, "
                        f"{len(result.stored_pks)} stored, {len(result.failures)} failures")
        except Exception as exc:  # noqa: BLE001 - reported with the function's log tail
            failures.append(f"{type(exc).__name__}: {exc}")
            for subject in chosen:
                log(f"--- {subject.name} log tail ---\n" + processes.log_tail(f"{subject.name}-run{len(runs[subject.name]) + 1}", 30))
        for subject in chosen:
            subject_runs = runs[subject.name]
            if not subject_runs:
                continue
            calls = motos[subject.name].calls()  # before the harness's own Scan
            storage, problems = verify_storage(motos[subject.name], subject_runs)
            failures += [f"{subject.name}: {problem}" for problem in problems]
            results[subject.name] = {
                "label": subject.label,
                **summarize(subject_runs),
                "storage": storage,
                "calls": calls,
                "forged_refused": sum(len(run.forged_pks) for run in subject_runs),
            }
            log(f"{subject.name}: {storage['items']} items in moto for {storage['expected']} stored answers")
        for moto in motos.values():
            processes.stop(moto.proc, STOP_TIMEOUT)

    output = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "runs": args.runs,
        "warm_per_run": args.warm,
        "body_bytes": 1024,
        "memory_mb_setting": MEMORY_MB,
        "seconds": round(time.monotonic() - started, 1),
        "subjects": results,
        "failures": failures,
    }
    if not write_results(args.out, output, failures, log_dir):
        return 1
    stored = ", ".join(f"{name}: {result['storage']['items']} stored" for name, result in results.items())
    log(f"ok: {stored}, forged refused, {output['seconds']} s; logs: {log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
