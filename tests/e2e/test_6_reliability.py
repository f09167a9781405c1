"""Reliability at size: a duplicate storm, an AWS outage under a retrying sender, and Secrets
Manager unreachable while the secret is cached.

This module brings up its own small stack beside the suite's (same parts, own processes, so every
check can be made over the whole of what was written, not only over the keys we expect): a moto
with requests serialized (conftest.ATOMIC_MOTO), the events table REL_TABLE and the five secrets
in it, two fault proxies in front of it, and three `cargo lambda watch` instances:

  rel        the four functions, all AWS traffic through proxy-rel, --concurrency 3 (several
             copies of one function handle the copies of one event at the same time)
  rel-token  amani-webhook in token mode, likewise
  rel-sm     the four functions with DynamoDB straight to moto and Secrets Manager through
             proxy-rel-sm: AWS_ENDPOINT_URL_SECRETS_MANAGER (the SDK's service-specific endpoint
             variable, honoured by aws-config 1.x ahead of AWS_ENDPOINT_URL); SECRET_CACHE_TTL_SECS=2,
             so the cached secret is due for a refresh during the cut and the stale-on-error path
             is what answers

Each test snapshots the table, runs, and asserts that the items added are exactly the ones it
should have caused. Every loop is bounded; the figures of the run are written to
.local/e2e/<run>/reliability.json and .local/e2e/reliability-latest.json and printed.
Knobs: E2E_STORM_EVENTS (default 1000), E2E_OUTAGE_EVENTS (default 500).
"""

from __future__ import annotations

import collections
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from conftest import (
    CARGO_LAMBDA,
    IN_FLIGHT,
    MODES,
    READY_TIMEOUT,
    Answer,
    Aws,
    Event,
    Instance,
    Proxy,
    amani_token_header,
    base_env,
    check_items,
    close_sessions,
    conflicting_body,
    deliver,
    describe_problems,
    event_for,
    free_port,
    fresh_event,
    load_vectors,
    local_aws,
    prebuild,
    publish_figures,
    run_parallel,
    sha256_hex,
    spawn_proxy,
    start_atomic_moto,
    start_instance,
    wait_function,
    wait_port,
)

REL_TABLE = "webhook-events-reliability"
STORM_EVENTS = int(os.environ.get("E2E_STORM_EVENTS", "1000"))
STORM_COPIES = 3
OUTAGE_EVENTS = int(os.environ.get("E2E_OUTAGE_EVENTS", "500"))
FUNCTION_CONCURRENCY = 3
OUTAGE_S = 10.0  # refuse for the first half, reset for the second
OUTAGE_CUT_AFTER = 0.3  # cut once this share of the run's events has been accepted
RETRY_FIRST_S, RETRY_MAX_S, RETRY_BUDGET_S = 0.2, 2.0, 90.0
SM_TTL_S = 2
STORM_MODES = ["alocity-selfie", "alocity", "faceio", "amani-signature", "amani-token"]
SM_MODES = ["alocity-selfie", "alocity", "faceio", "amani-signature"]
SM_ROUNDS_PER_CUT = 2
STALE_LOG_LINE = "secret refresh failed; serving the cached value"

FIGURES: dict[str, Any] = {}


# ---------------------------------------------------------------------------------------------
# Stack for this module
# ---------------------------------------------------------------------------------------------


@dataclass
class Rel:
    processes: Any
    aws: Aws  # this module's moto, direct
    proxy: Proxy  # all AWS traffic of rel / rel-token
    sm_proxy: Proxy  # Secrets Manager traffic of rel-sm only
    instances: dict[str, Instance]

    def instance(self, mode_name: str) -> Instance:
        return self.instances["rel-token" if MODES[mode_name].instance == "token" else "rel"]

    def logs(self, lines: int = 30) -> str:
        names = ["moto-rel", "proxy-rel", "proxy-rel-sm", *(f"watch-{n}" for n in self.instances)]
        return "\n".join(f"--- {n} ---\n{self.processes.log_tail(n, lines)}" for n in names)


