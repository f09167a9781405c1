"""Every front door, through the real runtime: each provider's function binary runs as Lambda runs
it (bench/startup/runtime_api.py serves the Runtime API; no cargo lambda in between), at
RUST_LOG=trace, and gets signed deliveries built from the public Lambda HTTP events in
`../shared/testdata/lambda-events/` (REST API 1.0, HTTP API 2.0, Function URL, `sam local`, ALB
with single and multi-value headers; read in place as templates: method, headers and body
replaced, everything else as the front door sent it).

- every template x every provider, body as text and as base64: `200 stored`, answered in the
  template's own response shape, the item in the table with the exact body;
- a body that is not base64 although the event says so: `400 invalid_body_encoding`, in shape;
- the whole output of those processes at trace level: no secret, token, signature or body
  fragment, and every line written during an invocation carries its `requestId` (the runtime's
  span), so application logs join Lambda's own REPORT lines.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

import pytest

from conftest import (BASE64_MAC, BODY_AND_HEADER_FRAGMENTS, MODES, Event, Function, Mode, _amani_body,
                      base_env, faceio_app_id, front_door_event, fresh_event, known_secrets,
                      load_vectors, sign_headers, start_runtime_function)

# Every public event and the response shape its front door expects.
SHAPES = {
    "apigw_proxy_request.json": "rest",
    "apigw_multi_value_proxy_request.json": "rest",
    "example-apigw-request.json": "rest",
    "example-apigw-sam-rest-request.json": "rest",
    "apigw_v2_proxy_request.json": "http",
    "apigw_v2_proxy_request_minimal.json": "http",
    "apigw_v2_sam_local.json": "http",
    "example-apigw-sam-http-request.json": "http",
    "example-apigw-v2-request-no-authorizer.json": "http",
    "lambda_function_url_request.json": "http",
    "alb_request.json": "alb",
    "alb_multi_value_request.json": "alb-multi",
}
RESPONSE_KEYS = {
    "http": {"statusCode", "headers", "body", "isBase64Encoded", "cookies"},
    "rest": {"statusCode", "headers", "body", "isBase64Encoded"},
    "alb": {"statusCode", "statusDescription", "headers", "body", "isBase64Encoded"},
    "alb-multi": {"statusCode", "statusDescription", "multiValueHeaders", "body", "isBase64Encoded"},
}
# One function per provider (Amani in its signature mode).
RUNTIME_MODES = ["alocity-selfie", "alocity", "faceio", "amani-signature"]


@pytest.fixture(scope="module")
def functions(processes, stack, aws):
    """Each provider's binary under its own Runtime API, talking to moto directly, at trace."""
    started: dict[str, Function] = {}
    for name in RUNTIME_MODES:
        mode = MODES[name]
        env = {**base_env(aws.endpoint), "RUST_LOG": "trace", "WEBHOOK_SECRET_ID": mode.secret_id}
        started[name] = start_runtime_function(processes, mode, env, f"runtime-{mode.binary}")
    yield started
    for function in started.values():
        function.stop(processes)


def signed(mode: Mode) -> tuple[Event, str]:
    """A fresh event of `mode` with a unique fragment inside its body (never an id that may be
    logged), signed now with the current secret."""
    event = fresh_event(mode)
    fragment = f"body-only-{uuid.uuid4().hex}"
    obj = json.loads(event.body)
    obj["e2eBodyOnly"] = fragment
    body = _amani_body(mode, obj) if mode.provider == "amani" else json.dumps(obj).encode()
    key = hashlib.sha256(body).hexdigest() if mode.provider == "amani" else event.key
    return Event(mode, body, key, event.subject, event.event_code, event.marker), fragment


FRAGMENTS: list[str] = []
REQUEST_IDS: set[str] = set()


@pytest.mark.parametrize("template", sorted(SHAPES))
@pytest.mark.parametrize("mode_name", RUNTIME_MODES)
def test_every_front_door_delivers_to_every_provider(functions, aws, template, mode_name):
    function = functions[mode_name]
    shape = SHAPES[template]
    secret = load_vectors(mode_name)["secrets"]["current"]
    for b64 in (False, True):
        event, fragment = signed(function.mode)
        FRAGMENTS.append(fragment)
        headers = sign_headers(function.mode, event.body, secret)
        delivery = front_door_event(template, event.body, headers, b64=b64)
        request_id, answer = function.invoke(delivery)
        REQUEST_IDS.add(request_id)
        label = f"{mode_name} via {template} (base64: {b64})"
        assert set(answer) == RESPONSE_KEYS[shape], f"{label}: {answer}"
        assert answer["statusCode"] == 200, f"{label}: {answer}"
        if shape.startswith("alb"):
            assert answer["statusDescription"] == "200 OK", label
        body = json.loads(answer["body"])
        assert body["status"] == "stored", f"{label}: {body}"
        key = event.key or body["key"]
        assert body["key"] == key, label
        item = aws.get(f"{function.mode.provider}#{key}")
        assert item is not None, f"{label}: not in the table"
        stored = item["body"]
        assert (stored.encode() if isinstance(stored, str) else bytes(stored.value)) == event.body, label
        assert item["event_code"] == event.event_code, label
        # The front door's own request id (ALB has none: the Lambda invocation's) and caller.
        context = delivery["requestContext"]
        assert item["request_id"] == context.get("requestId", request_id), label
        caller = context.get("http", {}).get("sourceIp") or context.get("identity", {}).get("sourceIp")
        if caller is None and "x-forwarded-for" in delivery["headers"]:
            caller = delivery["headers"]["x-forwarded-for"].split(",")[-1].strip()
        assert item.get("source_ip") == caller, label


