"""Several endpoints per provider (issue 14), the way `make dev` runs them: one `cargo lambda watch`
with the four functions, each serving `default` and `staging` (its own secret
webhooks/<provider>/staging; FACEIO another application id, Amani token mode), configured from the
registry exactly as scripts/dev.sh does (`dev_env()` + `dev_endpoint_env()`), against a moto of
this module's own, so that its request log counts every AWS call the functions make.

Deliveries go through the `webhooks` CLI (`send --endpoint`), which signs with the endpoint's
secret read from moto and builds bodies with the endpoint's settings. Bounded: about 60 sends and
300 unknown names.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid

import pytest
import requests

from conftest import (MOTO_SERVER, REPO, TABLE, Aws, Instance, cli_runner, free_port, local_aws,
                      local_aws_env, registry, start_instance, start_moto, wait_function, wait_port,
                      READY_TIMEOUT, BUCKET)

PROVIDERS = [provider["name"] for provider in registry.providers()]
BINARY = {provider["name"]: provider["binary"] for provider in registry.providers()}
STAGING = "staging"
UNKNOWN_NAMES = 300
# One moto request log line per call: `127.0.0.1 - - [date] "POST / HTTP/1.1" 200 -`.
REQUEST_LINE = re.compile(r'"(GET|POST|PUT|HEAD|DELETE) ')


@pytest.fixture(scope="module")
def endpoints(processes, webhooks_bin):
    """The module's moto (table, bucket, every dev secret incl. the staging ones) and one `cargo
    lambda watch` serving the four functions with their two endpoints."""
    moto_proc, endpoint = start_moto(processes, "endpoints-moto", MOTO_SERVER)
    local_aws.create_table(endpoint, TABLE)
    local_aws.create_bucket(endpoint, BUCKET)
    local_aws.ensure_secrets(endpoint, registry.dev_secrets(endpoints=True), reset=True)
    env = {
        **local_aws_env(endpoint, ("CARGO_LAMBDA_", "WEBHOOK_", "PAYLOAD_", "FALLBACK_QUEUE_URL",
                                   "QUARANTINE", "FACEIO_", "AMANI_")),
        **registry.dev_env(),
        **registry.dev_endpoint_env(),
        "PAYLOAD_BUCKET": BUCKET,
        "TIMESTAMP_TOLERANCE_SECS": "300",
        "RUST_LOG": "info",
    }
    inst = Instance("endpoints", free_port(), env, list(BINARY.values()))
    start_instance(processes, inst)
    deadline = time.monotonic() + READY_TIMEOUT
    wait_port(inst.port, READY_TIMEOUT, inst.proc)
    for binary in inst.binaries:
        wait_function(processes, inst, binary, deadline)
    cli = cli_runner(webhooks_bin, endpoint)
    yield {"aws": Aws(endpoint), "endpoint": endpoint, "inst": inst, "cli": cli,
           "moto_log": processes.log_dir / "endpoints-moto.log", "processes": processes}


def url(inst: Instance, provider: str, endpoint: str = "default") -> str:
    base = inst.url(BINARY[provider])
    return base if endpoint == "default" else f"{base}webhooks/{provider}/{endpoint}"


def send(ctx, provider: str, endpoint: str = "default", *, to: str | None = None, args: tuple[str, ...] = (),
         env: dict[str, str] | None = None) -> list[dict]:
    """`webhooks send PROVIDER --endpoint ENDPOINT` to the instance (to endpoint `to`'s URL when
    given: a delivery signed for one endpoint sent to another)."""
    run = ctx["cli"]("send", provider, "--endpoint", endpoint, "--url", url(ctx["inst"], provider, to or endpoint),
                     "--json", *args, env=env)
    assert run.code in (0, 1), run
    lines = run.lines()
    assert lines, run
    return lines


def answer(line: dict) -> tuple[int, str]:
    response = line["response"]
    return line["status"], response.get("status") or response.get("error")


def test_each_endpoint_verifies_with_its_own_secret_and_stores_under_its_own_keys(endpoints):
    ctx = endpoints
    for provider in PROVIDERS:
        stored = {}
        for endpoint in ("default", STAGING):
            lines = send(ctx, provider, endpoint, args=("--duplicate",))
            assert [answer(line) for line in lines] == [(200, "stored"), (200, "duplicate")], (provider, endpoint, lines)
            stored[endpoint] = lines[0]["response"]["key"]
        scope = {"default": provider, STAGING: f"{provider}/{STAGING}"}
        for endpoint, key in stored.items():
            item = ctx["aws"].get(f"{scope[endpoint]}#{key}")
            assert item is not None, (provider, endpoint, key)
            assert item["endpoint"] == endpoint and item["provider"] == provider, item
            assert item["provider_day"].startswith(f"{scope[endpoint]}#"), item
            if "subject" in item:
                assert item["provider_subject"] == f"{scope[endpoint]}#{item['subject']}", item
        # The CLI reads each endpoint's events back by its own partitions.
        listed = ctx["cli"]("events", "list", "--provider", provider, "--endpoint", STAGING, "--since", "1h", "--json")
        assert listed.code == 0, listed
        assert {line["pk"] for line in listed.lines()} == {f"{provider}/{STAGING}#{stored[STAGING]}"}, listed
        got = ctx["cli"]("events", "get", provider, stored[STAGING], "--endpoint", STAGING, "--json")
        assert got.code == 0 and got.lines()[0]["endpoint"] == STAGING, got
        missing = ctx["cli"]("events", "get", provider, stored[STAGING], "--json")
        assert missing.code == 1, missing


def test_the_same_event_to_two_endpoints_is_two_deliveries(endpoints):
    """One body, signed for each endpoint: each stored once, under each endpoint's key."""
    ctx = endpoints
    provider = "alocity"
    fixture = json.loads((REPO / "tests" / "fixtures" / provider / "door.state.json").read_text())
    fixture["Id"] = str(uuid.uuid4())
    body = REPO / ".local" / "e2e" / f"endpoints-same-{fixture['Id']}.json"
    body.parent.mkdir(parents=True, exist_ok=True)
    body.write_text(json.dumps(fixture))
    keys = []
    for endpoint in ("default", STAGING):
        lines = send(ctx, provider, endpoint, args=("--body", str(body), "--duplicate"))
        assert [answer(line) for line in lines] == [(200, "stored"), (200, "duplicate")], (endpoint, lines)
        keys.append(lines[0]["response"]["key"])
    assert keys[0] == keys[1], keys
    assert ctx["aws"].get(f"{provider}#{keys[0]}") is not None
    assert ctx["aws"].get(f"{provider}/{STAGING}#{keys[0]}") is not None


def test_rotating_one_endpoint_s_secret_does_not_disturb_the_other(endpoints):
    """Before any miss on these functions' staging endpoints (a miss refreshes at most once per
    30 s): put a new staging secret; the staging endpoint verifies the new value (refresh on the
    miss) and the old one (AWSPREVIOUS); the default endpoint still verifies its own."""
    ctx = endpoints
    for provider in PROVIDERS:
        staging_id = next(p["dev_endpoint"]["secret_id"] for p in registry.providers() if p["name"] == provider)
        new = f"rotated-{provider}-{secrets.token_hex(8)}"
        old = ctx["aws"].sm.get_secret_value(SecretId=staging_id)["SecretString"]
        ctx["aws"].rotate(staging_id, new)
        for value, label in ((new, "new"), (old, "previous")):
            lines = send(ctx, provider, STAGING, env={"WEBHOOKS_SECRET": value})
            assert answer(lines[0]) == (200, "stored"), (provider, label, lines)
        lines = send(ctx, provider, "default")
        assert answer(lines[0]) == (200, "stored"), (provider, lines)


def test_a_delivery_for_one_endpoint_is_refused_by_the_other(endpoints):
    ctx = endpoints
    before = ctx["aws"].pks()
    for provider in PROVIDERS:
        for signed_for, sent_to in (("default", STAGING), (STAGING, "default")):
            lines = send(ctx, provider, signed_for, to=sent_to)
            # Amani's staging endpoint is in token mode: a signed delivery carries no token there.
            assert answer(lines[0])[0] == 401, (provider, signed_for, sent_to, lines)
    # FACEIO: the staging token with the default application's id is another app's event.
    lines = send(ctx, "faceio", STAGING, args=("--app-id", registry.dev_env()["FACEIO_APP_ID"]))
    assert answer(lines[0]) == (401, "wrong_app"), lines
    assert ctx["aws"].pks() == before
    # The refused deliveries are held under the endpoint they came to; promoting them checks each
    # with that endpoint's secret, which is not the one they were signed with.
    held = ctx["cli"]("quarantine", "list", "--endpoint", STAGING, "--json")
    assert held.code == 0, held
    staging_held = held.lines()
    assert staging_held and {line["endpoint"] for line in staging_held} == {STAGING}, held
    assert {line["provider"] for line in staging_held} >= {"alocity-selfie", "alocity", "faceio"}, held
    promote = ctx["cli"]("quarantine", "promote", "--endpoint", STAGING, "--dry-run", "--no-metrics", "--json")
    assert promote.code == 0, promote
    outcomes = {line["outcome"] for line in promote.lines()}
    # The FACEIO one with the default app id but the staging token would pass the token check and
    # fail the app check again: not authentic either.
    assert outcomes == {"not_authentic"}, promote


def test_an_unknown_endpoint_is_404_and_costs_no_aws_call(endpoints):
    ctx = endpoints
    inst = ctx["inst"]
    time.sleep(1.0)  # let moto's log catch up with the previous tests
    calls_before = _moto_calls(ctx)
    session = requests.Session()
    answers = []
    for i in range(UNKNOWN_NAMES):
        provider = PROVIDERS[i % len(PROVIDERS)]
        name = secrets.token_hex(6) if i % 3 else f"{STAGING}-{i}"
        r = session.post(url(inst, provider, name), data=b'{"x":1}', timeout=30,
                         headers={"Content-Type": "application/json"})
        answers.append((r.status_code, r.text))
    session.close()
    time.sleep(1.0)
    assert set(answers) == {(404, '{"error":"unknown_endpoint"}')}, answers[:5]
    assert _moto_calls(ctx) == calls_before, "an unknown endpoint made AWS calls"
    # The log does count calls: one real delivery adds some.
    lines = send(ctx, "faceio", STAGING)
    assert answer(lines[0]) == (200, "stored"), lines
    time.sleep(1.0)
    assert _moto_calls(ctx) > calls_before


def test_webhooks_endpoints_lists_the_local_and_a_stack_s_endpoints(endpoints):
    ctx = endpoints
    run = ctx["cli"]("endpoints", "--json")
    assert run.code == 0, run
    listed = {(line["provider"], line["endpoint"]): line for line in run.lines()}
    assert set(listed) == {(p, e) for p in PROVIDERS for e in ("default", STAGING)}, run
    assert listed[("faceio", STAGING)]["secret"] == "webhooks/faceio/staging"
    assert listed[("faceio", STAGING)]["url"].endswith("/lambda-url/faceio-webhook/webhooks/faceio/staging")
    # A stack: the endpoints come from its <Provider>Endpoints outputs, each secret named after it.
    name = f"e2e-endpoints-{uuid.uuid4().hex[:8]}"
    outputs = {"EventsTableName": TABLE, "FaceioWebhookUrl": "https://api.example/webhooks/faceio",
               "FaceioSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
               "FaceioEndpoints": "eu-1,staging"}
    template = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                "Outputs": {key: {"Value": value} for key, value in outputs.items()}}
    local_aws.client("cloudformation", ctx["endpoint"]).create_stack(StackName=name, TemplateBody=json.dumps(template))
    run = ctx["cli"]("endpoints", "--provider", "faceio", "--stack", name, "--json")
    assert run.code == 0, run
    assert [(line["endpoint"], line["url"], line["secret"]) for line in run.lines()] == [
        ("default", "https://api.example/webhooks/faceio", outputs["FaceioSecretArn"]),
        ("eu-1", "https://api.example/webhooks/faceio/eu-1", f"{name}/webhooks/faceio/eu-1"),
        ("staging", "https://api.example/webhooks/faceio/staging", f"{name}/webhooks/faceio/staging"),
    ], run


def _moto_calls(ctx) -> int:
    text = ctx["moto_log"].read_text(errors="replace")
    return sum(1 for line in text.splitlines() if REQUEST_LINE.search(line))
