"""Never lose an authentic event, even when the provider never retries (issue 11).

No provider promises a retry, so every authentic delivery must end up in the table from the one
request it makes: the table cut (queued, then drained), the table and the queue cut (503 only
then), a wrong secret in place (quarantined, then promoted), items DynamoDB refuses (stored
anyway), AWS black-holed (an answer inside the Lambda timeout), and Amani re-spellings of one
signed body (one event).

This module brings up its own small stack, like test_6: a moto with requests serialized
(conftest.ATOMIC_MOTO) holding the table NL_TABLE, the payload bucket, the fallback queue and its
dead-letter queue and the secrets; three fault proxies in front of it, one per kind of traffic,
so the table and the queue can be cut apart (the SDK's service-specific endpoint variables):

  proxy-nl-ddb   DynamoDB (AWS_ENDPOINT_URL_DYNAMODB)
  proxy-nl-sqs   SQS (AWS_ENDPOINT_URL_SQS)
  proxy-nl-aws   everything else, Secrets Manager and S3 (AWS_ENDPOINT_URL)

and six `cargo lambda watch` instances, all with FALLBACK_QUEUE_URL:

  nl          the four functions through the three proxies, --concurrency 3; its drain function
              (webhook-drain) is what scripts/drain_pump.py feeds
  nl-token    amani-webhook in token mode, likewise
  nl-cold     the four functions through the proxies, never invoked before the black-hole test
  nl-q        the four functions, AWS direct, WEBHOOK_SECRET_ID=webhooks/nl/quarantine, which holds
              a wrong secret (current and previous) from before they start
  nl-q-token  amani-webhook in token mode, likewise with webhooks/nl/quarantine-token
  nl-flood    alocity-webhook and amani-webhook, AWS direct, QUARANTINE_PER_MINUTE=20 and
              QUARANTINE_BYTES_PER_MINUTE=64 KiB

Every loop is bounded in count and time; the figures of the run are written to
.local/e2e/<run>/never-lost.json and .local/e2e/never-lost-latest.json and printed.
Knobs: E2E_NEVER_LOST_EVENTS (default 500), E2E_FLOOD_REQUESTS (default 400).
"""

from __future__ import annotations

import collections
import json
import math
import os
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

import sign
from conftest import (
    BUCKET,
    CARGO_LAMBDA,
    IN_FLIGHT,
    MODES,
    QUEUE,
    READY_TIMEOUT,
    UNRELATED_SECRET,
    Answer,
    Aws,
    Event,
    Instance,
    Proxy,
    amani_token_header,
    base_env,
    check_items,
    cli_runner,
    close_sessions,
    deliver,
    describe_problems,
    drain,
    event_for,
    faceio_app_id,
    free_port,
    fresh_event,
    held_digest,
    load_vectors,
    local_aws,
    percentile_ms,
    prebuild,
    publish_figures,
    queue_url_via,
    run_parallel,
    sha256_hex,
    spawn_proxy,
    start_atomic_moto,
    start_instance,
    wait_drain,
    wait_function,
    wait_port,
)

NL_TABLE = "webhook-events-never-lost"
NL_EVENTS = int(os.environ.get("E2E_NEVER_LOST_EVENTS", "500"))
FLOOD_REQUESTS = int(os.environ.get("E2E_FLOOD_REQUESTS", "400"))
ALL_MODES = ["alocity-selfie", "alocity", "faceio", "amani-signature", "amani-token"]
SIGNATURE_MODES = ["alocity-selfie", "alocity", "faceio", "amani-signature"]  # the main instances' modes
FUNCTION_CONCURRENCY = 3
LAMBDA_TIMEOUT_S = 5.0  # template.yaml's Timeout; FACEIO gives up at 6 s
OUTAGE_S = 10.0
SEND_SPREAD_S = 20.0  # one run's events are paced over this long
CUT_AT_S = 4.0  # the cut starts this long after the first event went out
PUMP_TIMEOUT_S = 180.0
OUTAGE_503_MARGIN_S = 1.0  # a 503 may end this long after the restore (the request was under way)

# Quarantine: a wrong secret in place at the start of nl-q / nl-q-token, the real one put back later.
Q_SECRET_ID = "webhooks/nl/quarantine"
Q_TOKEN_SECRET_ID = "webhooks/nl/quarantine-token"
Q_REAL = {"signature": "e2e-quarantine-real-7c21", "token": "e2e-quarantine-token-real-5be0"}
Q_WRONG_CURRENT = "e2e-quarantine-wrong-current-0d4a"
Q_WRONG_PREVIOUS = "e2e-quarantine-wrong-previous-9f13"
Q_REAL_EVENTS = 50
Q_FORGED_EVENTS = 10
REFUSALS = {"signature_mismatch", "token_mismatch", "wrong_app"}
PROMOTE_OUTCOMES = {"stored", "duplicate", "conflict", "not_authentic", "would_promote"}

FLOOD_PER_MINUTE = 20
FLOOD_BYTES_PER_MINUTE = 64 * 1024
FLOOD_LARGE_REQUESTS = 100
FLOOD_LARGE_BODY = 16 * 1024

FIGURES: dict[str, Any] = {}


# ---------------------------------------------------------------------------------------------
# Stack for this module
# ---------------------------------------------------------------------------------------------


