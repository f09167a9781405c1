"""Session fixtures for the end-to-end suite.

Brings up, on free loopback ports and only there:
  moto (DynamoDB + Secrets Manager + S3 + SQS) <- fault proxy <- `cargo lambda watch` instances <- requests

Every instance's functions get FALLBACK_QUEUE_URL (the suite's queue, webhook-fallback): all their
AWS traffic, SQS included, goes through the one proxy, so cutting it cuts the table and the queue
together and a store failure is still a 503 there. test_10_never_lost.py cuts them separately.
The drain function (webhook-drain) is served by every instance; scripts/drain_pump.py feeds it
(`drain`, below) as Lambda's SQS event source mapping would.

Every process is started in its own session/process group and recorded; teardown (a session
finalizer, plus atexit and SIGTERM/SIGHUP handlers as a backstop) stops each one by pid/pgid,
descendants included, even when tests fail.

Instances of `cargo lambda watch` (one env each, all sharing the workspace's target dir):
  main           the four functions, AMANI_AUTH_MODE=signature, default secret ids
  token          amani-webhook with AMANI_AUTH_MODE=token and WEBHOOK_SECRET_ID=webhooks/amani-token
  rot-<mode>     one per mode, own secret (webhooks/rot/<mode>), used only by the rotation tests,
                 warmed at start-up so the 30 s refresh throttle has passed when they run
  cold           faceio-webhook never invoked before the "Secrets Manager down at cold start" test
  nobucket       PAYLOAD_BUCKET names a bucket that does not exist (large bodies cannot be written)

Knobs (environment): E2E_READY_TIMEOUT (s, default 1200), E2E_SKIP_BUILD=1 (skip the pre-build),
E2E_KEEP_LOGS (logs are always kept under .local/e2e/).
"""

from __future__ import annotations

import atexit
import base64
import datetime
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pytest

sys.dont_write_bytecode = True

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
FIXTURES = REPO / "tests" / "fixtures"
VECTORS = FIXTURES / "vectors"
VENV = REPO / ".venv"
CARGO_LAMBDA = Path(os.environ.get("CARGO_LAMBDA_BIN", VENV / "cargo-lambda" / "bin" / "cargo-lambda"))
MOTO_SERVER = Path(os.environ.get("MOTO_SERVER_BIN", Path(sys.executable).parent / "moto_server"))

sys.path.insert(0, str(SCRIPTS))
sys.path.insert(0, str(FIXTURES))
import local_aws  # noqa: E402
import registry  # noqa: E402  (the providers: `webhooks providers --json`)
import sign  # noqa: E402
# Processes, ports and moto, shared with bench/startup/harness.py:
from local_procs import Processes, free_port, start_moto, wait_port  # noqa: E402
sys.path.insert(0, str(REPO / "bench" / "startup"))
from runtime_api import RuntimeApi  # noqa: E402

TABLE = "webhook-events"
BUCKET = local_aws.DEFAULT_BUCKET
QUEUE = local_aws.DEFAULT_QUEUE
QUARANTINE_PREFIX = "quarantine/"
# The drain function (functions/drain): not a provider, so not in the registry.
DRAIN_BINARY = "webhook-drain"
REGION = "us-east-1"
STORE_DEADLINE_MS = 2000
READY_TIMEOUT = float(os.environ.get("E2E_READY_TIMEOUT", "1200"))
REQUEST_TIMEOUT = 60.0
# A secret that no stage ever holds.
UNRELATED_SECRET = "e2e-unrelated-secret-0000"


# ---------------------------------------------------------------------------------------------
# Modes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mode:
    name: str  # vectors/<name>.json
    provider: str  # provider name in keys and items
    binary: str  # cargo binary name = function name under cargo lambda watch
    secret_id: str  # secret used by the main/token instance
    instance: str  # "main" or "token"
    amani_auth: str = "signature"

    @property
    def rot_secret_id(self) -> str:
        return f"webhooks/rot/{self.name}"

    @property
    def rot_instance(self) -> str:
        return f"rot-{self.name}"

    @property
    def is_alocity(self) -> bool:
        return self.provider in ("alocity", "alocity-selfie")


def _mode(name: str, provider: str, instance: str = "main", secret_id: str | None = None,
          amani_auth: str = "signature") -> Mode:
    """A vector mode of `provider`, with its binary and (for the main instance) its secret id from
    the registry."""
    entry = registry.by_name(provider)
    return Mode(name, provider, entry["binary"], secret_id or entry["secret_id"], instance, amani_auth)


# One mode per vector file (tests/fixtures/vectors/<mode>.json).
MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        _mode("alocity-selfie", "alocity-selfie"),
        _mode("alocity", "alocity"),
        _mode("faceio", "faceio"),
        _mode("amani-signature", "amani"),
        _mode("amani-token", "amani", "token", "webhooks/amani-token", amani_auth="token"),
    )
}
BINARIES = registry.binaries()


def load_vectors(mode: str) -> dict[str, Any]:
    return json.loads((VECTORS / f"{mode}.json").read_text(encoding="utf-8"))


def faceio_app_id() -> str:
    return load_vectors("faceio")["app_id"]


def amani_token_header() -> str:
    return load_vectors("amani-token").get("token_header", "Webhook-Token")


# ---------------------------------------------------------------------------------------------
# Requests: fresh signatures and fresh unique events
# ---------------------------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sign_headers(mode: Mode, body: bytes, secret: str, *, t: int | None = None,
                 header_name: str | None = None, template: str | None = None) -> dict[str, str]:
    """Headers a real provider would send for `body`, signed now with `secret`."""
    if mode.is_alocity:
        t = int(time.time()) if t is None else t
        return {header_name or "Alocity-Signature": sign.alocity_header(secret, t, body)}
    if mode.provider == "faceio":
        value = sign.faceio_header(secret)
        if template is not None:  # keep the vector's scheme spelling ("bearer ...")
            value = template.split(" ", 1)[0] + " " + secret
        return {header_name or "WWW-Authenticate": value}
    if mode.amani_auth == "token":
        return {header_name or amani_token_header(): secret}
    try:
        sig = sign.amani_signature(secret, json.loads(body.decode("utf-8")))
    except (UnicodeDecodeError, ValueError):
        sig = sign.amani_signature_bytes(secret, body)
    return {header_name or "Webhook-Signature": sig}