@pytest.fixture(scope="module")
def rel(processes, request):
    if not CARGO_LAMBDA.exists():
        pytest.fail(f"{CARGO_LAMBDA} missing: run `make tools` (scripts/tools.sh)", pytrace=False)
    started = time.monotonic()
    prebuild(processes)  # a no-op when the suite's stack already built the binaries
    spawned = []
    moto, endpoint = start_atomic_moto(processes, "moto-rel")
    spawned.append(moto)
    port = endpoint.rsplit(":", 1)[-1]
    local_aws.create_table(endpoint, REL_TABLE)
    aws = Aws(endpoint, REL_TABLE)
    for mode in MODES.values():
        secrets = load_vectors(mode.name)["secrets"]
        aws.seed_secret(mode.secret_id, secrets["previous"], secrets["current"])

    proxy, proc = spawn_proxy(processes, "proxy-rel", f"127.0.0.1:{port}")
    spawned.append(proc)
    sm_proxy, proc = spawn_proxy(processes, "proxy-rel-sm", f"127.0.0.1:{port}")
    spawned.append(proc)

    env = {**base_env(proxy.endpoint), "EVENTS_TABLE": REL_TABLE}
    token = MODES["amani-token"]
    main_binaries = sorted({MODES[m].binary for m in SM_MODES})
    instances = {
        "rel": Instance("rel", free_port(), dict(env), main_binaries),
        "rel-token": Instance("rel-token", free_port(), {
            **env, "AMANI_AUTH_MODE": "token", "WEBHOOK_SECRET_ID": token.secret_id,
            "AMANI_TOKEN_HEADER": amani_token_header()}, [token.binary]),
        "rel-sm": Instance("rel-sm", free_port(), {
            **base_env(endpoint), "EVENTS_TABLE": REL_TABLE,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": sm_proxy.endpoint,
            "SECRET_CACHE_TTL_SECS": str(SM_TTL_S)}, main_binaries),
    }
    try:
        for inst in instances.values():
            extra = () if inst.name == "rel-sm" else ("--concurrency", str(FUNCTION_CONCURRENCY))
            start_instance(processes, inst, extra)
            spawned.append(inst.proc)
        deadline = time.monotonic() + READY_TIMEOUT
        for inst in instances.values():
            wait_port(inst.port, max(1.0, deadline - time.monotonic()), inst.proc)
            for binary in inst.binaries:
                wait_function(processes, inst, binary, deadline)
        FIGURES["module_setup_s"] = round(time.monotonic() - started, 1)
        module_started = time.monotonic()
        yield Rel(processes, aws, proxy, sm_proxy, instances)
        FIGURES["module_tests_s"] = round(time.monotonic() - module_started, 1)
    finally:
        for proc in reversed(spawned):
            processes.stop(proc)
        # Stopped and reaped: keep the session's final stop_all away from their (reusable) pids.
        processes.procs[:] = [(n, p) for n, p in processes.procs if p not in spawned]
        if FIGURES:
            publish_figures(request.config, processes.log_dir, "reliability", FIGURES)


# ---------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------


def storm_order(n_events: int, copies: int, seed: int) -> list[tuple[int, int]]:
    """(event, copy) pairs: the copies of each event close together (shuffled inside blocks of
    IN_FLIGHT events), so they are in flight at the same time."""
    rng = random.Random(seed)
    order: list[tuple[int, int]] = []
    for start in range(0, n_events, IN_FLIGHT):
        block = [(e, c) for e in range(start, min(start + IN_FLIGHT, n_events)) for c in range(copies)]
        rng.shuffle(block)
        order += block
    return order


# ---------------------------------------------------------------------------------------------
# 1. Duplicate storm
# ---------------------------------------------------------------------------------------------