@dataclass
class NeverLost:
    processes: Any
    aws: Aws  # this module's moto, direct
    ddb_proxy: Proxy
    sqs_proxy: Proxy
    aws_proxy: Proxy  # Secrets Manager, S3
    instances: dict[str, Instance]

    def instance(self, mode_name: str, stack: str = "nl") -> Instance:
        """The instance of `stack` (nl, nl-q) that serves `mode_name`."""
        return self.instances[f"{stack}-token" if MODES[mode_name].instance == "token" else stack]

    def proxies(self) -> list[Proxy]:
        return [self.ddb_proxy, self.sqs_proxy, self.aws_proxy]

    def restore_all(self) -> None:
        for proxy in self.proxies():
            proxy.restore()

    def drain(self) -> dict[str, Any]:
        """The pump, until the queue is empty, into nl's drain function."""
        return drain(self.processes, self.instances["nl"], self.aws, QUEUE, PUMP_TIMEOUT_S)

    def logs(self, lines: int = 30) -> str:
        names = ["moto-nl", "proxy-nl-ddb", "proxy-nl-sqs", "proxy-nl-aws", "drain-pump",
                 *(f"watch-{n}" for n in self.instances)]
        return "\n".join(f"--- {n} ---\n{self.processes.log_tail(n, lines)}" for n in names)


@pytest.fixture(scope="module")
def nl(processes, request):
    if not CARGO_LAMBDA.exists():
        pytest.fail(f"{CARGO_LAMBDA} missing: run `make tools` (scripts/tools.sh)", pytrace=False)
    started = time.monotonic()
    prebuild(processes)  # a no-op when the suite's stack already built the binaries
    spawned = []
    moto, endpoint = start_atomic_moto(processes, "moto-nl")
    spawned.append(moto)
    local_aws.create_table(endpoint, NL_TABLE)
    local_aws.create_bucket(endpoint, BUCKET)
    local_aws.create_queue(endpoint, QUEUE)
    aws = Aws(endpoint, NL_TABLE)
    for mode in MODES.values():
        secrets = load_vectors(mode.name)["secrets"]
        aws.seed_secret(mode.secret_id, secrets["previous"], secrets["current"])
    # Neither stage holds the secret nl-q's deliveries are signed with.
    for secret_id in (Q_SECRET_ID, Q_TOKEN_SECRET_ID):
        aws.seed_secret(secret_id, Q_WRONG_PREVIOUS, Q_WRONG_CURRENT)

    upstream = endpoint.removeprefix("http://")
    proxies = {}
    for name in ("ddb", "sqs", "aws"):
        proxies[name], proc = spawn_proxy(processes, f"proxy-nl-{name}", upstream)
        spawned.append(proc)

    queue_url = aws.queue_url()
    through = {**base_env(proxies["aws"].endpoint, queue_url_via(queue_url, proxies["sqs"].endpoint)),
               "EVENTS_TABLE": NL_TABLE,
               "AWS_ENDPOINT_URL_DYNAMODB": proxies["ddb"].endpoint,
               "AWS_ENDPOINT_URL_SQS": proxies["sqs"].endpoint}
    direct = {**base_env(endpoint, queue_url), "EVENTS_TABLE": NL_TABLE, "QUARANTINE": "on"}
    token = MODES["amani-token"]
    token_env = {"AMANI_AUTH_MODE": "token", "AMANI_TOKEN_HEADER": amani_token_header(),
                 "WEBHOOK_SECRET_ID": token.secret_id}
    main_binaries = sorted({MODES[m].binary for m in SIGNATURE_MODES})
    instances = {
        "nl": Instance("nl", free_port(), dict(through), main_binaries),
        "nl-token": Instance("nl-token", free_port(), {**through, **token_env}, [token.binary]),
        "nl-cold": Instance("nl-cold", free_port(), dict(through), []),
        "nl-q": Instance("nl-q", free_port(), {**direct, "WEBHOOK_SECRET_ID": Q_SECRET_ID}, main_binaries),
        "nl-q-token": Instance("nl-q-token", free_port(), {**direct, **token_env,
                                                           "WEBHOOK_SECRET_ID": Q_TOKEN_SECRET_ID},
                               [token.binary]),
        "nl-flood": Instance("nl-flood", free_port(), {
            **direct, "QUARANTINE_PER_MINUTE": str(FLOOD_PER_MINUTE),
            "QUARANTINE_BYTES_PER_MINUTE": str(FLOOD_BYTES_PER_MINUTE)},
            sorted({MODES["alocity"].binary, MODES["amani-signature"].binary})),
    }
    try:
        for inst in instances.values():
            extra = ("--concurrency", str(FUNCTION_CONCURRENCY)) if inst.name in ("nl", "nl-token") else ()
            start_instance(processes, inst, extra)
            spawned.append(inst.proc)
        deadline = time.monotonic() + READY_TIMEOUT
        for inst in instances.values():
            wait_port(inst.port, max(1.0, deadline - time.monotonic()), inst.proc)
            for binary in inst.binaries:
                wait_function(processes, inst, binary, deadline)
        wait_drain(processes, instances["nl"], deadline)
        FIGURES["module_setup_s"] = round(time.monotonic() - started, 1)
        module_started = time.monotonic()
        yield NeverLost(processes, aws, proxies["ddb"], proxies["sqs"], proxies["aws"], instances)
        FIGURES["module_tests_s"] = round(time.monotonic() - module_started, 1)
    finally:
        for proc in reversed(spawned):
            processes.stop(proc)
        # Stopped and reaped: keep the session's final stop_all away from their (reusable) pids.
        processes.procs[:] = [(n, p) for n, p in processes.procs if p not in spawned]
        if FIGURES:
            publish_figures(request.config, processes.log_dir, "never-lost", FIGURES)


@pytest.fixture
def healthy(nl):
    """Every proxy forwarding before and after the test, whatever the test did."""
    nl.restore_all()
    yield nl
    nl.restore_all()


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def status_of(a: Answer) -> str:
    """The answer in a few words: 200 stored, 202 queued, 503 storage_unavailable, 401 token_mismatch ..."""
    if a.status is None:
        return f"no answer ({a.json})"
    word = ""
    if isinstance(a.json, dict):
        word = a.json.get("status") or a.json.get("error") or ""
    return f"{a.status} {word}".strip()


ACCEPTED = {"200 stored", "202 queued", "200 duplicate"}


