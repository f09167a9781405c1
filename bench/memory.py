#!/usr/bin/env python3
"""Worst-case memory of one request at each function's body cap (issue 12, section 5).

Each receiver (every provider in the registry) runs under bench/startup/runtime_api.py with the
environment Lambda gives it (bench/startup/harness.py's, against one moto server holding the
table, the payload bucket, the fallback queue and every provider's secret, as scripts/local_aws.py
creates them), MAX_BODY_BYTES at its template.yaml default and quarantine on. It is handed
adversarial bodies of exactly its cap, inside the provider's envelope so that a signed one is
verified, parsed and stored (and over 256 KiB, offloaded to S3):

    members   one object with as many tiny unique members as fit: {"m0":0,"m1":0,...}
    nesting   arrays nested 100 deep (under serde_json's limit of 128, so they are parsed),
              repeated until the cap is reached
    string    one long string (the Selfie: a Template event's base64 image)
    numbers   one array of as many one-digit numbers as fit

each once correctly signed and once forged (wrong secret or token: refused, and held in the
quarantine). Amani's signed bodies are sent compact but signed over their json.dumps form, so
they take the fallback path (pyjson rewrite, then serde_json). Last, one body a byte over the
cap must be refused with 413.

Each body gets a process of its own (what one body leaves resident would otherwise be counted
in the next one's figure): spawn, one small warm-up event (secret fetched, connections open, as
on any warm instance), the peak RSS reset (`5` into /proc/<pid>/clear_refs), the body, then
VmHWM from /proc/<pid>/status: that request's peak, the process's resident baseline included.
Exit status 1 when any figure exceeds --limit-mib (default 64, half of the functions' 128 MB),
a peak could not be measured, or an answer is not the expected one (signed: 200 stored, or 202
queued when the table did not take it in time; forged: 401; over the cap: 413). 36 processes,
about 35 s with debug binaries on 2 busy cores.

    .venv/moto/bin/python bench/memory.py --bin-dir target/debug --out bench/target/memory.json

--bin-dir holds either the binaries (target/debug/<binary>) or one directory per binary with its
`bootstrap` (the release zips, extracted). Run with the moto venv's python (boto3, moto_server,
PyYAML).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE / "startup"))
sys.path.insert(0, str(REPO / "tests" / "template"))
import cfn_yaml  # noqa: E402
import harness  # noqa: E402  (also puts scripts/ and tests/fixtures/ on the path)
import events  # noqa: E402
import local_aws  # noqa: E402
import registry  # noqa: E402
import sign  # noqa: E402
from local_procs import Processes  # noqa: E402
from runtime_api import RuntimeApi  # noqa: E402

MIB = 1024 * 1024
DEFAULT_LIMIT_MIB = 64  # half of the functions' MemorySize (128 MB)
TABLE = "memory-events"
NESTING_DEPTH = 100
KINDS = ("members", "nesting", "string", "numbers")
FORGED_SECRET = "not-the-configured-secret"
INVOKE_TIMEOUT = 60.0
# Lambda refuses a synchronous invocation whose event is over 6 MB; an event over it is still
# measured (a worse case than can arrive) and flagged.
LAMBDA_EVENT_LIMIT = 6 * MIB


def log(message: str) -> None:
    print(f"[memory] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Bodies of an exact size
# ---------------------------------------------------------------------------------------------


def filler(kind: str, size: int) -> bytes:
    """A JSON value of exactly `size` bytes (at least 8) of the given kind."""
    if size < 8:
        raise ValueError(f"no room for a {kind} value ({size} bytes)")
    if kind == "string":
        return b'"' + b"A" * (size - 2) + b'"'
    if kind == "numbers":
        count = (size - 1) // 2  # "[" + "0," * (count - 1) + "0" + "]" is 2 * count + 1 bytes
        last = b"10" if (size - 1) % 2 else b"0"  # one byte left: widen the last number
        return b"[" + b"0," * (count - 1) + last + b"]"
    if kind == "members":
        parts, used, index = [], 2, 0
        while True:
            member = b'"m%d":0' % index
            cost = len(member) + (1 if parts else 0)
            if used + cost > size:
                break
            parts.append(member)
            used += cost
            index += 1
        room = size - used  # widen the last key to fill the rest
        parts[-1] = parts[-1][:-3] + b"x" * room + parts[-1][-3:]
        return b"{" + b",".join(parts) + b"}"
    if kind == "nesting":
        chain = b"[" * NESTING_DEPTH + b"0" + b"]" * NESTING_DEPTH
        count = max(0, (size - 1) // (len(chain) + 1))  # "[" + count * (chain + ",") - "," + "]"
        items = [chain] * count
        room = size - (2 + count * (len(chain) + 1) - (1 if count else 0))
        if not items:  # too small for one chain: numbers only
            return filler("numbers", size)
        if room % 2:  # one byte over an even number: the last chain holds 10 instead of 0
            items[-1] = chain.replace(b"0", b"10")
            room -= 1
        items += [b"0"] * (room // 2)  # ",0" each
        return b"[" + b",".join(items) + b"]"
    raise ValueError(kind)


def exact_body(envelope: dict[str, Any], kind: str, size: int) -> bytes:
    """`envelope` as compact JSON, its "@" placeholder replaced by a `kind` value so that the
    whole body is exactly `size` bytes."""
    template = json.dumps(envelope, separators=(",", ":")).encode()
    marker = b'"@"'
    room = size - (len(template) - len(marker))
    body = template.replace(marker, filler(kind, room))
    if len(body) != size:
        raise ValueError(f"{kind}: built {len(body)} bytes, wanted {size}")
    return body


def envelope(provider: str, kind: str, app_id: str = "") -> dict[str, Any]:
    """The provider's body with "@" where the adversarial value goes; fresh ids every time.
    FACEIO's names `app_id` (its function refuses any other application)."""
    now = int(time.time())
    if provider in ("alocity-selfie", "alocity"):
        selfie = provider == "alocity-selfie"
        payload: Any = "@"
        if kind == "string":
            payload = {"template": "t", "image": "@"} if selfie else {"serialNumber": "@", "doorState": 1}
        return {"Id": str(uuid.uuid4()), "AccountId": events.ACCOUNT_ID, "OrganizationId": events.ORGANIZATION_ID,
                "CorrelationId": str(uuid.uuid4()), "EventCode": "Template" if selfie else "door.state",
                "Payload": payload, "TimeStamp": now}
    if provider == "faceio":
        return {"eventName": "ENROLL", "facialId": f"{uuid.uuid4().hex}fioa", "appId": app_id, "clientIp": "203.0.113.7",
                "details": {"timestamp": time.strftime("%Y-%m-%d", time.gmtime(now)), "gender": "f", "age": 30},
                "payload": "@"}
    if provider == "amani":
        return {"event": "profile_update",
                "profile": {"id": str(uuid.uuid4()), "external_id": uuid.uuid4().hex, "status": "PENDING_REVIEW",
                            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(now)),
                            "last_status_update": now},
                "details": "@"}
    raise SystemExit(f"bench/memory.py has no envelope for provider {provider!r}: add one")


