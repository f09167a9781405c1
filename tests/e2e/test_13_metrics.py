"""Metrics, through the real runtime: each provider's function binary runs under a Lambda Runtime
API (bench/startup/runtime_api.py) and gets a known mix of deliveries: stored, duplicates, a
conflict, every refusal reason the provider has, a wrong method, a body over the cap, a body that
is not base64, a body large enough to go to the bucket, and an outage of the table and of Secrets Manager (the event is queued and
verified with the cached secret). Then the drain binary writes the queued events.

The EMF documents are read from the processes' output (CloudWatch Logs would read the same
lines), each is checked against the Embedded Metric Format specification
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
and their sums per provider and per reason must equal what was sent. Bounded: about 25
invocations per provider, one outage of a few seconds.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from typing import Any

import pytest

from conftest import (DRAIN_BINARY, MODES, Event, Function, Mode, _amani_body, base_env,
                      conflicting_body, front_door_event, fresh_event, load_vectors, local_aws,
                      sign_headers, spawn_proxy, start_runtime_function)

NAMESPACE = "Webhooks/e2e-metrics"
QUEUE = "e2e-metrics-fallback"
TEMPLATE = "apigw_v2_proxy_request.json"
MAX_BODY_BYTES = 4096
# Bodies over this go to the payload bucket first (Offloaded), whatever the table then says.
OFFLOAD_BYTES = 1024
SECRET_TTL_S = 1
RUNTIME_MODES = ["alocity-selfie", "alocity", "faceio", "amani-signature"]
# EMF limits (specification, "Metric directive"): per document.
MAX_METRICS = 100
MAX_DIMENSIONS = 30
MAX_VALUES = 100
HELD_REASONS = {"signature_mismatch", "token_mismatch", "wrong_app"}


@pytest.fixture(scope="module")
def metrics_stack(processes, aws, moto_endpoint):
    """A fault proxy in front of DynamoDB and Secrets Manager only (the queue and the bucket stay
    reachable), the module's own fallback queue, and each provider's binary behind them."""
    proxy, proxy_proc = spawn_proxy(processes, "metrics-proxy", moto_endpoint.rsplit("/", 1)[-1])
    _, queue_url = local_aws.create_queue(aws.endpoint, QUEUE)
    functions: dict[str, Function] = {}
    for name in RUNTIME_MODES:
        mode = MODES[name]
        env = {
            **base_env(aws.endpoint, queue_url),
            "AWS_ENDPOINT_URL_DYNAMODB": proxy.endpoint,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": proxy.endpoint,
            "WEBHOOK_SECRET_ID": mode.secret_id,
            "SECRET_CACHE_TTL_SECS": str(SECRET_TTL_S),
            "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            "PAYLOAD_OFFLOAD_BYTES": str(OFFLOAD_BYTES),
            "METRICS_NAMESPACE": NAMESPACE,
        }
        functions[name] = start_runtime_function(processes, mode, env, f"metrics-{mode.binary}")
    yield proxy, queue_url, functions
    proxy.restore()
    for function in functions.values():
        function.stop(processes)
    processes.stop(proxy_proc)


class Sender:
    """Sends deliveries to one function, keeping what was sent: the expected sums."""

    def __init__(self, function: Function):
        self.function = function
        self.mode: Mode = function.mode
        self.secret = load_vectors(self.mode.name)["secrets"]["current"]
        self.expected: Counter[str] = Counter()
        self.request_ids: list[str] = []

    def send(self, body: bytes, headers: dict[str, str], *, expect: tuple[int, str],
             metric: str, reason: str | None = None, b64: bool = False, method: str = "POST",
             body_counted: bool = True, verified: bool = False) -> dict[str, Any]:
        event = front_door_event(TEMPLATE, body, headers, b64=b64)
        event["requestContext"]["http"]["method"] = method
        request_id, answer = self.function.invoke(event)
        self.request_ids.append(request_id)
        answered = json.loads(answer["body"])
        word = answered.get("status") or answered.get("error")
        assert (answer["statusCode"], word) == expect, f"{self.mode.name}: {answer}"
        self.expected["Requests"] += 1
        self.expected[metric] += 1
        if reason:
            self.expected[f"Rejected/{reason}"] += 1
            if reason in HELD_REASONS:
                self.expected["Quarantined"] += 1
        if body_counted:
            self.expected["BodyBytes"] += len(body)
        if verified:
            self.expected["StoreLatencyMs#"] += 1
            if len(body) > OFFLOAD_BYTES:
                self.expected["Offloaded"] += 1
        return answered

    def signed(self, event: Event, body: bytes | None = None, **kwargs: Any) -> dict[str, Any]:
        body = event.body if body is None else body
        return self.send(body, sign_headers(self.mode, body, self.secret), **kwargs)


def deliver_the_mix(sender: Sender) -> None:
    mode = sender.mode
    events = [fresh_event(mode) for _ in range(3)]
    for event in events:
        sender.signed(event, expect=(200, "stored"), metric="Stored", verified=True)
    for _ in range(2):
        sender.signed(events[0], expect=(200, "duplicate"), metric="Duplicate", verified=True)
    # A body too large for an item: written to the bucket first.
    large = fresh_event(mode)
    obj = json.loads(large.body)
    obj["e2ePadding"] = "x" * (2 * OFFLOAD_BYTES)
    large_body = _amani_body(mode, obj) if mode.provider == "amani" else json.dumps(obj).encode()
    assert OFFLOAD_BYTES < len(large_body) < MAX_BODY_BYTES
    sender.signed(large, large_body, expect=(200, "stored"), metric="Stored", verified=True)
    if mode.provider != "amani":  # Amani's key is the hash of the signed body: no conflicts
        sender.signed(events[1], conflicting_body(events[1]), expect=(200, "conflict"), metric="Conflict",
                      verified=True)

    body = fresh_event(mode).body
    sender.send(body, {}, expect=(401, "missing_header"), metric="Rejected", reason="missing_header")
    garbage = {"alocity": {"Alocity-Signature": "garbage"}, "faceio": {"WWW-Authenticate": "Basic abc"},
               "amani": {"Webhook-Signature": "!!!not base64!!!"}}
    sender.send(body, garbage["alocity" if mode.is_alocity else mode.provider],
                expect=(401, "malformed_header"), metric="Rejected", reason="malformed_header")
    wrong = sign_headers(mode, body, "e2e-metrics-wrong-secret-" + uuid.uuid4().hex)
    mismatch = "token_mismatch" if mode.provider == "faceio" else "signature_mismatch"
    sender.send(body, wrong, expect=(401, mismatch), metric="Rejected", reason=mismatch)
    if mode.is_alocity:
        now = int(time.time())
        for t, reason in ((now - 3600, "stale_timestamp"), (now + 3600, "future_timestamp")):
            headers = sign_headers(mode, body, sender.secret, t=t)
            sender.send(body, headers, expect=(401, reason), metric="Rejected", reason=reason)
    if mode.provider == "faceio":
        other = json.loads(body)
        other["appId"] = "someone-elses-app"
        other_body = json.dumps(other).encode()
        sender.send(other_body, sign_headers(mode, other_body, sender.secret), expect=(401, "wrong_app"),
                    metric="Rejected", reason="wrong_app")

    sender.signed(fresh_event(mode), expect=(405, "method_not_allowed"), metric="MethodNotAllowed",
                  method="GET", body_counted=False)
    big = json.dumps({"padding": "x" * MAX_BODY_BYTES}).encode()
    sender.send(big, sign_headers(mode, big, sender.secret), expect=(413, "body_too_large"),
                metric="BodyTooLarge", body_counted=False)
    event = front_door_event(TEMPLATE, body, sign_headers(mode, body, sender.secret), b64=True)
    event["body"] = "%%% not base64"
    request_id, answer = sender.function.invoke(event)
    sender.request_ids.append(request_id)
    assert answer["statusCode"] == 400, answer
    sender.expected.update({"Requests": 1, "BadRequest": 1})


def emf_documents(function: Function) -> list[dict[str, Any]]:
    lines = function.log.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{") and '"_aws"' in line]


def validate(document: dict[str, Any], catalogue: dict[str, dict[str, Any]]) -> list[str]:
    """What in `document` breaks the EMF specification or names what the catalogue does not."""
    problems = []
    aws = document.get("_aws")
    if not isinstance(aws, dict) or not isinstance(aws.get("Timestamp"), int) or aws["Timestamp"] <= 0:
        return [f"no _aws.Timestamp: {document}"]
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [f"no CloudWatchMetrics: {document}"]
    declared: set[str] = set()
    dimension_keys: set[str] = set()
    for directive in directives:
        if directive.get("Namespace") != NAMESPACE:
            problems.append(f"namespace {directive.get('Namespace')!r}")
        sets = directive.get("Dimensions")
        if not isinstance(sets, list) or not all(isinstance(s, list) for s in sets):
            problems.append(f"Dimensions is not a list of lists: {sets!r}")
            continue
        for dimension_set in sets:
            if len(dimension_set) > MAX_DIMENSIONS:
                problems.append(f"{len(dimension_set)} dimensions in a set")
            for key in dimension_set:
                dimension_keys.add(key)
                if not isinstance(document.get(key), str) or not document[key]:
                    problems.append(f"dimension {key!r} has no string value at the root")
        metrics = directive.get("Metrics")
        if not isinstance(metrics, list) or not metrics:
            problems.append("a directive without metrics")
            continue
        for metric in metrics:
            name = metric.get("Name")
            declared.add(name)
            entry = catalogue.get(name)
            if entry is None:
                problems.append(f"{name!r} is not in `webhooks metrics`")
                continue
            if metric.get("Unit") != entry["unit"]:
                problems.append(f"{name}: unit {metric.get('Unit')!r}, catalogue {entry['unit']}")
            if sorted(sorted(s) for s in sets) != sorted(sorted(s) for s in sets if s in entry["dimensions"]):
                problems.append(f"{name} published under {sets}, catalogue lists {entry['dimensions']}")
            value = document.get(name)
            values = value if isinstance(value, list) else [value]
            if not values or len(values) > MAX_VALUES or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                problems.append(f"{name}: value {value!r}")
    if len(declared) > MAX_METRICS:
        problems.append(f"{len(declared)} metrics in one document")
    if len(dimension_keys) > MAX_DIMENSIONS:
        problems.append(f"{len(dimension_keys)} dimensions in one document")
    return problems


def sums(documents: list[dict[str, Any]]) -> Counter[str]:
    """Per metric (and `Rejected/<reason>`), what the documents add up to; `<Metric>#` counts samples."""
    total: Counter[str] = Counter()
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                name = metric["Name"]
                values = document[name] if isinstance(document[name], list) else [document[name]]
                if ["provider", "reason"] in directive["Dimensions"]:
                    total[f"Rejected/{document['reason']}"] += sum(values)
                    continue
                total[name] += sum(values)
                total[f"{name}#"] += len(values)
    return total


def test_metric_documents_add_up_to_what_was_sent(metrics_stack, processes, cli, aws):
    proxy, queue_url, functions = metrics_stack
    catalogue = {m["name"]: m for m in cli("metrics", "--json").lines()[0]["metrics"]}
    senders = {name: Sender(function) for name, function in functions.items()}
    proxy.restore()
    for sender in senders.values():
        deliver_the_mix(sender)

    # The outage: the table and Secrets Manager unreachable, the secret's cache expired. The
    # cached secret verifies the event (StaleSecretServed, SecretRefreshFailed) and the fallback
    # queue takes it (Queued, 202).
    proxy.cut()
    time.sleep(SECRET_TTL_S + 0.5)
    queued: dict[str, Event] = {}
    try:
        for name, sender in senders.items():
            event = queued[sender.mode.provider] = fresh_event(sender.mode)
            sender.signed(event, expect=(202, "queued"), metric="Queued", verified=True)
            sender.expected.update({"StaleSecretServed": 1, "SecretRefreshFailed": 1})
    finally:
        proxy.restore()

    problems = []
    for name, sender in senders.items():
        documents = emf_documents(sender.function)
        provider = sender.mode.provider
        for document in documents:
            problems += [f"{name}: {p}" for p in validate(document, catalogue)]
            if document.get("provider") != provider:
                problems.append(f"{name}: a document for provider {document.get('provider')!r}")
        # One document per invocation, naming it.
        assert sorted(d.get("requestId") for d in documents) == sorted(sender.request_ids), name
        got = sums(documents)
        expected = sender.expected + Counter({"ColdStart": 1})
        for key in sorted(set(expected) | {k for k in got if not k.endswith("#")}):
            if key in {"StoreLatencyMs", "StoreLatencyMs#", "BodyBytes#"}:
                continue
            if got[key] != expected[key]:
                problems.append(f"{name}: {key} = {got[key]}, sent {expected[key]}")
        if got["StoreLatencyMs#"] != expected["StoreLatencyMs#"]:
            problems.append(f"{name}: {got['StoreLatencyMs#']} store latency samples, "
                            f"{expected['StoreLatencyMs#']} verified deliveries")
    assert not problems, "\n".join(problems)

    # The drain writes the queued events: its documents say so per provider, source=drain.
    messages = []
    for _ in range(10):
        got = aws.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages += got.get("Messages", [])
        if len(messages) >= len(queued):
            break
    assert len(messages) == len(queued), messages
    drain = start_runtime_function(processes, MODES["faceio"], {**base_env(aws.endpoint), "METRICS_NAMESPACE": NAMESPACE},
                                   "metrics-drain", binary=DRAIN_BINARY)
    try:
        batch = {"Records": [{"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs"}
                             for m in messages]}
        _, answer = drain.invoke(batch)
        assert answer == {"batchItemFailures": []}, answer
        documents = emf_documents(drain)
    finally:
        drain.stop(processes)
    problems = [p for document in documents for p in validate(document, catalogue)]
    assert not problems, "\n".join(problems)
    by_provider = {d["provider"]: d for d in documents}
    assert sorted(by_provider) == sorted(queued), documents
    for provider, document in by_provider.items():
        assert document["source"] == "drain", document
        assert ["provider", "source"] in document["_aws"]["CloudWatchMetrics"][0]["Dimensions"], document
        assert sums([document])["Stored"] == 1, document
        assert sums([document])["DrainFailed"] == 0, document
        assert aws.get(queued[provider].pk) is not None, provider