def accepted(a: Answer, event: Event) -> bool:
    """A 2xx that says the event is safe: stored (or found already stored), or queued."""
    return status_of(a) in ACCEPTED and a.json.get("key") == event.key


def paced(nl: NeverLost, events: list[Event], t0: float, spread_s: float = SEND_SPREAD_S):
    """deliver() of event i to nl, not before t0 + i * spread_s / len(events)."""
    index = {id(e): i for i, e in enumerate(events)}

    def send(event: Event) -> Answer:
        at = t0 + index[id(event)] * spread_s / len(events)
        time.sleep(max(0.0, at - time.monotonic()))
        return deliver(nl.instance(event.mode.name), event)

    return send


def held_by_event(held: dict[str, int] | set[str], events: list[Event]) -> dict[int, list[str]]:
    """id(event) -> the held objects of its body (normally one)."""
    keys = collections.defaultdict(list)
    for key in held:
        keys[held_digest(key)].append(key)
    return {id(e): keys.get((e.mode.provider, sha256_hex(e.body)[:16]), []) for e in events}


def settled_quarantine(nl: NeverLost, before: set[str], expect: int | None = None) -> dict[str, int]:
    """The objects held since `before`, once `expect` of them are there or two listings 0.2 s
    apart agree (at most 10 s: the receivers write them before they answer, this only absorbs
    lag)."""
    held: dict[str, int] = {}
    for _ in range(50):
        now = {k: v for k, v in nl.aws.quarantine().items() if k not in before}
        if (expect is not None and len(now) >= expect) or (expect is None and now == held and now):
            return now
        held = now
        time.sleep(0.2)
    return held


@pytest.fixture(autouse=True)
def _close_test_thread_sessions():
    """Sends from the test's own thread (not only from run_parallel's pool) keep a session open."""
    yield
    close_sessions()


def cut_after(t0: float, proxies: list[Proxy], phases: list[tuple[str, float]], window: dict[str, float]):
    """A while_running hook for run_parallel: at t0 + CUT_AT_S, cut `proxies` through `phases`
    ((mode, seconds), ...), then restore them; the times go into `window`."""

    def run(_futures: list) -> None:
        time.sleep(max(0.0, t0 + CUT_AT_S - time.monotonic()))
        window["cut"] = time.monotonic()
        try:
            for mode, seconds in phases:
                for proxy in proxies:
                    proxy.cut(mode)
                time.sleep(seconds)
        finally:
            for proxy in proxies:
                proxy.restore()
        window["restored"] = time.monotonic()

    return run


def latency_figures(answers: list[Answer]) -> dict[str, Any]:
    elapsed = [a.elapsed for a in answers]
    return {"latency_p50_ms": percentile_ms(elapsed, 0.5), "latency_p99_ms": percentile_ms(elapsed, 0.99),
            "latency_max_ms": percentile_ms(elapsed, 1.0)}


def pump_figures(summary: dict[str, Any]) -> dict[str, Any]:
    keys = ("rc", "received", "invocations", "deleted", "item_failures", "function_errors", "delete_failures",
            "max_receive_count", "elapsed_s", "queue_messages", "dlq_messages")
    return {k: summary.get(k) for k in keys}


def check_drained(nl: NeverLost, summary: dict[str, Any]) -> list[str]:
    problems = []
    if summary.get("rc") != 0:
        problems.append(f"the pump did not empty the queue: {summary}")
    depth, dlq = nl.aws.queue_depth(), nl.aws.dlq_depth()
    if depth or dlq:
        problems.append(f"after the drain: {depth} message(s) on the queue, {dlq} on the dead-letter queue")
    return problems


# ---------------------------------------------------------------------------------------------
# a. The table cut for 10 s, every event sent once: all 2xx, all stored once after the drain
# ---------------------------------------------------------------------------------------------


def test_table_cut_every_event_answered_2xx_and_stored_once_after_the_drain(healthy):
    nl = healthy
    events = [event_for(i, ALL_MODES) for i in range(NL_EVENTS)]
    assert len({e.pk for e in events}) == NL_EVENTS
    before = nl.aws.pks()
    window: dict[str, float] = {}

    # Given the table unreachable for 10 s (refused, then hanging past the store deadline) in the
    # middle of the run, and the queue reachable; when each event is delivered once, no retry:
    t0 = time.monotonic()
    answers = run_parallel(events, paced(nl, events, t0), while_running=cut_after(
        t0, [nl.ddb_proxy], [("refuse", OUTAGE_S / 2), ("blackhole", OUTAGE_S / 2)], window))
    send_s = time.monotonic() - t0

    # then every answer is a 2xx: stored, or queued;
    problems = [f"{e.pk}: {status_of(a)} {a.json}" for e, a in zip(events, answers) if not accepted(a, e)]
    statuses = collections.Counter(status_of(a) for a in answers)
    queued_before_drain = nl.aws.queue_depth()

    # and after the drain every event is in the table exactly once, nothing else written.
    summary = nl.drain()
    problems += check_drained(nl, summary)
    new = nl.aws.new_items(before)
    problems += check_items(new, events)
    FIGURES["table_cut"] = {
        "events": NL_EVENTS,
        "sent_once_each": True,
        "in_flight": IN_FLIGHT,
        "function_concurrency": FUNCTION_CONCURRENCY,
        "outage_s": OUTAGE_S,
        "outage_modes": ["refuse", "blackhole"],
        "cut_proxies": ["dynamodb"],
        "events_per_mode": dict(collections.Counter(e.mode.name for e in events)),
        "answers": dict(statuses),
        "answered_during_cut": sum(1 for a in answers if window.get("cut", 0) <= a.started + a.elapsed
                                   <= window.get("restored", 0)),
        "queue_messages_before_drain": queued_before_drain,
        "pump": pump_figures(summary),
        "items_written": len(new),
        "lost": sum(1 for e in events if e.pk not in new),
        "duplicated": len(set(new) - {e.pk for e in events}),
        "send_s": round(send_s, 1),
        **latency_figures(answers),
    }
    assert not problems, describe_problems(problems, nl.logs())
    assert window.get("restored"), "the cut never happened"
    assert statuses.get("202 queued", 0) > 0, f"nothing was queued during the cut: {dict(statuses)}"
    assert len(new) == NL_EVENTS