# ---------------------------------------------------------------------------------------------
# Signing, as each provider does (tests/fixtures/sign.py)
# ---------------------------------------------------------------------------------------------


def auth_headers(provider: dict[str, Any], body: bytes, secret: str) -> tuple[dict[str, str], str]:
    """The provider's authentication header for `body` signed with `secret`, and how it was signed."""
    name = provider["name"]
    if name in ("alocity-selfie", "alocity"):
        return {"Alocity-Signature": sign.alocity_header(secret, int(time.time()), body)}, "HMAC over <t>.<body>"
    if name == "faceio":
        return {"WWW-Authenticate": sign.faceio_header(secret)}, "bearer token"
    if name == "amani":
        # Compact on the wire, signed over json.dumps: the raw check fails, the fallback verifies.
        return ({"Webhook-Signature": sign.amani_signature(secret, json.loads(body))},
                "HMAC over json.dumps (fallback path)")
    raise SystemExit(f"bench/memory.py cannot sign for provider {name!r}: add it")


# ---------------------------------------------------------------------------------------------
# One function
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    provider: dict[str, Any]
    binary: Path
    cap: int
    route: str


def receivers_in_template() -> dict[str, tuple[int, str]]:
    """binary -> (the template's default MAX_BODY_BYTES, its HTTP route)."""
    template = cfn_yaml.load()
    out = {}
    for function in cfn_yaml.receivers(template).values():
        name = cfn_yaml.ref_target(cfn_yaml.function_environment(template, function)["MAX_BODY_BYTES"])
        route = next(event["Properties"]["Path"] for event in function["Properties"]["Events"].values()
                     if event["Type"] == "HttpApi")
        out[function["Metadata"]["BuildProperties"]["Binary"]] = (int(template["Parameters"][name]["Default"]), route)
    return out