def vector_secret(mode: Mode, vector: dict[str, Any]) -> str:
    return load_vectors(mode.name)["secrets"][vector["matched"]]


def vector_headers(mode: Mode, vector: dict[str, Any]) -> dict[str, str]:
    """The vector's request headers, re-signed now (Alocity timestamps must be current)."""
    (name, value), = vector["headers"].items()
    return sign_headers(mode, vector["body"].encode("utf-8"), vector_secret(mode, vector),
                        header_name=name, template=value)


@dataclass
class Event:
    """A request body plus what the receiver should make of it."""

    mode: Mode
    body: bytes
    key: str | None  # None when the receiver keys it on the request id (FACEIO AUTH)
    subject: str | None
    event_code: str
    marker: str  # unique text inside the body, to find anything written for it

    @property
    def pk(self) -> str:
        assert self.key is not None
        return f"{self.mode.provider}#{self.key}"


def _amani_body(mode: Mode, obj: Any) -> bytes:
    if mode.amani_auth == "signature":
        return json.dumps(obj).encode("utf-8")  # what Amani's Python sender puts on the wire
    return json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8")


def fresh_event(mode: Mode, vector_name: str | None = None) -> Event:
    """A new, never-seen event derived from one of the mode's vectors (default: the first)."""
    vectors = load_vectors(mode.name)["vectors"]
    v = next(x for x in vectors if vector_name in (None, x["name"]))
    body = v["body"]
    marker = uuid.uuid4().hex
    if mode.provider == "amani":
        obj = json.loads(body)
        obj["e2e_marker"] = marker
        data = _amani_body(mode, obj)
        return Event(mode, data, sha256_hex(data), v["subject"], v["event_code"], marker)
    if mode.provider == "faceio":
        old = json.loads(body)["facialId"]
        new = f"e2e{marker}fioa"
        key = v["key"].replace(old, new) if v["key"] else None
        return Event(mode, body.replace(old, new).encode(), key, new, v["event_code"], new)
    # Alocity: a new envelope Id (the idempotency key); the subject follows when it fell back to Id.
    old = v["key"]
    new = str(uuid.uuid4())
    subject = v["subject"].replace(old, new) if v["subject"] else None
    return Event(mode, body.replace(old, new).encode(), new, subject, v["event_code"], new)


def conflicting_body(event: Event) -> bytes:
    """Same idempotency key, different body."""
    obj = json.loads(event.body)
    obj["e2eConflict"] = uuid.uuid4().hex
    return json.dumps(obj, indent=2).encode()


# ---------------------------------------------------------------------------------------------
# Log hygiene: what must never be in a log line
# ---------------------------------------------------------------------------------------------

# What only a request body or an authentication header would put in a log line.
BODY_AND_HEADER_FRAGMENTS = (
    "Bearer ",
    "bearer ",
    "sig:",
    "sig=",
    '"Payload"',
    '\\"Payload\\"',
    '"eventName"',
    '\\"eventName\\"',
    '"facialId"',
    '\\"facialId\\"',
    '"profile"',
    '\\"profile\\"',
    "Webhook-Token:",
    "Alocity-Signature:",
)


# A bare base64 HMAC-SHA256 (an Amani `Webhook-Signature`, or an Alocity `sig` without its
# prefix): 43 base64 characters and one `=`. Nothing else we log has that shape (checked on the
# logs of full runs before this check was added: no match in about 5000 lines each).
BASE64_MAC = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}=")


def known_secrets() -> set[str]:
    values = {UNRELATED_SECRET} | _corpus_tokens()
    for mode_name in MODES:
        secrets = load_vectors(mode_name)["secrets"]
        values.update((secrets["current"], secrets["previous"]))
    return values


def _corpus_tokens() -> set[str]:
    """The tokens the bad-input corpus sends (test_7 sends a sample of it): token headers as they
    are, bearer headers without their scheme word; short ones are left out, as they could occur
    in any text."""
    corpus = json.loads((REPO / "tests" / "fixtures" / "corpus" / "corpus.json").read_text())
    tokens = set()
    for case in corpus["cases"]:
        for name, value in case["headers"].items():
            if name.lower() == "webhook-token":
                tokens.add(value.strip())
            elif name.lower() in ("www-authenticate", "authorization"):
                tokens.add(value.strip().split(" ", 1)[-1].strip())
    return {token for token in tokens if len(token) >= 12}


# ---------------------------------------------------------------------------------------------
# AWS (direct to moto, never through the proxy)
# ---------------------------------------------------------------------------------------------