# ---------------------------------------------------------------------------------------------
# b. The table and the queue cut together: 503 only then, no 2xx lost
# ---------------------------------------------------------------------------------------------


def test_table_and_queue_cut_503_only_during_the_cut_and_no_2xx_lost(healthy):
    nl = healthy
    events = [event_for(i, ALL_MODES) for i in range(NL_EVENTS)]
    before = nl.aws.pks()
    window: dict[str, float] = {}

    t0 = time.monotonic()
    answers = run_parallel(events, paced(nl, events, t0), while_running=cut_after(
        t0, [nl.ddb_proxy, nl.sqs_proxy], [("refuse", OUTAGE_S / 2), ("reset", OUTAGE_S / 2)], window))
    assert window.get("restored"), "the cut never happened"

    problems = []
    refused: list[Event] = []
    for e, a in zip(events, answers):
        if accepted(a, e):
            continue
        if status_of(a) != "503 storage_unavailable":
            problems.append(f"{e.pk}: {status_of(a)} {a.json}")
            continue
        refused.append(e)
        # A 503 only for a request that was under way while the table and the queue were cut.
        if a.started + a.elapsed < window["cut"] or a.started > window["restored"] + OUTAGE_503_MARGIN_S:
            problems.append(f"{e.pk}: 503 outside the cut (sent {a.started - window['cut']:+.1f}s after "
                            f"the cut, {a.started - window['restored']:+.1f}s after the restore)")
    statuses = collections.Counter(status_of(a) for a in answers)

    summary = nl.drain()
    problems += check_drained(nl, summary)
    new = nl.aws.new_items(before)
    ok = {e.pk for e, a in zip(events, answers) if accepted(a, e)}
    lost_2xx = sorted(ok - set(new))
    problems += [f"{pk}: answered 2xx, not in the table" for pk in lost_2xx]
    # What was written is one item per event (a 503'd event may be there: its write landed, the
    # answer did not), each the event's own.
    problems += check_items(new, [e for e in events if e.pk in new or e.pk in ok])

    # The provider's retry of each 503 (the only answer that asks for one) is then stored once.
    retries = run_parallel(refused, lambda e: deliver(nl.instance(e.mode.name), e))
    problems += [f"retry {e.pk}: {status_of(a)} {a.json}" for e, a in zip(refused, retries) if not accepted(a, e)]
    summary_after_retries = nl.drain()
    problems += check_drained(nl, summary_after_retries)
    final = nl.aws.new_items(before)
    problems += check_items(final, events)

    FIGURES["table_and_queue_cut"] = {
        "events": NL_EVENTS,
        "outage_s": OUTAGE_S,
        "outage_modes": ["refuse", "reset"],
        "cut_proxies": ["dynamodb", "sqs"],
        "answers": dict(statuses),
        "http_503": len(refused),
        "answered_2xx": len(ok),
        "lost_2xx": len(lost_2xx),
        "pump": pump_figures(summary),
        "retried_503s": len(retries),
        "retry_answers": dict(collections.Counter(status_of(a) for a in retries)),
        "items_written": len(final),
        "lost_after_retries": sum(1 for e in events if e.pk not in final),
        **latency_figures(answers),
    }
    assert not problems, describe_problems(problems, nl.logs())
    assert refused, f"no 503 while the table and the queue were both cut: {dict(statuses)}"


# ---------------------------------------------------------------------------------------------
# c. A wrong secret in place: 401 and quarantined; the real secret back, promote: stored once
# ---------------------------------------------------------------------------------------------


def promote_runs() -> list[list[str]]:
    """`webhooks quarantine promote` once per mode of nl-q / nl-q-token, with its settings."""
    runs = []
    for name in ALL_MODES:
        mode = MODES[name]
        args = ["--provider", mode.provider, "--bucket", BUCKET, "--table", NL_TABLE]
        if mode.provider == "faceio":
            args += ["--app-id", faceio_app_id()]
        if mode.provider == "amani":
            args += ["--amani-mode", mode.amani_auth]
        if mode.amani_auth == "token":
            args += ["--token-header", amani_token_header(), "--secret-id", Q_TOKEN_SECRET_ID]
        else:
            args += ["--secret-id", Q_SECRET_ID]
        runs.append(args)
    return runs