def find_binary(bin_dir: Path, binary: str) -> Path:
    for candidate in (bin_dir / binary, bin_dir / binary / "bootstrap"):
        if candidate.is_file():
            return candidate.resolve()
    raise SystemExit(f"no {binary} (nor {binary}/bootstrap) under {bin_dir}: build it first")


def reset_peak(pid: int) -> bool:
    """Resets VmHWM to the current RSS (Linux ≥ 4.0); False when not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def lambda_event(subject: Subject, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    event = events.api_gateway_event(body, headers, f"{uuid.uuid4().hex[:8]}-memory")
    event["rawPath"] = event["requestContext"]["http"]["path"] = subject.route
    event["routeKey"] = event["requestContext"]["routeKey"] = f"POST {subject.route}"
    event["headers"]["user-agent"] = "bench-memory"
    return event


def answer_of(invocation: Any) -> tuple[int | None, dict[str, Any]]:
    result = invocation.response_json() if invocation.outcome == "response" else None
    if not isinstance(result, dict):
        return None, {"invocation": invocation.outcome, "result": str(result)[:200]}
    try:
        body = json.loads(result.get("body") or "null")
    except ValueError:
        body = {"unparsed": str(result.get("body"))[:200]}
    return result.get("statusCode"), body if isinstance(body, dict) else {"body": body}


def expectation(auth: str, over_cap: bool) -> Callable[[int | None, dict[str, Any]], bool]:
    if over_cap:
        return lambda status, body: status == 413 and body.get("error") == "body_too_large"
    if auth == "signed":
        # Kept: in the table, or on the fallback queue when the table did not take it in time.
        return lambda status, body: (status, body.get("status")) in ((200, "stored"), (202, "queued"))
    return lambda status, body: status == 401


@dataclass(frozen=True)
class Body:
    kind: str
    auth: str  # "signed" or "forged"
    size: int
    over_cap: bool = False

    @property
    def label(self) -> str:
        return "over-cap" if self.over_cap else self.kind


def bodies(cap: int) -> list[Body]:
    out = [Body(kind, auth, cap) for kind in KINDS for auth in ("signed", "forged")]
    return [*out, Body("string", "signed", cap + 1, over_cap=True)]


class Instance:
    """One function process under its own Runtime API, with the environment Lambda gives it."""

    def __init__(self, processes: Processes, endpoint: str, subject: Subject, index: int) -> None:
        provider = subject.provider
        self.processes, self.subject = processes, subject
        self.name = f"{provider['name']}-{index}"
        arn = f"arn:aws:lambda:{local_aws.REGION}:123456789012:function:{provider['binary']}"
        self.api = RuntimeApi(arn).start()
        env = {
            **harness.lambda_env(self.api.address, endpoint, subject.binary.parent, "bootstrap"),
            "AWS_LAMBDA_FUNCTION_NAME": provider["binary"],
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{provider['binary']}",
            "EVENTS_TABLE": TABLE,
            "WEBHOOK_SECRET_ID": provider["secret_id"],
            "PAYLOAD_BUCKET": local_aws.DEFAULT_BUCKET,
            "FALLBACK_QUEUE_URL": local_aws.queue_url(endpoint),
            "QUARANTINE": "on",
            "MAX_BODY_BYTES": str(subject.cap),
            "RUST_LOG": "info",
            **provider["dev_env"],
        }
        self.proc = processes.spawn(self.name, [str(subject.binary)], env, subject.binary.parent)
        deadline = time.monotonic() + harness.INIT_TIMEOUT
        while not self.api.first_contact.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name}: no `next` (exit status {self.proc.returncode})")
        if self.api.init_error is not None:
            self.stop()
            raise RuntimeError(f"{self.name}: init error {self.api.init_error[:300]!r}")

    def send(self, body: Body) -> dict[str, Any]:
        """Hands it one delivery; its answer and the peak RSS while handling it."""
        provider = self.subject.provider
        raw = exact_body(envelope(provider["name"], body.kind, provider["dev_env"].get("FACEIO_APP_ID", "")),
                         body.kind, body.size)
        secret = provider["dev_secret"] if body.auth == "signed" else FORGED_SECRET
        headers, scheme = auth_headers(provider, raw, secret)
        event = lambda_event(self.subject, raw, headers)
        before = harness.proc_status_kib(self.proc.pid, "VmRSS")
        reset = reset_peak(self.proc.pid)
        invocation = self.api.invoke(event, INVOKE_TIMEOUT, alive=lambda: self.proc.poll() is None)
        peak = harness.proc_status_kib(self.proc.pid, "VmHWM")
        status, answer = answer_of(invocation)
        event_bytes = len(json.dumps(event))
        return {
            "kind": body.label, "auth": body.auth, "signed_as": scheme, "body_bytes": len(raw),
            "event_bytes": event_bytes, "over_lambda_event_limit": event_bytes > LAMBDA_EVENT_LIMIT,
            "status": status, "answer": answer.get("status") or answer.get("error"),
            "expected": expectation(body.auth, body.over_cap)(status, answer),
            "rss_before_kib": before, "peak_reset": reset, "vmhwm_kib": peak,
            "duration_ms": round(invocation.duration_ms or 0.0, 1),
        }

    def stop(self) -> None:
        self.processes.stop(self.proc, harness.STOP_TIMEOUT)
        self.api.stop()


def run_subject(processes: Processes, endpoint: str, subject: Subject,
                limit_kib: int) -> tuple[dict[str, Any], list[str]]:
    """Each body in a process of its own (a body's pages stay resident after it, so a second
    body in the same process would be measured on top of the first's): spawn, one small
    warm-up event (the secret fetched, the connections open, as on any warm instance), the
    peak reset, the body, VmHWM read, stop."""
    name = subject.provider["name"]
    failures: list[str] = []
    rows: list[dict[str, Any]] = []
    warm_rss: list[int] = []
    for index, body in enumerate(bodies(subject.cap)):
        try:
            instance = Instance(processes, endpoint, subject, index)
        except RuntimeError as exc:
            failures.append(str(exc))
            log(f"--- {name}-{index} log tail ---\n" + processes.log_tail(f"{name}-{index}", 30))
            break
        try:
            warm = instance.send(Body("members", "signed", min(4096, subject.cap)))
            if not warm["expected"]:
                failures.append(f"{name} warm-up: answered {warm['status']} {warm['answer']}")
            warm_rss.append(harness.proc_status_kib(instance.proc.pid, "VmRSS") or 0)
            row = instance.send(body)
        except Exception as exc:  # noqa: BLE001 - reported with the function's log tail
            failures.append(f"{name} {body.label} {body.auth}: {type(exc).__name__}: {exc}")
            log(f"--- {instance.name} log tail ---\n" + processes.log_tail(instance.name, 30))
            continue
        finally:
            instance.stop()
        rows.append(row)
        peak = row["vmhwm_kib"]
        if not row["expected"]:
            failures.append(f"{name} {row['kind']} {row['auth']}: answered {row['status']} {row['answer']}")
        if peak is None or not row["peak_reset"]:
            failures.append(f"{name} {row['kind']} {row['auth']}: peak RSS not measured (VmHWM {peak}, "
                            f"reset {row['peak_reset']})")
        elif peak > limit_kib:
            failures.append(f"{name} {row['kind']} {row['auth']}: VmHWM {peak / 1024:.1f} MiB over {limit_kib / 1024:.0f} MiB")
        log(f"{name} {row['kind']:>8} {row['auth']:>6}: {row['body_bytes']:>8} B -> {row['status']} {row['answer']}, "
            f"VmHWM {'n/a' if peak is None else f'{peak / 1024:.1f} MiB'} ({row['duration_ms']} ms)")
    peaks = [row["vmhwm_kib"] for row in rows if row["vmhwm_kib"] is not None]
    return {
        "binary": subject.provider["binary"],
        "binary_path": str(subject.binary),
        "cap_bytes": subject.cap,
        "baseline_rss_kib": max(warm_rss, default=None),  # after the warm-up, before the body
        "peak_kib": max(peaks, default=None),
        "bodies": rows,
    }, failures


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", type=Path, required=True,
                        help="where the function binaries are: <dir>/<binary> or <dir>/<binary>/bootstrap")
    parser.add_argument("--label", help="how the report names the binaries (default: debug or release build)")
    parser.add_argument("--provider", action="append", help="only this provider (repeatable)")
    parser.add_argument("--cap", action="append", default=[], metavar="PROVIDER=BYTES",
                        help="measure at this cap instead of the template's default (repeatable)")
    parser.add_argument("--limit-mib", type=float, default=DEFAULT_LIMIT_MIB,
                        help="fail above this VmHWM (default %(default)s MiB: half of 128 MB)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--log-dir", type=Path, help="process logs (default .local/bench/memory-<time>)")
    args = parser.parse_args(argv)

    overrides = {}
    for item in args.cap:
        name, _, size = item.partition("=")
        overrides[name] = int(size)
    in_template = receivers_in_template()
    providers = [p for p in registry.providers() if p["binary"] in in_template
                 and (not args.provider or p["name"] in args.provider)]
    if not providers:
        raise SystemExit("no provider to measure")
    chosen = [Subject(p, find_binary(args.bin_dir, p["binary"]), overrides.get(p["name"], in_template[p["binary"]][0]),
                      in_template[p["binary"]][1]) for p in providers]

    log_dir = args.log_dir or REPO / ".local" / "bench" / time.strftime("memory-%Y%m%d-%H%M%S")
    processes = harness.start_processes(log_dir)

    started = time.monotonic()
    limit_kib = int(args.limit_mib * 1024)
    results: dict[str, Any] = {}
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        moto = harness.Moto(processes, "moto-memory", Path(scratch) / "moto.rec")
        local_aws.create_table(moto.endpoint, TABLE)
        local_aws.create_bucket(moto.endpoint)
        local_aws.create_queue(moto.endpoint)
        local_aws.ensure_secrets(moto.endpoint, registry.dev_secrets(), reset=True)
        for subject in chosen:
            result, problems = run_subject(processes, moto.endpoint, subject, limit_kib)
            results[subject.provider["name"]] = result
            failures += problems
        processes.stop(moto.proc, harness.STOP_TIMEOUT)

    kind_of_build = "debug build" if any("debug" in s.binary.parts for s in chosen) else "release build"
    output = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "label": args.label or kind_of_build,
        "memory_mb_setting": harness.MEMORY_MB,
        "limit_kib": limit_kib,
        "nesting_depth": NESTING_DEPTH,
        "seconds": round(time.monotonic() - started, 1),
        "functions": results,
        "failures": failures,
    }
    if not harness.write_results(args.out, output, failures, log_dir):
        return 1
    summary = ", ".join(f"{name} {r['peak_kib'] / 1024:.1f} MiB at {r['cap_bytes']} B" for name, r in results.items())
    log(f"ok: peak VmHWM per function: {summary}; limit {args.limit_mib:g} MiB; {output['seconds']} s; logs: {log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