def test_duplicate_storm_then_conflicts(rel):
    events = [event_for(i, STORM_MODES) for i in range(STORM_EVENTS)]
    assert len({e.pk for e in events}) == STORM_EVENTS
    before = rel.aws.pks()

    order = storm_order(STORM_EVENTS, STORM_COPIES, seed=6)
    started = time.monotonic()
    answers = run_parallel(order, lambda ec: deliver(rel.instance(events[ec[0]].mode.name), events[ec[0]]))
    storm_s = time.monotonic() - started

    problems = []
    per_event: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for (e, c), a in zip(order, answers):
        ok = a.status == 200 and isinstance(a.json, dict) and a.json.get("key") == events[e].key
        if not ok or a.json.get("status") not in ("stored", "duplicate"):
            problems.append(f"event {e} copy {c} ({events[e].pk}): {a.status} {a.json}")
            continue
        per_event[e][a.json["status"]] += 1
    for e in range(STORM_EVENTS):
        if per_event[e] != {"stored": 1, "duplicate": STORM_COPIES - 1}:
            problems.append(f"event {e} ({events[e].pk}): answers {dict(per_event[e])}")
    new = rel.aws.new_items(before)
    problems += check_items(new, events)

    statuses = collections.Counter(a.json.get("status") if isinstance(a.json, dict) else None for a in answers)
    latencies = sorted(a.elapsed for a in answers)
    FIGURES["storm"] = {
        "events": STORM_EVENTS,
        "copies_per_event": STORM_COPIES,
        "deliveries": len(order),
        "in_flight": IN_FLIGHT,
        "function_concurrency": FUNCTION_CONCURRENCY,
        "events_per_mode": dict(collections.Counter(e.mode.name for e in events)),
        "answers": {str(k): v for k, v in statuses.items()},
        "http_200": sum(a.status == 200 for a in answers),
        "items_written": len(new),
        "lost": sum(1 for e in events if e.pk not in new),
        "duration_s": round(storm_s, 1),
        "deliveries_per_s": round(len(order) / storm_s, 1),
        "latency_p50_ms": round(1000 * latencies[len(latencies) // 2]),
        "latency_p99_ms": round(1000 * latencies[int(len(latencies) * 0.99)]),
    }
    assert not problems, describe_problems(problems, rel.logs())
    assert len(new) == STORM_EVENTS

    # Same keys, different bodies: only where the key does not come from the body. (Amani keys an
    # event on the SHA-256 of its body, so a different body is a different event.)
    originals = {e.pk: new[e.pk] for e in events}
    keyed = [e for e in events if e.mode.provider != "amani"]
    changed = {e.pk: conflicting_body(e) for e in keyed}
    order = storm_order(len(keyed), 2, seed=7)  # each conflicting body delivered twice
    started = time.monotonic()
    answers = run_parallel(order, lambda ec: deliver(rel.instance(keyed[ec[0]].mode.name), keyed[ec[0]],
                                                     changed[keyed[ec[0]].pk]))
    conflict_s = time.monotonic() - started

    problems = []
    for (e, c), a in zip(order, answers):
        if a.status != 200 or a.json != {"status": "conflict", "key": keyed[e].key}:
            problems.append(f"conflict {e} copy {c} ({keyed[e].pk}): {a.status} {a.json}")
    added = rel.aws.new_items(before | set(new))
    final = rel.aws.get_many(set(originals))
    expected = {f"{e.pk}#conflict#{sha256_hex(changed[e.pk])}": e for e in keyed}
    for pk in sorted(set(added) - set(expected)):
        problems.append(f"unexpected item {pk}")
    for pk, e in expected.items():
        item = added.get(pk)
        body = changed[e.pk]
        if item is None:
            problems.append(f"no conflict record {pk}")
            continue
        if (item.get("record_type"), item.get("conflict_of"), item.get("body_sha256")) != (
                "conflict", e.pk, sha256_hex(body)) or item.get("body") != body.decode():
            problems.append(f"{pk}: record_type={item.get('record_type')} conflict_of={item.get('conflict_of')} "
                            f"body_sha256={item.get('body_sha256')}")
    for pk, item in originals.items():
        if final.get(pk) != item:
            problems.append(f"original {pk} changed")
    FIGURES["storm_conflicts"] = {
        "keys_with_new_body": len(keyed),
        "deliveries": len(order),
        "answers": dict(collections.Counter(
            a.json.get("status") if isinstance(a.json, dict) else str(a.status) for a in answers)),
        "conflict_records": sum(1 for i in added.values() if i.get("record_type") == "conflict"),
        "originals_unchanged": sum(1 for pk, item in originals.items() if final.get(pk) == item),
        "skipped_amani_events": len(events) - len(keyed),
        "duration_s": round(conflict_s, 1),
    }
    assert not problems, describe_problems(problems, rel.logs())


# ---------------------------------------------------------------------------------------------
# 2. Outage in the middle of a run, sender retrying like a provider
# ---------------------------------------------------------------------------------------------


@dataclass
class Delivery:
    final: Answer | None = None
    attempts: int = 0
    connection_errors: int = 0
    server_errors: collections.Counter = field(default_factory=collections.Counter)
    accepted_at: float | None = None


def deliver_with_retries(inst: Instance, event: Event, stop: threading.Event) -> Delivery:
    """Retry on 5xx and on connection errors: 0.2 s doubling to 2 s, for at most 90 s."""
    d = Delivery()
    delay = RETRY_FIRST_S
    give_up = time.monotonic() + RETRY_BUDGET_S
    while not stop.is_set():
        d.attempts += 1
        a = deliver(inst, event)
        if a.status is None:
            d.connection_errors += 1
        elif a.status >= 500:
            code = a.json.get("error") if isinstance(a.json, dict) else None
            d.server_errors[f"{a.status} {code}"] += 1
        else:
            d.final = a
            d.accepted_at = time.monotonic()
            return d
        if time.monotonic() + delay > give_up:
            break
        stop.wait(delay)
        delay = min(delay * 2, RETRY_MAX_S)
    return d


def test_outage_mid_run_every_event_stored_once(rel):
    events = [event_for(i, STORM_MODES) for i in range(OUTAGE_EVENTS)]
    before = rel.aws.pks()
    stop = threading.Event()
    window: dict[str, float] = {}

    proxy = rel.proxy
    proxy.restore()

    def cut_in_the_middle(futures: list) -> None:
        t0 = time.monotonic()
        for _ in range(600):  # at most 60 s waiting for the run to get going
            if sum(f.done() for f in futures) >= OUTAGE_CUT_AFTER * len(futures):
                break
            time.sleep(0.1)
        window["done_before"] = sum(f.done() for f in futures)
        window["cut"] = time.monotonic()
        try:
            proxy.cut("refuse")
            time.sleep(OUTAGE_S / 2)
            proxy.cut("reset")
            time.sleep(OUTAGE_S / 2)
        finally:
            proxy.restore()
        window["restored"] = time.monotonic()
        window["done_during"] = sum(f.done() for f in futures) - window["done_before"]
        window["ramp_s"] = window["cut"] - t0

    started = time.monotonic()
    results = run_parallel(events, lambda e: deliver_with_retries(rel.instance(e.mode.name), e, stop),
                           while_running=cut_in_the_middle, stop=stop)
    run_s = time.monotonic() - started

    problems = []
    for e, d in zip(events, results):
        if d.final is None:
            problems.append(f"{e.pk}: never accepted after {d.attempts} attempts {dict(d.server_errors)}")
        elif d.final.status != 200 or d.final.json.get("status") not in ("stored", "duplicate") \
                or d.final.json.get("key") != e.key:
            problems.append(f"{e.pk}: {d.final.status} {d.final.json}")
    new = rel.aws.new_items(before)
    problems += check_items(new, events)

    errors = collections.Counter()
    for d in results:
        errors.update(d.server_errors)
    finals = collections.Counter(d.final.json.get("status") for d in results if d.final and isinstance(d.final.json, dict))
    FIGURES["outage"] = {
        "events": OUTAGE_EVENTS,
        "outage_s": OUTAGE_S,
        "outage_modes": ["refuse", "reset"],
        "events_accepted_before_cut": window.get("done_before"),
        "events_accepted_during_cut": window.get("done_during"),
        "requests": sum(d.attempts for d in results),
        "retried_events": sum(1 for d in results if d.attempts > 1),
        "max_attempts_one_event": max(d.attempts for d in results),
        "http_503": sum(v for k, v in errors.items() if k.startswith("503 ")),
        "http_5xx_by_reason": dict(errors),
        "connection_errors": sum(d.connection_errors for d in results),
        "final_answers": dict(finals),
        "stored_after_a_503_as_duplicate": finals.get("duplicate", 0),
        "items_written": len(new),
        "conflict_records": sum(1 for i in new.values() if i.get("record_type") != "event"),
        "lost": sum(1 for e in events if e.pk not in new),
        "duration_s": round(run_s, 1),
    }
    assert not problems, describe_problems(problems, rel.logs())
    assert len(new) == OUTAGE_EVENTS
    assert window.get("restored"), "the outage never happened"
    assert errors.get("503 storage_unavailable", 0) > 0, f"no 503 seen during the outage: {FIGURES['outage']}"
    # A provider only retries what we answered 5xx: every 5xx must be our documented 503.
    assert set(errors) <= {"503 storage_unavailable", "503 secrets_unavailable"}, errors


# ---------------------------------------------------------------------------------------------
# 3. Secrets Manager unreachable, secret cached
# ---------------------------------------------------------------------------------------------


def _stale_served(rel: Rel) -> int:
    path = rel.processes.log_dir / "watch-rel-sm.log"
    return path.read_text(errors="replace").count(STALE_LOG_LINE) if path.exists() else 0


def test_secrets_manager_down_with_warm_cache_still_verifies(rel):
    inst = rel.instances["rel-sm"]
    sm = rel.sm_proxy
    sm.restore()
    # The functions fetched their secret at cold start through the Secrets Manager proxy: the
    # service-specific endpoint variable is honoured (the DynamoDB path never touches it).
    assert sm.status()["forwarded"] > 0, sm.status()
    before = rel.aws.pks()
    sent: list[Event] = []
    problems: list[str] = []
    latencies: list[float] = []

    def send_round(label: str) -> None:
        for name in SM_MODES:
            event = fresh_event(MODES[name])
            a = deliver(inst, event)
            latencies.append(a.elapsed)
            sent.append(event)
            if a.status != 200 or a.json != {"status": "stored", "key": event.key}:
                problems.append(f"{label} {name}: {a.status} {a.json}")
            if a.elapsed > 6:  # FACEIO stops waiting after 6 s
                problems.append(f"{label} {name}: answered after {a.elapsed:.1f}s")

    try:
        send_round("warm")
        stale_before = _stale_served(rel)
        rounds = 0
        stale_per_cut: dict[str, int] = {}
        for mode in ("refuse", "blackhole"):
            at_cut = _stale_served(rel)
            sm.cut(mode)
            for _ in range(SM_ROUNDS_PER_CUT):  # each after the TTL ran out: a refresh is due and fails
                time.sleep(SM_TTL_S + 0.5)
                send_round(f"cut={mode}")
                rounds += 1
            stale_per_cut[mode] = _stale_served(rel) - at_cut
        stale_after = _stale_served(rel)
    finally:
        sm.restore()
        close_sessions()
    time.sleep(SM_TTL_S + 0.5)
    send_round("restored")
    close_sessions()

    new = rel.aws.new_items(before)
    problems += check_items(new, sent)
    FIGURES["secrets_down_warm_cache"] = {
        "cache_ttl_s": SM_TTL_S,
        "cut_modes": ["refuse", "blackhole"],
        "events_during_cut": rounds * len(SM_MODES),
        "events_total": len(sent),
        "stored": len(new),
        "stale_value_served_log_lines": stale_after - stale_before,
        "stale_value_served_per_cut": stale_per_cut,
        "max_latency_ms": round(1000 * max(latencies)),
    }
    assert not problems, describe_problems(problems, rel.logs())
    # In every round of both cuts each function's refresh was due, was attempted and failed, and
    # the cached secret answered (the cache was not just fresh, and neither cut was a no-op).
    for mode, served in stale_per_cut.items():
        assert served >= SM_ROUNDS_PER_CUT * len(SM_MODES), (mode, FIGURES["secrets_down_warm_cache"])