def promote(cli, *extra: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Every promote run's JSON lines, and what went wrong running them."""
    lines, problems = [], []
    for args in promote_runs():
        run = cli("quarantine", "promote", *args, *extra, "--json")
        if run.code not in (0, 1) or "panicked" in run.err:
            problems.append(str(run))
            continue
        try:
            got = run.lines()
        except (ValueError, AssertionError):
            problems.append(f"not JSON lines: {run}")
            continue
        for line in got:
            if not {"provider", "object", "reason", "outcome"} <= set(line) or line["outcome"] not in PROMOTE_OUTCOMES:
                problems.append(f"promote line {line}")
        lines += got
    return lines, problems


def test_wrong_secret_quarantined_then_promoted_once_forged_stay_out(healthy, webhooks_bin):
    nl = healthy
    cli = cli_runner(webhooks_bin, nl.aws.endpoint)
    real = [event_for(i, ALL_MODES) for i in range(Q_REAL_EVENTS)]
    forged = [event_for(i, ALL_MODES) for i in range(Q_REAL_EVENTS, Q_REAL_EVENTS + Q_FORGED_EVENTS)]
    signer = {id(e): Q_REAL["token" if e.mode.amani_auth == "token" else "signature"] for e in real}
    signer.update({id(e): UNRELATED_SECRET for e in forged})
    batch = real + forged
    random.Random(11).shuffle(batch)
    before_items = nl.aws.pks()
    before_held = set(nl.aws.quarantine())

    # Given nl-q holding a wrong secret (neither stage matches), when 50 real and 10 forged
    # deliveries arrive, mixed: all are refused 401, and each is held in the quarantine.
    answers = run_parallel(batch, lambda e: deliver(nl.instance(e.mode.name, "nl-q"), e, secret=signer[id(e)]))
    problems = [f"{e.pk}: {status_of(a)} {a.json}" for e, a in zip(batch, answers)
                if a.status != 401 or not isinstance(a.json, dict) or a.json.get("error") not in REFUSALS]
    held = settled_quarantine(nl, before_held, expect=len(batch))
    by_event = held_by_event(held, batch)
    problems += [f"{e.pk}: held as {by_event[id(e)]}" for e in batch if len(by_event[id(e)]) != 1]
    if len(held) != len(batch):
        problems.append(f"{len(held)} object(s) held for {len(batch)} deliveries")
    if nl.aws.pks() != before_items:
        problems.append(f"refused deliveries reached the table: {sorted(nl.aws.pks() - before_items)[:5]}")
    # What a held delivery keeps is enough to verify it later, never a token in clear.
    never_in_clear = [Q_REAL["signature"], Q_REAL["token"], UNRELATED_SECRET, Q_WRONG_CURRENT, Q_WRONG_PREVIOUS]
    for key in held:
        text = nl.aws.body_object(key).decode("utf-8", errors="replace")
        problems += [f"{key} holds a secret or token in clear" for s in never_in_clear if s in text]
    assert not problems, describe_problems(problems, nl.logs())

    # When the real secret is put back (the wrong one becomes AWSPREVIOUS) ...
    nl.aws.rotate(Q_SECRET_ID, Q_REAL["signature"])
    nl.aws.rotate(Q_TOKEN_SECRET_ID, Q_REAL["token"])

    # ... a dry run promotes nothing and says what it would do;
    started = time.monotonic()
    dry_namespace, namespace = (f"Webhooks/e2e-promote-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("dry", "real"))
    dry, problems = promote(cli, "--dry-run", "--metrics-namespace", dry_namespace)
    dry_outcomes = collections.Counter(line["outcome"] for line in dry)
    if nl.aws.pks() != before_items or set(nl.aws.quarantine()) - before_held != set(held):
        problems.append("the dry run changed the table or the quarantine")
    would = {line["object"] for line in dry if line["outcome"] == "would_promote"}
    real_objects = {by_event[id(e)][0] for e in real if by_event[id(e)]}
    forged_objects = {by_event[id(e)][0] for e in forged if by_event[id(e)]}
    if {o.rsplit("/", 1)[-1] for o in would} != {o.rsplit("/", 1)[-1] for o in real_objects}:
        problems.append(f"dry run: {len(would)} would be promoted, {len(real_objects)} are authentic: {dict(dry_outcomes)}")

    # then `webhooks quarantine promote` stores each of the 50 once, marked as promoted, and the
    # forged stay held and out of the table;
    lines, more = promote(cli, "--metrics-namespace", namespace)
    promote_s = time.monotonic() - started
    problems += more
    # It published its metrics as the functions do (PutMetricData; moto's CloudWatch), per
    # provider: Promoted and Stored by provider and source=promote, Stored by provider; the dry
    # run published nothing.
    # (moto's statistics match every data point whose dimensions include the ones asked, so the
    # sums are taken on the full set; the provider-only set is checked to exist.)
    promoted_by_provider = collections.Counter(e.mode.provider for e in real)
    published = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
                 for m in nl.aws.metrics(namespace)}
    for provider, count in sorted(promoted_by_provider.items()):
        for metric in ("Promoted", "Stored"):
            dimensions = {"provider": provider, "source": "promote"}
            got = nl.aws.metric_sum(namespace, metric, dimensions)
            if got != count:
                problems.append(f"{metric} {dimensions}: {got} published, {count} promoted")
            if (metric, (("provider", provider),)) not in published:
                problems.append(f"{metric} not published by provider {provider} alone: {sorted(published)}")
    if nl.aws.metrics(dry_namespace):
        problems.append(f"the dry run published metrics: {nl.aws.metrics(dry_namespace)}")
    outcomes = collections.Counter(line["outcome"] for line in lines)
    stored = {line["object"].rsplit("/", 1)[-1] for line in lines if line["outcome"] == "stored"}
    if stored != {o.rsplit("/", 1)[-1] for o in real_objects} or outcomes.get("stored") != len(real):
        problems.append(f"promote stored {len(stored)} object(s), {len(real_objects)} are authentic: {dict(outcomes)}")
    new = nl.aws.new_items(before_items)
    problems += check_items(new, real)
    for e in real:
        item = new.get(e.pk) or {}
        if not item.get("promoted_at") or item.get("quarantine_reason") not in REFUSALS:
            problems.append(f"{e.pk}: promoted_at={item.get('promoted_at')!r} "
                            f"quarantine_reason={item.get('quarantine_reason')!r}")
    still_held = set(nl.aws.quarantine()) - before_held
    if still_held != forged_objects:
        problems.append(f"held after promote: {len(still_held)} object(s), expected the {len(forged_objects)} forged")
    listed = cli("quarantine", "list", "--bucket", BUCKET, "--json")
    listed_names = set()
    if listed.code == 0:
        for line in listed.lines():
            listed_names |= {v.rsplit("/", 1)[-1] for v in line.values() if isinstance(v, str) and v.endswith(".json")}
    else:
        problems.append(str(listed))
    if not {o.rsplit("/", 1)[-1] for o in forged_objects} <= listed_names:
        problems.append(f"quarantine list does not show the forged ones still held: {listed.out[:500]}")

    # and promoting again stores nothing new.
    again, more = promote(cli)
    problems += more
    again_outcomes = collections.Counter(line["outcome"] for line in again)
    if set(again_outcomes) - {"duplicate", "not_authentic"}:
        problems.append(f"second promote: {dict(again_outcomes)}")
    if nl.aws.pks() - before_items != set(new):
        problems.append("the second promote wrote to the table")

    FIGURES["quarantine_promote"] = {
        "real_deliveries": len(real),
        "forged_deliveries": len(forged),
        "modes": dict(collections.Counter(e.mode.name for e in batch)),
        "answers": dict(collections.Counter(status_of(a) for a in answers)),
        "objects_held": len(held),
        "held_bytes": sum(held.values()),
        "dry_run_outcomes": dict(dry_outcomes),
        "promote_outcomes": dict(outcomes),
        "promoted_items": sum(1 for item in new.values() if item.get("promoted_at")),
        "still_held_after_promote": len(still_held),
        "second_promote_outcomes": dict(again_outcomes),
        "promote_runs_s": round(promote_s, 1),
        **latency_figures(answers),
    }
    assert not problems, describe_problems(problems, nl.logs())


# ---------------------------------------------------------------------------------------------
# d. A forged flood: still 401, quarantine growth within the per-instance limits
# ---------------------------------------------------------------------------------------------


def _forged_large(i: int) -> Event:
    """A forged Amani delivery of about FLOOD_LARGE_BODY bytes."""
    mode = MODES["amani-signature"]
    base = fresh_event(mode)
    obj = json.loads(base.body)
    obj["e2e_blob"] = f"{i:06d}" + "x" * FLOOD_LARGE_BODY
    body = json.dumps(obj).encode()
    return Event(mode, body, sha256_hex(body), base.subject, base.event_code, base.marker)


def test_forged_flood_quarantine_stays_within_its_limits(healthy):
    nl = healthy
    inst = nl.instances["nl-flood"]
    small = [fresh_event(MODES["alocity"]) for _ in range(FLOOD_REQUESTS)]
    large = [_forged_large(i) for i in range(FLOOD_LARGE_REQUESTS)]
    before_items = nl.aws.pks()
    before_held = set(nl.aws.quarantine())

    # When forged requests arrive as fast as the client can send them (one function takes the
    # small ones, another the large ones: each has its own limits) ...
    t0 = time.monotonic()
    answers = run_parallel(small + large, lambda e: deliver(inst, e, secret=UNRELATED_SECRET))
    flood_s = time.monotonic() - t0
    held = settled_quarantine(nl, before_held)

    # ... each is still refused, nothing is stored, and what is held stays within the limits:
    # QUARANTINE_PER_MINUTE objects in any minute (the flood spans at most ceil(T/60) + 1
    # minutes, whether the limit counts per calendar minute or refills continuously), and
    # QUARANTINE_BYTES_PER_MINUTE of bodies per minute, plus at most one body over it.
    problems = [f"{e.pk}: {status_of(a)}" for e, a in zip(small + large, answers) if status_of(a) != "401 signature_mismatch"]
    if nl.aws.pks() != before_items:
        problems.append("forged requests reached the table")
    minutes = math.ceil(flood_s / 60) + 1
    held_small = [k for keys in held_by_event(held, small).values() for k in keys]
    large_held = held_by_event(held, large)
    bodies = {k: len(e.body) for e in large for k in large_held[id(e)]}
    count_bound = FLOOD_PER_MINUTE * minutes
    bytes_bound = FLOOD_BYTES_PER_MINUTE * minutes + max(len(e.body) for e in large)
    if not 1 <= len(held_small) <= count_bound:
        problems.append(f"{len(held_small)} small forged deliveries held; the bound is 1..{count_bound}")
    if not bodies or sum(bodies.values()) > bytes_bound:
        problems.append(f"{len(bodies)} large forged deliveries held, {sum(bodies.values())} body bytes; "
                        f"the bound is {bytes_bound}")
    if len(bodies) > count_bound:
        problems.append(f"{len(bodies)} large forged deliveries held; the count bound is {count_bound}")
    if len(held) != len(held_small) + len(bodies):
        problems.append(f"{len(held) - len(held_small) - len(bodies)} held object(s) match no delivery")

    FIGURES["forged_flood"] = {
        "requests_small": len(small),
        "requests_large": len(large),
        "large_body_bytes": len(large[0].body),
        "quarantine_per_minute": FLOOD_PER_MINUTE,
        "quarantine_bytes_per_minute": FLOOD_BYTES_PER_MINUTE,
        "flood_s": round(flood_s, 1),
        "requests_per_s": round((len(small) + len(large)) / flood_s, 1),
        "minutes_spanned_bound": minutes,
        "held_small": len(held_small),
        "held_small_bound": count_bound,
        "held_large": len(bodies),
        "held_large_body_bytes": sum(bodies.values()),
        "held_large_bytes_bound": bytes_bound,
        "held_object_bytes": sum(held.values()),
        "answers": dict(collections.Counter(status_of(a) for a in answers)),
        **latency_figures(answers),
    }
    assert not problems, describe_problems(problems, nl.logs())


# ---------------------------------------------------------------------------------------------
# e. Items DynamoDB refuses are stored anyway, exactly once under retry
# ---------------------------------------------------------------------------------------------

TINY = "1e-400"  # under DynamoDB's smallest number (1e-130); not even a double


def _with_tiny_number(event: Event, container: str) -> Event:
    obj = json.loads(event.body)
    obj.setdefault(container, {})
    if not isinstance(obj[container], dict):
        obj[container] = {}
    obj[container]["e2eTiny"] = "__TINY__"
    text = json.dumps(obj, indent=2).replace('"__TINY__"', TINY)
    assert text.count(TINY) == 1
    return Event(event.mode, text.encode(), event.key, event.subject, event.event_code, event.marker)


def poison_events() -> dict[str, Event]:
    alocity = fresh_event(MODES["alocity"])
    long_id = f"{uuid.uuid4()}-" + "L" * (3000 - 37)
    assert len(long_id) == 3000
    long_body = alocity.body.replace(alocity.key.encode(), long_id.encode())
    amani = MODES["amani-signature"]
    obj = json.loads(fresh_event(amani).body)
    empty_key_body = json.dumps({"": 1, **obj}).encode()
    faceio = fresh_event(MODES["faceio"])
    return {
        "alocity Id of 3000 characters (key over 2048 bytes)":
            Event(alocity.mode, long_body, long_id, alocity.subject, alocity.event_code, long_id),
        "amani empty object key": Event(amani, empty_key_body, sha256_hex(empty_key_body), None,
                                        obj.get("event", ""), sha256_hex(empty_key_body)),
        "alocity number 1e-400": _with_tiny_number(fresh_event(MODES["alocity"]), "Payload"),
        "faceio number 1e-400": _with_tiny_number(faceio, "payload"),
    }


def test_items_dynamodb_refuses_are_stored_once_under_retry(healthy):
    nl = healthy
    events = poison_events()
    before = nl.aws.pks()
    problems = []
    answers: dict[str, list[str]] = {}
    for name, event in events.items():
        first = deliver(nl.instance(event.mode.name), event)
        again = deliver(nl.instance(event.mode.name), event)
        answers[name] = [status_of(first), status_of(again)]
        if answers[name] != ["200 stored", "200 duplicate"]:
            problems.append(f"{name}: {answers[name]} {first.json} {again.json}")
        elif first.json.get("key") != again.json.get("key"):
            problems.append(f"{name}: keys {first.json.get('key')!r} then {again.json.get('key')!r}")
    new = nl.aws.new_items(before)
    by_body = collections.defaultdict(list)
    for item in new.values():
        by_body[item.get("body_sha256")].append(item)
    for name, event in events.items():
        items = by_body.pop(sha256_hex(event.body), [])
        if len(items) != 1:
            problems.append(f"{name}: {len(items)} item(s)")
            continue
        item = items[0]
        body = item.get("body")
        raw = body.encode() if isinstance(body, str) else bytes(getattr(body, "value", b""))
        if raw != event.body:
            problems.append(f"{name}: the stored body is not the delivered one")
        if len(item["pk"].encode()) > 2048 or not item["pk"].startswith(f"{event.mode.provider}#"):
            problems.append(f"{name}: pk {item['pk'][:80]}… ({len(item['pk'].encode())} bytes)")
        if event.key is not None and len(event.key) > 1000 and event.key not in item.values():
            problems.append(f"{name}: the original key is not kept as an attribute")
    problems += [f"unexpected item(s) {[i['pk'][:60] for i in items]}" for items in by_body.values()]
    if nl.aws.queue_depth():
        problems.append("a poison delivery went to the queue")
    FIGURES["poison_shapes"] = {"answers": answers, "items_written": len(new)}
    assert not problems, describe_problems(problems, nl.logs())


# ---------------------------------------------------------------------------------------------
# f. AWS black-holed: every answer before the Lambda timeout, cold and warm
# ---------------------------------------------------------------------------------------------


def test_black_holed_aws_every_answer_inside_the_lambda_timeout(healthy):
    nl = healthy
    before = nl.aws.pks()
    warmed = [fresh_event(MODES[m]) for m in ALL_MODES]
    warm_answers = [deliver(nl.instance(e.mode.name), e) for e in warmed]
    problems = [f"warm-up {e.pk}: {status_of(a)}" for e, a in zip(warmed, warm_answers) if status_of(a) != "200 stored"]

    warm = [fresh_event(MODES[m]) for m in ALL_MODES for _ in range(2)]
    cold = [fresh_event(MODES[m]) for m in SIGNATURE_MODES]  # the first request each function of nl-cold sees
    try:
        for proxy in nl.proxies():
            proxy.cut("blackhole")
        warm_got = run_parallel(warm, lambda e: deliver(nl.instance(e.mode.name), e, timeout=30))
        cold_got = [deliver(nl.instances["nl-cold"], e, timeout=30) for e in cold]
    finally:
        nl.restore_all()

    for label, events, got in (("warm", warm, warm_got), ("cold", cold, cold_got)):
        for e, a in zip(events, got):
            if a.status is None or not (200 <= a.status < 300 or a.status == 503):
                problems.append(f"{label} {e.mode.name}: {status_of(a)} {a.json}")
            if a.elapsed >= LAMBDA_TIMEOUT_S:
                problems.append(f"{label} {e.mode.name}: answered after {a.elapsed:.2f}s")

    # Once AWS is back, the provider's retry of each 503 is stored, and nothing is left queued.
    retry = [(e, "nl-cold" if e in cold else None) for e, a in zip(warm + cold, warm_got + cold_got)
             if not accepted(a, e)]
    for e, where in retry:
        a = deliver(nl.instances[where] if where else nl.instance(e.mode.name), e)
        if not accepted(a, e):
            problems.append(f"retry {e.mode.name}: {status_of(a)} {a.json}")
    summary = nl.drain()
    problems += check_drained(nl, summary)
    problems += check_items(nl.aws.new_items(before), warmed + warm + cold)
    FIGURES["black_holed"] = {
        "lambda_timeout_s": LAMBDA_TIMEOUT_S,
        "warm_answers": dict(collections.Counter(status_of(a) for a in warm_got)),
        "warm_max_ms": percentile_ms([a.elapsed for a in warm_got], 1.0),
        "cold_answers": dict(collections.Counter(status_of(a) for a in cold_got)),
        "cold_ms": {e.mode.name: round(1000 * a.elapsed) for e, a in zip(cold, cold_got)},
        "retried_after_restore": len(retry),
        "pump": pump_figures(summary),
    }
    assert not problems, describe_problems(problems, nl.logs())


# ---------------------------------------------------------------------------------------------
# g. Amani: one event per signed message, whatever its spelling
# ---------------------------------------------------------------------------------------------


def amani_spellings() -> tuple[dict[str, bytes], dict[str, bytes], str, str]:
    """Re-spellings of one json.dumps body that json.dumps maps back to it, re-spellings no
    json.dumps output can be, the signature (over the json.dumps form) and the canonical body."""
    mode = MODES["amani-signature"]
    obj = json.loads(fresh_event(mode).body)
    obj["e2e_score"] = 100.0
    obj["e2e_name"] = "Ahmet"
    canonical = json.dumps(obj)
    signature = sign.amani_signature(load_vectors(mode.name)["secrets"]["current"], obj)

    def once(text: str, old: str, new: str) -> str:
        assert text.count(old) == 1, old
        return text.replace(old, new)

    same = {
        "compact separators": json.dumps(obj, separators=(",", ":")),
        "extra white space": "  " + json.dumps(obj, indent=2) + "\n",
        "\\u0041 for A": once(canonical, '"Ahmet"', '"\\u0041hmet"'),
        "1E2 for 100.0": once(canonical, '"e2e_score": 100.0', '"e2e_score": 1E2'),
        "json.dumps itself": canonical,
    }
    for text in same.values():
        assert json.dumps(json.loads(text)) == canonical  # each verifies through the fallback
    never = {
        "repeated key": once(canonical, '"e2e_score": 100.0', '"e2e_score": 100.0, "e2e_score": 100.0').encode(),
        "UTF-8 BOM": b"\xef\xbb\xbf" + canonical.encode(),
    }
    return {k: v.encode() for k, v in same.items()}, never, signature, canonical


def test_amani_respellings_of_one_signed_body_are_one_event(healthy):
    nl = healthy
    mode = MODES["amani-signature"]
    same, never, signature, canonical = amani_spellings()
    key = sha256_hex(canonical.encode())
    before = nl.aws.pks()
    headers = {"Webhook-Signature": signature}
    base = Event(mode, canonical.encode(), key, None, "", key)

    # Given five spellings of one signed body (the first one sent is not json.dumps' own) ...
    got = {name: deliver(nl.instance(mode.name), base, body, headers=headers) for name, body in same.items()}
    statuses = [status_of(a) for a in got.values()]
    problems = []
    if statuses != ["200 stored"] + ["200 duplicate"] * (len(same) - 1):
        problems.append(f"answers {dict(zip(same, statuses))}")
    problems += [f"{name}: key {a.json.get('key') if isinstance(a.json, dict) else a.json}"
                 for name, a in got.items() if not isinstance(a.json, dict) or a.json.get("key") != key]

    # ... and two that json.dumps never writes: refused, not one more event.
    refused = {name: deliver(nl.instance(mode.name), base, body, headers=headers) for name, body in never.items()}
    problems += [f"{name}: {status_of(a)} {a.json}" for name, a in refused.items()
                 if a.status != 401 or a.json != {"error": "signature_mismatch"}]

    new = nl.aws.new_items(before)
    if set(new) != {f"amani#{key}"}:
        problems.append(f"items written: {sorted(new)}")
    item = new.get(f"amani#{key}") or {}
    stored = item.get("body")
    stored_form = {v.decode(): k for k, v in same.items()}.get(stored if isinstance(stored, str) else "", "other")
    if stored_form == "other" or item.get("body_sha256") != sha256_hex((stored or "").encode()):
        problems.append(f"stored body: {stored_form}, body_sha256 {item.get('body_sha256')}")
    FIGURES["amani_respellings"] = {
        "spellings": list(same),
        "answers": dict(zip(same, statuses)),
        "refused": {name: status_of(a) for name, a in refused.items()},
        "items_written": len(new),
        "stored_body_is": stored_form,
    }
    assert not problems, describe_problems(problems, nl.logs())


# ---------------------------------------------------------------------------------------------
# h. A body too large for a queue message travels as its S3 pointer
# ---------------------------------------------------------------------------------------------


def test_a_large_body_is_queued_as_its_s3_pointer_and_drained(healthy):
    nl = healthy
    mode = MODES["alocity-selfie"]
    small = fresh_event(mode)
    # A `Template` event's photo: 400 KiB of base64, over both the offload threshold (256 KiB)
    # and SQS's message limit (256 KiB).
    doc = json.loads(small.body)
    doc["Payload"] = {**(doc.get("Payload") or {}), "image": "A" * (400 * 1024)}
    body = json.dumps(doc).encode()
    event = Event(mode, body, small.key, small.subject, small.event_code, small.marker)
    before = nl.aws.pks()

    # Given the table unreachable, S3 and the queue up: the event is queued, its body in S3.
    nl.ddb_proxy.cut("refuse")
    try:
        answer = deliver(nl.instance(mode.name), event)
    finally:
        nl.ddb_proxy.restore()
    assert status_of(answer) == "202 queued", (answer.json, nl.logs())
    assert nl.aws.queue_depth() == 1

    # When the drain runs, the event is stored once, pointing at the object holding its body.
    summary = nl.drain()
    problems = check_drained(nl, summary)
    new = nl.aws.new_items(before)
    assert not problems, describe_problems(problems, nl.logs())
    assert list(new) == [event.pk], list(new)
    item = new[event.pk]
    assert "body" not in item and "payload" not in item
    assert item["body_s3_key"] == f"{mode.provider}/{sha256_hex(body)}"
    assert item["body_sha256"] == sha256_hex(body) and int(item["body_size"]) == len(body)
    assert nl.aws.body_object(item["body_s3_key"]) == body
    # And the same delivery again, the table back, is a duplicate.
    assert status_of(deliver(nl.instance(mode.name), event)) == "200 duplicate"
    FIGURES["large_body_queued"] = {"body_bytes": len(body), "answer": status_of(answer),
                                    "pump": pump_figures(summary)}