@pytest.mark.parametrize("template", sorted(SHAPES))
def test_a_body_that_is_not_base64_is_refused_in_every_shape(functions, aws, template):
    function = functions["faceio"]
    event, fragment = signed(function.mode)
    FRAGMENTS.append(fragment)
    headers = sign_headers(function.mode, event.body, load_vectors("faceio")["secrets"]["current"])
    delivery = front_door_event(template, event.body, headers, b64=True)
    delivery["body"] = "%%% not base64 " + fragment
    request_id, answer = function.invoke(delivery)
    REQUEST_IDS.add(request_id)
    assert set(answer) == RESPONSE_KEYS[SHAPES[template]], answer
    assert (answer["statusCode"], json.loads(answer["body"])) == (400, {"error": "invalid_body_encoding"})
    assert aws.get(f"faceio#{event.key}") is None


# `webhooks send --front-door` names and the shape each answers in.
FRONT_DOORS = {"http-api-v2": "http", "function-url": "http", "rest-api-v1": "rest", "alb": "alb",
               "alb-multi-value": "alb-multi"}


@pytest.mark.parametrize("door", sorted(FRONT_DOORS))
def test_emit_event_writes_a_fresh_event_that_the_function_stores(functions, cli, door, tmp_path):
    for name in RUNTIME_MODES:
        mode = MODES[name]
        path = tmp_path / f"{mode.provider}-{door}.json"
        args = ["send", mode.provider, "--emit-event", str(path), "--front-door", door,
                "--secret-id", mode.secret_id, "--json"]
        if mode.provider == "faceio":
            args += ["--app-id", faceio_app_id()]
        run = cli(*args)
        assert run.code == 0, run
        assert run.lines()[0]["front_door"] == door, run
        request_id, answer = functions[name].invoke(json.loads(path.read_text(encoding="utf-8")))
        REQUEST_IDS.add(request_id)
        assert set(answer) == RESPONSE_KEYS[FRONT_DOORS[door]], f"{name} via {door}: {answer}"
        assert answer["statusCode"] == 200, f"{name} via {door}: {answer}"
        assert json.loads(answer["body"])["status"] == "stored", f"{name} via {door}: {answer}"


def test_trace_level_output_carries_no_credential_or_body_and_every_line_its_request_id(functions):
    # The deliveries above must have run (this module's tests run in file order).
    assert len(REQUEST_IDS) >= len(SHAPES) * len(RUNTIME_MODES) * 2, len(REQUEST_IDS)
    time.sleep(0.5)  # let the last lines reach the files
    texts = {name: f.log.read_text(errors="replace") for name, f in functions.items()}
    everything = "\n".join(texts.values())
    lines = [line for text in texts.values() for line in text.splitlines() if line.strip()]
    # The check means something only if trace was really on and the deliveries were logged.
    assert any('"level":"TRACE"' in line or '"level":"DEBUG"' in line for line in lines), "trace was not on"
    accepted = [json.loads(line) for line in lines if '"webhook accepted"' in line]
    assert len(accepted) >= len(SHAPES) * len(RUNTIME_MODES) * 2, len(accepted)

    for secret in sorted(known_secrets()):
        assert secret not in everything, f"a secret appears in the trace-level logs ({secret[:6]}…)"
    for fragment in FRAGMENTS:
        assert fragment not in everything, "a body fragment appears in the trace-level logs"
    for line in lines:
        for fragment in BODY_AND_HEADER_FRAGMENTS:
            assert fragment not in line, f"log line carries {fragment!r}: {line[:300]}"
        assert not BASE64_MAC.search(line), f"log line carries a base64 MAC: {line[:300]}"

    # Every line logged inside an invocation names it.
    for entry in accepted:
        assert entry.get("span", {}).get("requestId") in REQUEST_IDS, entry