class Aws:
    def __init__(self, endpoint: str, table: str = TABLE):
        self.endpoint = endpoint
        self.table = table
        self.ddb = local_aws.client("dynamodb", endpoint)
        self.sm = local_aws.client("secretsmanager", endpoint)
        self.s3 = local_aws.client("s3", endpoint)
        self.sqs = local_aws.client("sqs", endpoint)
        self.cloudwatch = local_aws.client("cloudwatch", endpoint)
        from boto3.dynamodb.types import TypeDeserializer

        self._de = TypeDeserializer()

    def _plain(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: self._de.deserialize(v) for k, v in item.items()}

    def get(self, pk: str) -> dict[str, Any] | None:
        item = self.ddb.get_item(TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
        return self._plain(item) if item else None

    def scan(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            page = self.ddb.scan(**kwargs)
            items += [self._plain(i) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def with_marker(self, marker: str) -> list[dict[str, Any]]:
        """Items whose key or body contains the marker."""
        found = []
        for item in self.scan():
            body = item.get("body")
            raw = bytes(body.value) if hasattr(body, "value") else (body or "").encode()
            if marker in item["pk"] or marker.encode() in raw:
                found.append(item)
        return found

    def body_object(self, key: str, bucket: str = BUCKET) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def count(self) -> int:
        return len(self.scan())

    def query(self, index: str, hash_name: str, hash_value: str) -> list[dict[str, Any]]:
        out = self.ddb.query(
            TableName=self.table, IndexName=index,
            KeyConditionExpression="#h = :v",
            ExpressionAttributeNames={"#h": hash_name},
            ExpressionAttributeValues={":v": {"S": hash_value}},
        )
        return [self._plain(i) for i in out.get("Items", [])]

    def pks(self) -> set[str]:
        """Every key in the table (a keys-only scan)."""
        pks: set[str] = set()
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True, "ProjectionExpression": "pk"}
        for _ in range(10_000):  # bounded: far more pages than a test's table can hold
            page = self.ddb.scan(**kwargs)
            pks.update(i["pk"]["S"] for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return pks
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        raise AssertionError("scan did not end")

    def get_many(self, pks: set[str] | list[str]) -> dict[str, dict[str, Any]]:
        """The items of these keys (BatchGetItem, 100 at a time)."""
        items: dict[str, dict[str, Any]] = {}
        pks = sorted(pks)
        for start in range(0, len(pks), 100):
            request = {self.table: {"Keys": [{"pk": {"S": pk}} for pk in pks[start:start + 100]],
                                    "ConsistentRead": True}}
            for _ in range(100):  # bounded retries of unprocessed keys
                out = self.ddb.batch_get_item(RequestItems=request)
                for raw in out.get("Responses", {}).get(self.table, []):
                    item = self._plain(raw)
                    items[item["pk"]] = item
                request = out.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise AssertionError("batch_get_item kept leaving keys unprocessed")
        return items

    def new_items(self, before: set[str]) -> dict[str, dict[str, Any]]:
        """Every item whose key was not in `before`."""
        return self.get_many(self.pks() - before)

    # -- the fallback queue ----------------------------------------------------------------

    def queue_url(self, queue: str = QUEUE) -> str:
        return local_aws.queue_url(self.endpoint, queue)

    def queue_depth(self, queue: str = QUEUE) -> int:
        """Messages on a queue: visible, in flight and delayed."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                 "ApproximateNumberOfMessagesDelayed"]
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.queue_url(queue), AttributeNames=names)["Attributes"]
        return sum(int(attrs.get(n, "0")) for n in names)

    def dlq_depth(self, queue: str = QUEUE) -> int:
        return self.queue_depth(local_aws.dead_letter_queue(queue))

    # -- the quarantine (payload bucket, prefix quarantine/<provider>/) ----------------------

    def quarantine(self, provider: str | None = None, bucket: str = BUCKET) -> dict[str, int]:
        """Held deliveries: object key -> size, under quarantine/ or quarantine/<provider>/."""
        prefix = QUARANTINE_PREFIX + (f"{provider}/" if provider else "")
        objects: dict[str, int] = {}
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        for _ in range(10_000):  # bounded: 1000 keys a page
            page = self.s3.list_objects_v2(**kwargs)
            objects.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
            if not page.get("IsTruncated"):
                return objects
            kwargs["ContinuationToken"] = page["NextContinuationToken"]
        raise AssertionError("list_objects_v2 did not end")

    def quarantine_object(self, key: str, bucket: str = BUCKET) -> dict[str, Any]:
        """One held delivery, as the receiver wrote it (JSON)."""
        return json.loads(self.body_object(key, bucket))

    def seed_secret(self, secret_id: str, previous: str, current: str) -> None:
        """Leave `current` as AWSCURRENT and `previous` as AWSPREVIOUS."""
        local_aws.ensure_secret(self.endpoint, secret_id, previous, reset=True)
        local_aws.rotate_secret(self.endpoint, secret_id, current)

    def rotate(self, secret_id: str, new_value: str) -> None:
        local_aws.rotate_secret(self.endpoint, secret_id, new_value)

    def metrics(self, namespace: str) -> list[dict[str, Any]]:
        """The metrics published to `namespace` (moto's CloudWatch)."""
        return self.cloudwatch.list_metrics(Namespace=namespace)["Metrics"]

    def metric_sum(self, namespace: str, metric: str, dimensions: dict[str, str]) -> float:
        """The sum of every data point of `metric` with exactly `dimensions`, the last hour."""
        now = datetime.datetime.now(datetime.timezone.utc)
        points = self.cloudwatch.get_metric_statistics(
            Namespace=namespace, MetricName=metric,
            Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
            StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=5),
            Period=60, Statistics=["Sum"])["Datapoints"]
        return sum(point["Sum"] for point in points)

    def stage_values(self, secret_id: str) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for stage in ("AWSCURRENT", "AWSPREVIOUS"):
            try:
                out[stage] = self.sm.get_secret_value(SecretId=secret_id, VersionStage=stage)["SecretString"]
            except self.sm.exceptions.ResourceNotFoundException:
                out[stage] = None
        return out


# quarantine/<provider>/<YYYY-MM-DD>/<received_at_ms>-<first 16 hex of the body's SHA-256>.json
QUARANTINE_KEY = re.compile(re.escape(QUARANTINE_PREFIX)
                            + r"(?P<provider>[^/]+)/\d{4}-\d\d-\d\d/\d+-(?P<digest>[0-9a-f]{16})\.json")


def held_digest(key: str) -> tuple[str, str] | None:
    """(provider, first 16 hex of the body's SHA-256) of a held object's key; None if the key does
    not have the quarantine's shape."""
    match = QUARANTINE_KEY.fullmatch(key)
    return (match["provider"], match["digest"]) if match else None


def quarantine_key_matches(key: str, provider: str, body: bytes) -> bool:
    """Whether `key` is the held object of `body`, delivered to `provider`."""
    return held_digest(key) == (provider, sha256_hex(body)[:16])


def json_as_dynamo(body: bytes) -> Any:
    """What the `payload` attribute should deserialize to (numbers come back as Decimal)."""
    return json.loads(body, parse_float=Decimal, parse_int=Decimal)


# ---------------------------------------------------------------------------------------------
# Proxy control
# ---------------------------------------------------------------------------------------------


class Proxy:
    def __init__(self, port: int, control_port: int):
        self.port = port
        self.control_port = control_port
        self.endpoint = f"http://127.0.0.1:{port}"

    def _call(self, method: str, path: str) -> dict[str, Any]:
        req = urllib.request.Request(f"http://127.0.0.1:{self.control_port}{path}", method=method,
                                     data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def cut(self, mode: str = "refuse") -> dict[str, Any]:
        return self._call("POST", f"/cut?mode={mode}")

    def restore(self) -> dict[str, Any]:
        return self._call("POST", "/restore")

    def status(self) -> dict[str, Any]:
        return self._call("GET", "/status")


# ---------------------------------------------------------------------------------------------
# Function binaries under a Lambda Runtime API (bench/startup/runtime_api.py), as Lambda runs them
# ---------------------------------------------------------------------------------------------

# Public Lambda HTTP events, read in place as templates of each front door's delivery.
TEMPLATES = REPO.parent / "shared" / "testdata" / "lambda-events"
INVOKE_TIMEOUT_S = 30.0


def front_door_event(template: str, body: bytes, headers: dict[str, str], *, b64: bool) -> dict[str, Any]:
    """A delivery in the shape of `template`: method POST, `headers` carried as that front door
    carries them (lower-case names in 2.0 and ALB; as sent in REST, in multiValueHeaders too
    where the template has them), a fresh request id, `body` as text or base64."""
    event = json.loads((TEMPLATES / template).read_text(encoding="utf-8"))
    context = event.setdefault("requestContext", {})
    alb = "elb" in context
    if "httpMethod" in event:
        event["httpMethod"] = "POST"
        if "httpMethod" in context:
            context["httpMethod"] = "POST"
    else:
        context["http"]["method"] = "POST"
    if not alb:
        context["requestId"] = str(uuid.uuid4())
    lower = alb or "httpMethod" not in event
    event["headers"] = event.get("headers") or {}
    multi = isinstance(event.get("multiValueHeaders"), dict)
    for name, value in {**headers, "Content-Type": "application/json"}.items():
        name = name.lower() if lower else name
        for field in ("headers", "multiValueHeaders"):
            if isinstance(event.get(field), dict):
                event[field] = {k: v for k, v in event[field].items() if k.lower() != name.lower()}
        event["headers"][name] = value
        if multi:
            event["multiValueHeaders"][name] = [value]
    event["body"] = base64.b64encode(body).decode() if b64 else body.decode("utf-8")
    event["isBase64Encoded"] = b64
    return event


@dataclass
class Function:
    mode: Mode
    api: RuntimeApi
    proc: Any
    log: Path

    def invoke(self, event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        invocation = self.api.invoke(event, INVOKE_TIMEOUT_S, alive=lambda: self.proc.poll() is None)
        assert invocation.outcome == "response", invocation.result[:300]
        return invocation.request_id, invocation.response_json()

    def stop(self, processes: Processes) -> None:
        processes.stop(self.proc)
        self.api.stop()


def binary_path(binary: str) -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug" / binary


def start_runtime_function(processes: Processes, mode: Mode, env: dict[str, str], log_name: str,
                           binary: str | None = None) -> Function:
    """`mode`'s function binary (or `binary`) under its own Runtime API with `env` (plus what
    Lambda sets), its output in `<log_name>.log`."""
    binary = binary or mode.binary
    api = RuntimeApi(f"arn:aws:lambda:{REGION}:123456789012:function:{binary}").start()
    env = {
        **env,
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": binary,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{binary}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "e2e/[$LATEST]0000",
    }
    proc = processes.spawn(log_name, [str(binary_path(binary))], env=env)
    return Function(mode, api, proc, processes.log_dir / f"{log_name}.log")


# ---------------------------------------------------------------------------------------------
# cargo lambda watch instances
# ---------------------------------------------------------------------------------------------


@dataclass
class Instance:
    name: str
    port: int
    env: dict[str, str]
    binaries: list[str]
    proc: subprocess.Popen | None = None
    warm: dict[str, Any] = field(default_factory=dict)

    def url(self, binary: str) -> str:
        return f"http://127.0.0.1:{self.port}/lambda-url/{binary}/"


class Stack:
    def __init__(self, processes: Processes, aws: Aws, proxy: Proxy, instances: dict[str, Instance]):
        self.processes = processes
        self.aws = aws
        self.proxy = proxy
        self.instances = instances

    def instance_for(self, mode: Mode, which: str | None = None) -> Instance:
        return self.instances[which or mode.instance]

    def post(self, mode: Mode, body: bytes, headers: dict[str, str], *, instance: str | None = None,
             timeout: float = REQUEST_TIMEOUT):
        import requests

        inst = self.instance_for(mode, instance)
        return requests.post(inst.url(mode.binary), data=body,
                             headers={"Content-Type": "application/json", **headers}, timeout=timeout)

    def send(self, event: Event, secret: str | None = None, *, instance: str | None = None,
             timeout: float = REQUEST_TIMEOUT, **sign_kw):
        """POST the event, freshly signed with `secret` (default: the mode's current test secret)."""
        secret = secret if secret is not None else load_vectors(event.mode.name)["secrets"]["current"]
        return self.post(event.mode, event.body, sign_headers(event.mode, event.body, secret, **sign_kw),
                         instance=instance, timeout=timeout)

    def logs(self, lines: int = 40) -> str:
        return "\n".join(f"--- {name} ---\n{self.processes.log_tail(name, lines)}"
                         for name in ["moto", "proxy", *(f"watch-{n}" for n in self.instances)])


def local_aws_env(endpoint: str, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment for a child that must only reach the suite's moto (at
    `endpoint`) with dummy credentials, never a real account: every variable starting with
    AWS_ or with one of `drop` is left out; EVENTS_TABLE is the suite's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", *drop))}
    env.update({
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "EVENTS_TABLE": TABLE,
    })
    return env


def queue_url_via(queue_url: str, endpoint: str) -> str:
    """The queue URL with its scheme, host and port replaced by `endpoint` (a proxy): the SDK sends
    SQS calls to its configured endpoint, but one that took the host from the queue URL would
    then still go through the proxy (moto finds the queue by the URL's last part)."""
    return endpoint.rstrip("/") + "/" + queue_url.split("/", 3)[3]


def base_env(proxy_endpoint: str, queue_url: str | None = None) -> dict[str, str]:
    """The functions' environment: AWS at `proxy_endpoint`, the development settings, and the
    fallback queue when `queue_url` is given (without it a store failure is a 503, as before the
    queue existed)."""
    env = local_aws_env(proxy_endpoint, ("CARGO_LAMBDA_", "WEBHOOK_SECRET_ID", "PAYLOAD_BUCKET",
                                         "PAYLOAD_OFFLOAD_BYTES", "FALLBACK_QUEUE_URL", "QUARANTINE"))
    env.update(registry.dev_env())
    env.update({
        "PAYLOAD_BUCKET": BUCKET,
        "FACEIO_APP_ID": faceio_app_id(),
        "STORE_DEADLINE_MS": str(STORE_DEADLINE_MS),
        "TIMESTAMP_TOLERANCE_SECS": "300",
        "RUST_LOG": os.environ.get("E2E_RUST_LOG", "info"),
    })
    if queue_url is not None:
        env["FALLBACK_QUEUE_URL"] = queue_url
    return env


# What the functions read: the shared settings and every provider's own (from the registry).
FUNCTION_SETTINGS = {
    "EVENTS_TABLE", "STORE_DEADLINE_MS", "TIMESTAMP_TOLERANCE_SECS", "WEBHOOK_SECRET_ID",
    "SECRET_CACHE_TTL_SECS", "RUST_LOG", "RETENTION_DAYS", "MAX_BODY_BYTES", "PAYLOAD_BUCKET",
    "PAYLOAD_OFFLOAD_BYTES", "FALLBACK_QUEUE_URL", "QUARANTINE", "QUARANTINE_PER_MINUTE",
    "QUARANTINE_BYTES_PER_MINUTE", "WEBHOOK_ENDPOINTS", "WEBHOOK_ENDPOINT_SECRET_PREFIX",
} | {setting["env"] for provider in registry.providers() for setting in provider["settings"]}
# Per-endpoint settings (`FACEIO_APP_ID_BY_ENDPOINT=staging=…`) end with this.
BY_ENDPOINT = "_BY_ENDPOINT"


def start_instance(processes: Processes, inst: Instance, extra: tuple[str, ...] = ()) -> None:
    """`cargo lambda watch` on its own port, with `extra` arguments. Env reaches the functions
    both by inheritance and by --env-file (which wins over inherited values)."""
    env_file = processes.log_dir / f"watch-{inst.name}.env"
    fn_keys = [k for k in inst.env if k.startswith("AWS_") or k in FUNCTION_SETTINGS or k.endswith(BY_ENDPOINT)]
    env_file.write_text("".join(f"{k}={inst.env[k]}\n" for k in sorted(fn_keys)))
    argv = [str(CARGO_LAMBDA), "lambda", "watch",
            "--invoke-address", "127.0.0.1", "--invoke-port", str(inst.port),
            "--ignore-changes", "--env-file", str(env_file), *extra]
    inst.proc = processes.spawn(f"watch-{inst.name}", argv, env=inst.env)


def wait_function(processes: Processes, inst: Instance, binary: str, deadline: float) -> None:
    """Wait until the function itself answers (the first call compiles/starts it)."""
    import requests

    last = ""
    while time.monotonic() < deadline:
        if inst.proc is not None and inst.proc.poll() is not None:
            break
        try:
            # Any HTTP answer means the function was built and invoked; what it answered is for
            # the tests to judge (their failures carry the log tails).
            requests.get(inst.url(binary), timeout=max(5.0, deadline - time.monotonic()))
            return
        except requests.RequestException as exc:
            last = repr(exc)
        time.sleep(1)
    raise RuntimeError(f"{binary} on instance {inst.name} never answered ({last}); log tail:\n"
                       + processes.log_tail(f"watch-{inst.name}", 60))


def prebuild(processes: Processes) -> None:
    """Build each binary exactly the way `cargo lambda watch` will run it (`cargo run --bin X`),
    so the first invocation does not compile."""
    if os.environ.get("E2E_SKIP_BUILD") == "1":
        return
    log = processes.log_dir / "cargo-build.log"
    with open(log, "ab") as out:
        for binary in [*BINARIES, DRAIN_BINARY]:
            rc = subprocess.run(["cargo", "build", "--bin", binary], cwd=REPO, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, timeout=3600).returncode
            if rc != 0:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:])
                pytest.fail(f"cargo build --bin {binary} failed (rc={rc}):\n{tail}", pytrace=False)


# moto's PutItem checks a condition and then writes without a lock, and its server is threaded:
# two concurrent `attribute_not_exists(pk)` puts of one key can both succeed (seen on a few keys in
# a thousand, with a plain boto3 client and no function involved). DynamoDB makes a conditional
# write atomic, and that atomicity is what the receivers and the drain rely on. So the modules
# that race copies of one event (test_6, test_10) run their own moto with every request
# serialized: the functions may race each other, the store may not.
ATOMIC_MOTO = r"""
import sys, threading
from moto import server
from moto.moto_server import werkzeug_app

_lock = threading.Lock()
_call = werkzeug_app.DomainDispatcherApplication.__call__


def _serialized(self, environ, start_response):
    with _lock:
        return list(_call(self, environ, start_response))


werkzeug_app.DomainDispatcherApplication.__call__ = _serialized
server.main(sys.argv[1:])
"""


def start_atomic_moto(processes: Processes, name: str) -> tuple[subprocess.Popen, str]:
    """A moto with every request serialized (ATOMIC_MOTO), on a free port: (process, endpoint)."""
    port = free_port()
    proc = processes.spawn(name, [sys.executable, "-c", ATOMIC_MOTO, "-H", "127.0.0.1", "-p", str(port)])
    wait_port(port, 60, proc)
    endpoint = f"http://127.0.0.1:{port}"
    local_aws.wait_for_endpoint(endpoint)
    return proc, endpoint


# ---------------------------------------------------------------------------------------------
# The drain function and the pump that feeds it (scripts/drain_pump.py)
# ---------------------------------------------------------------------------------------------

PUMP_TIMEOUT_S = 180.0


def drain_invoke_url(inst: Instance) -> str:
    return f"http://127.0.0.1:{inst.port}/2015-03-31/functions/{DRAIN_BINARY}/invocations"


def wait_drain(processes: Processes, inst: Instance, deadline: float) -> None:
    """Wait until the instance's drain function answers an empty SQS event (its first invocation
    starts it; nothing is drained)."""
    import requests

    last = ""
    while time.monotonic() < deadline:
        if inst.proc is not None and inst.proc.poll() is not None:
            break
        try:
            r = requests.post(drain_invoke_url(inst), json={"Records": []},
                              timeout=max(5.0, deadline - time.monotonic()))
            if r.status_code == 200 and "errorType" not in r.text:
                return
            last = f"{r.status_code} {r.text[:200]}"
        except requests.RequestException as exc:
            last = repr(exc)
        time.sleep(1)
    raise RuntimeError(f"{DRAIN_BINARY} on instance {inst.name} never answered an empty event ({last}); "
                       "log tail:\n" + processes.log_tail(f"watch-{inst.name}", 60))


def drain(processes: Processes, inst: Instance, aws: Aws, queue: str = QUEUE,
          timeout_s: float = PUMP_TIMEOUT_S) -> dict[str, Any]:
    """Run the pump until the queue is empty, into `inst`'s drain function (SQS straight to
    `aws`'s moto): its summary (scripts/drain_pump.py), with "rc". Its log goes to
    <run>/drain-pump.log."""
    argv = [sys.executable, str(SCRIPTS / "drain_pump.py"), "--endpoint", aws.endpoint,
            "--queue-url", aws.queue_url(queue), "--invoke-url", drain_invoke_url(inst),
            "--until-empty", "--timeout", str(timeout_s)]
    with open(processes.log_dir / "drain-pump.log", "ab") as log:
        log.write(f"--- {inst.name}: {' '.join(argv[1:])}\n".encode())
        log.flush()
        done = subprocess.run(argv, cwd=REPO, env=local_aws_env(aws.endpoint), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=log, timeout=timeout_s + 120)
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    summary = json.loads(lines[-1]) if lines else {}
    return {**summary, "rc": done.returncode}


# ---------------------------------------------------------------------------------------------
# Deliveries in parallel, and the figures of a run (test_6, test_10)
# ---------------------------------------------------------------------------------------------

IN_FLIGHT = 8
PHASE_BUDGET_S = 240.0  # hard wall-clock bound for one parallel phase
DELIVERY_TIMEOUT = 30.0
_CURRENT_SECRETS = {name: load_vectors(name)["secrets"]["current"] for name in MODES}
_local = threading.local()
_sessions: list[Any] = []
_sessions_lock = threading.Lock()


def _session():
    import requests

    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = requests.Session()
        with _sessions_lock:
            _sessions.append(s)
    return s


def close_sessions() -> None:
    """Close every session (the pool's threads are gone by then; the caller's is forgotten)."""
    _local.session = None
    with _sessions_lock:
        while _sessions:
            _sessions.pop().close()


@dataclass
class Answer:
    status: int | None  # None: no HTTP answer (connection error / timeout)
    json: Any
    elapsed: float
    started: float = 0.0  # time.monotonic() when the request went out


def deliver(inst: Instance, event: Event, body: bytes | None = None, *, secret: str | None = None,
            headers: dict[str, str] | None = None, timeout: float = DELIVERY_TIMEOUT) -> Answer:
    """One delivery on this thread's session: `headers`, or signed now with `secret` (default: the
    mode's current test secret)."""
    import requests

    body = event.body if body is None else body
    if headers is None:
        headers = sign_headers(event.mode, body, _CURRENT_SECRETS[event.mode.name] if secret is None else secret)
    started = time.monotonic()
    try:
        r = _session().post(inst.url(event.mode.binary), data=body,
                            headers={"Content-Type": "application/json", **headers}, timeout=timeout)
    except requests.RequestException as exc:
        return Answer(None, type(exc).__name__, time.monotonic() - started, started)
    try:
        parsed = r.json()
    except ValueError:
        parsed = r.text[:200]
    return Answer(r.status_code, parsed, time.monotonic() - started, started)


def run_parallel(tasks: list[Any], fn: Callable[[Any], Any], budget_s: float = PHASE_BUDGET_S,
                 while_running: Callable[[list], None] | None = None,
                 stop: threading.Event | None = None, in_flight: int = IN_FLIGHT) -> list[Any]:
    """fn over tasks with `in_flight` threads, in order of submission; fails past the budget
    (`stop` is set then, so retry loops end too)."""
    deadline = time.monotonic() + budget_s
    pool = ThreadPoolExecutor(in_flight, thread_name_prefix="deliver")
    try:
        futures = [pool.submit(fn, t) for t in tasks]
        if while_running is not None:
            while_running(futures)
        return [f.result(timeout=max(0.1, deadline - time.monotonic())) for f in futures]
    finally:
        if stop is not None:
            stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        close_sessions()


def event_for(i: int, modes: list[str]) -> Event:
    """Event i: modes in turn, each mode's keyed vectors in turn (FACEIO: ENROLL and DELETION;
    AUTH is keyed on the request id, so every delivery of it would be a new event)."""
    name = modes[i % len(modes)]
    vectors = [v["name"] for v in load_vectors(name)["vectors"] if v["key"] is not None]
    return fresh_event(MODES[name], vectors[(i // len(modes)) % len(vectors)])


def check_items(new: dict[str, dict[str, Any]], events: list[Event], **expect: Any) -> list[str]:
    """The added items are exactly one per event, each the event's own body and metadata
    (`expect`: more assert_event_item arguments)."""
    problems = []
    expected = {e.pk: e for e in events}
    for pk in sorted(set(new) - set(expected)):
        problems.append(f"unexpected item {pk} (record_type={new[pk].get('record_type')})")
    for pk, event in expected.items():
        try:
            assert_event_item(new.get(pk), event, event.key, **expect)
        except AssertionError as exc:
            problems.append(f"{pk}: {exc}")
    return problems


def describe_problems(problems: list[str], logs: str, limit: int = 15) -> str:
    """A failure message: how many problems, the first `limit` of them, then the log tails."""
    head = "\n".join(problems[:limit])
    more = f"\n… and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{len(problems)} problem(s):\n{head}{more}\n{logs}"


def percentile_ms(values: list[float], share: float) -> int | None:
    """The `share` percentile of durations in seconds, in whole milliseconds."""
    if not values:
        return None
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * share))])


def publish_figures(config, log_dir: Path, name: str, figures: dict[str, Any]) -> None:
    """Figures to .local/e2e/<run>/<name>.json and .local/e2e/<name>-latest.json, and to the
    terminal."""
    def plain(value: Any) -> Any:  # JSON object keys are text (a Counter of answers may hold None)
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    figures["recorded_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = json.dumps(plain(figures), indent=2, sort_keys=True, default=str)
    (log_dir / f"{name}.json").write_text(text + "\n")
    (REPO / ".local" / "e2e" / f"{name}-latest.json").write_text(text + "\n")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        print(text)
        return
    if capman is not None:
        with capman.global_and_fixture_disabled():
            reporter.write_line(f"\n{name} figures ({log_dir / (name + '.json')}):")
            reporter.write_line(text)
    else:
        reporter.write_line(text)


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def processes():
    log_dir = REPO / ".local" / "e2e" / time.strftime("%Y%m%d-%H%M%S")
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = Processes(log_dir)
    atexit.register(procs.stop_all)

    def on_signal(signum, _frame):
        procs.stop_all()
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    yield procs
    procs.stop_all()
    for s, h in previous.items():
        signal.signal(s, h)


@pytest.fixture(scope="session")
def moto_endpoint(processes):
    _, endpoint = start_moto(processes, "moto", MOTO_SERVER)
    return endpoint


@pytest.fixture(scope="session")
def proxy(processes, moto_endpoint):
    return spawn_proxy(processes, "proxy", moto_endpoint.rsplit("/", 1)[-1])[0]


def spawn_proxy(processes: Processes, name: str, upstream: str) -> tuple[Proxy, subprocess.Popen]:
    """A fault-injecting proxy in front of `upstream` (host:port), ready to forward."""
    port, control = free_port(), free_port()
    proc = processes.spawn(name, [sys.executable, str(SCRIPTS / "fault_proxy.py"), "--listen",
                                  f"127.0.0.1:{port}", "--upstream", upstream, "--control",
                                  f"127.0.0.1:{control}"])
    wait_port(control, 30, proc)
    wait_port(port, 30, proc)
    return Proxy(port, control), proc


@pytest.fixture
def healthy_proxy(proxy):
    """The proxy forwarding before and after the test, whatever the test did."""
    proxy.restore()
    yield proxy
    proxy.restore()


@pytest.fixture(scope="session")
def aws(moto_endpoint):
    local_aws.create_table(moto_endpoint, TABLE)
    local_aws.create_bucket(moto_endpoint, BUCKET)
    local_aws.create_queue(moto_endpoint, QUEUE)
    a = Aws(moto_endpoint)
    for mode in MODES.values():
        secrets = load_vectors(mode.name)["secrets"]
        a.seed_secret(mode.secret_id, secrets["previous"], secrets["current"])
        a.seed_secret(mode.rot_secret_id, secrets["previous"], secrets["current"])
    return a


@pytest.fixture(scope="session")
def stack(processes, aws, proxy):
    if not CARGO_LAMBDA.exists():
        pytest.fail(f"{CARGO_LAMBDA} missing: run `make tools` (scripts/tools.sh)", pytrace=False)
    prebuild(processes)
    env = base_env(proxy.endpoint, queue_url_via(aws.queue_url(), proxy.endpoint))
    instances: dict[str, Instance] = {
        "main": Instance("main", free_port(), dict(env), [m.binary for m in MODES.values() if m.instance == "main"]),
        "token": Instance("token", free_port(), {**env, "AMANI_AUTH_MODE": "token",
                                                 "AMANI_TOKEN_HEADER": amani_token_header(),
                                                 "WEBHOOK_SECRET_ID": MODES["amani-token"].secret_id},
                          ["amani-webhook"]),
        "cold": Instance("cold", free_port(), dict(env), []),
        # Its payload bucket does not exist: a large body cannot be written (test_8).
        "nobucket": Instance("nobucket", free_port(), {**env, "PAYLOAD_BUCKET": "webhook-payloads-missing"}, []),
    }
    for mode in MODES.values():
        instances[mode.rot_instance] = Instance(
            mode.rot_instance, free_port(),
            {**env, "AMANI_AUTH_MODE": mode.amani_auth, "AMANI_TOKEN_HEADER": amani_token_header(),
             "WEBHOOK_SECRET_ID": mode.rot_secret_id},
            [],
        )
    for inst in instances.values():
        start_instance(processes, inst)
    deadline = time.monotonic() + READY_TIMEOUT
    for inst in instances.values():
        wait_port(inst.port, max(1.0, deadline - time.monotonic()), inst.proc)
    for inst in instances.values():
        for binary in inst.binaries:
            wait_function(processes, inst, binary, deadline)
    st = Stack(processes, aws, proxy, instances)
    # Warm the rotation instances now: each function loads its secret (current + previous) long
    # before the rotation tests run, so "refresh on a miss, at most once per 30 s" is what they test.
    for mode in MODES.values():
        inst = instances[mode.rot_instance]
        event = fresh_event(mode)
        try:
            resp = st.send(event, instance=mode.rot_instance, timeout=max(30.0, deadline - time.monotonic()))
            inst.warm = {"status": resp.status_code, "json": _json_or_text(resp), "event": event,
                         "at": time.monotonic()}
        except Exception as exc:  # noqa: BLE001 - reported by the rotation test
            inst.warm = {"status": None, "json": repr(exc), "event": event, "at": time.monotonic()}
    return st


def _json_or_text(resp) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        st = item.funcargs.get("stack")
        if isinstance(st, Stack):
            report.sections.append(("process logs (tails)", st.logs(25)))


# ---------------------------------------------------------------------------------------------
# Assertions shared by the test modules
# ---------------------------------------------------------------------------------------------

STAGE = {"current": "AWSCURRENT", "previous": "AWSPREVIOUS"}
HMAC_PROVIDERS_HEADER = {"alocity-selfie": "alocity-signature", "alocity": "alocity-signature"}


def signature_header_value(mode: Mode, headers: dict[str, str]) -> str | None:
    """The raw signature header the receiver should keep (HMAC modes only)."""
    wanted = HMAC_PROVIDERS_HEADER.get(mode.provider)
    if mode.name == "amani-signature":
        wanted = "webhook-signature"
    if wanted is None:
        return None
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def assert_event_item(item: dict[str, Any] | None, event: Event, key: str, *,
                      secret_version: str = "AWSCURRENT", signature: str | None = None,
                      event_code: str | None = None, expect_payload: bool = True) -> None:
    import re
    from datetime import datetime

    provider = event.mode.provider
    assert item is not None, f"no item {provider}#{key}"
    assert item["pk"] == f"{provider}#{key}"
    assert item["provider"] == provider
    assert item["idempotency_key"] == key
    assert item["event_code"] == (event_code or event.event_code)
    assert item.get("record_type") == "event"
    if event.subject is None:
        assert "subject" not in item and "provider_subject" not in item
    else:
        assert item["subject"] == event.subject
        assert item["provider_subject"] == f"{provider}#{event.subject}"
    assert item["body_sha256"] == sha256_hex(event.body)
    assert int(item["body_size"]) == len(event.body)
    stored = item["body"]
    if isinstance(stored, str):
        assert stored.encode("utf-8") == event.body
    else:
        assert bytes(stored.value) == event.body
    assert item["secret_version"] == secret_version
    received_at = item["received_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", received_at), received_at
    ms = int(item["received_at_ms"])
    parsed = datetime.fromisoformat(received_at.replace("Z", "+00:00")).timestamp() * 1000
    assert abs(parsed - ms) < 1, (received_at, ms)
    assert abs(time.time() * 1000 - ms) < 15 * 60 * 1000
    assert item["provider_day"] == f"{provider}#{received_at[:10]}"
    assert item.get("request_id")
    if "source_ip" in item:
        assert item["source_ip"] == "127.0.0.1"
    assert "expires_at" not in item  # RETENTION_DAYS is unset in the e2e environment
    if signature is not None:
        assert item.get("signature") == signature
    elif event.mode.provider == "faceio" or event.mode.amani_auth == "token":
        assert "signature" not in item
    if expect_payload:
        assert item.get("payload") == json_as_dynamo(event.body)


def assert_nothing_written(aws: Aws, marker: str) -> None:
    found = aws.with_marker(marker)
    assert found == [], f"items were written for a rejected request: {[i['pk'] for i in found]}"


def items_for_pk(aws: Aws, pk: str) -> list[dict[str, Any]]:
    """The item itself and any conflict records derived from it."""
    return [i for i in aws.scan() if i["pk"] == pk or i["pk"].startswith(pk + "#conflict#")]


# ---------------------------------------------------------------------------------------------
# The `webhooks` CLI as a subprocess (test_5_cli.py, test_8_large_bodies.py)
# ---------------------------------------------------------------------------------------------


@dataclass
class Run:
    args: list[str]
    code: int
    out: str
    err: str

    def lines(self) -> list[dict[str, Any]]:
        """stdout as JSON lines: every non-empty line must be one JSON object."""
        objects = []
        for line in self.out.splitlines():
            obj = json.loads(line)
            assert isinstance(obj, dict), line
            objects.append(obj)
        return objects

    def __str__(self) -> str:
        return f"webhooks {' '.join(self.args)} -> {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@pytest.fixture(scope="session")
def webhooks_bin() -> str:
    """Build the CLI once; the path comes from cargo's own artifact report."""
    proc = subprocess.run(
        ["cargo", "build", "-p", "webhooks-cli", "--bin", "webhooks", "--message-format=json-render-diagnostics"],
        cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=3600,
    )
    if proc.returncode != 0:
        pytest.fail(f"cargo build of the webhooks CLI failed:\n{proc.stderr[-4000:]}", pytrace=False)
    for line in proc.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "webhooks" \
                and msg.get("executable"):
            return msg["executable"]
    pytest.fail("cargo did not report the webhooks executable", pytrace=False)


def cli_runner(webhooks_bin: str, endpoint: str) -> Callable[..., Run]:
    """`webhooks ARGS` against the moto at `endpoint`, dummy credentials. `stdin` is what the
    command reads (a body for `--body -`, a secret for `--secret`); `env` adds variables (such as
    WEBHOOKS_SECRET, which is otherwise never inherited)."""
    base = local_aws_env(endpoint, ("WEBHOOKS_SECRET",))

    def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 180) -> Run:
        proc = subprocess.run([webhooks_bin, *args], cwd=REPO, env={**base, **(env or {})}, input=stdin,
                              capture_output=True, text=True, timeout=timeout)
        return Run(list(args), proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(scope="session")
def cli(webhooks_bin, aws):
    return cli_runner(webhooks_bin, aws.endpoint)


def assert_one_line_error(run: Run, kind: str) -> None:
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run
    assert lines[0].startswith(f"webhooks: {kind}:"), run
    assert "panicked" not in run.err and "backtrace" not in run.err.lower(), run
