#!/usr/bin/env python3
"""Lambda's SQS event source mapping, emulated for the drain function under `cargo lambda watch`.

In AWS, Lambda polls the fallback queue and invokes webhook-drain with batches of messages. Locally
nothing does, so this script does it, the same way:

  1. ReceiveMessage (at most --batch-size, 10, messages; all attributes; a short wait);
  2. the SQS event exactly as Lambda builds it ({"Records": [{"messageId", "receiptHandle", "body",
     "attributes", "messageAttributes", "md5OfBody", "eventSource": "aws:sqs", "eventSourceARN",
     "awsRegion"}]}), split so that no invocation payload is over Lambda's 6 MB;
  3. POST to http://127.0.0.1:<port>/2015-03-31/functions/webhook-drain/invocations (cargo lambda
     watch's Invoke API);
  4. ReportBatchItemFailures: the messages named in `batchItemFailures` stay on the queue, the others
     are deleted (DeleteMessageBatch). A function error (an answer other than 200, or a body with
     `errorType`), an answer that is not JSON, or an item identifier that is empty or not in the
     batch fails the whole batch: nothing is deleted, every message comes back after the queue's
     visibility timeout (and goes to the dead-letter queue after maxReceiveCount receives).

    .venv/moto/bin/python scripts/drain_pump.py --until-empty --timeout 60   # tests: drain, then exit
    .venv/moto/bin/python scripts/drain_pump.py                               # make dev: forever
    .venv/moto/bin/python scripts/drain_pump.py --self-test                   # against moto + a fake function

--until-empty exits 0 once the queue holds no message (visible, in flight or delayed), 1 if that has
not happened within --timeout seconds. Either way the last line on stdout is a JSON summary
(counts, the dead-letter queue's depth, seconds). Logs (stderr) carry counts and message ids, never
a message body. Loopback endpoints only, dummy credentials (local_aws.py).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import local_aws  # noqa: E402

FUNCTION = "webhook-drain"
MAX_BATCH = 10  # ReceiveMessage's limit, and the event source mapping's default batch size
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # a synchronous invocation's request payload
# The attributes Lambda puts into a record (standard and FIFO queues).
RECORD_ATTRIBUTES = ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
                     "AWSTraceHeader", "SequenceNumber", "MessageGroupId", "MessageDeduplicationId")


def log(message: str) -> None:
    print(f"[drain-pump] {message}", file=sys.stderr, flush=True)


def invoke_url(port: int, function: str = FUNCTION) -> str:
    return f"http://127.0.0.1:{port}/2015-03-31/functions/{function}/invocations"


# ---------------------------------------------------------------------------------------------
# The event, and what the function's answer means
# ---------------------------------------------------------------------------------------------


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """An SQS MessageAttributeValue (ReceiveMessage's spelling) as a Lambda record spells it."""
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    out["stringListValues"] = list(value.get("StringListValues", []))
    out["binaryListValues"] = [base64.b64encode(b).decode() for b in value.get("BinaryListValues", [])]
    out["dataType"] = value["DataType"]
    return out


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One record of Lambda's SQS event for one message of a ReceiveMessage answer."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: str(v) for k, v in message.get("Attributes", {}).items() if k in RECORD_ATTRIBUTES},
        "messageAttributes": {k: _message_attribute(v) for k, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message["MD5OfBody"],
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    })
    return record


def sqs_events(records: list[dict[str, Any]], limit: int = MAX_PAYLOAD_BYTES) -> list[dict[str, Any]]:
    """The records as one or more events, each at most `limit` bytes of JSON (a record too large on
    its own still goes, alone: the function's error then sends it round to the dead-letter queue)."""
    events: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    size = len(b'{"Records":[]}')
    for record in records:
        grow = len(json.dumps(record).encode()) + 1
        if batch and size + grow > limit:
            events.append({"Records": batch})
            batch, size = [], len(b'{"Records":[]}')
        batch.append(record)
        size += grow
    if batch:
        events.append({"Records": batch})
    return events


@dataclass
class Outcome:
    """What one invocation decided: the message ids that succeeded and those that stay queued."""

    succeeded: list[str]
    failed: list[str]
    function_error: str | None = None  # why the whole batch failed, if it did


def outcome(event: dict[str, Any], status: int | None, body: bytes) -> Outcome:
    """ReportBatchItemFailures, as Lambda reads the function's answer."""
    ids = [r["messageId"] for r in event["Records"]]

    def whole_batch(why: str) -> Outcome:
        return Outcome([], ids, why)

    if status is None:
        return whole_batch("no answer")
    if status != 200:
        return whole_batch(f"HTTP {status}")
    try:
        answer = json.loads(body) if body.strip() else None
    except ValueError:
        return whole_batch("answer is not JSON")
    if isinstance(answer, dict) and "errorType" in answer:
        return whole_batch(f"function error {str(answer['errorType'])[:80]}")
    failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
    if failures is None:  # null, {} or an answer without the list: the whole batch succeeded
        return Outcome(ids, [])
    if not isinstance(failures, list):
        return whole_batch("batchItemFailures is not a list")
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in ids:
            return whole_batch("invalid itemIdentifier")
        failed.add(identifier)
    return Outcome([i for i in ids if i not in failed], [i for i in ids if i in failed])


def http_invoke(url: str, timeout: float) -> Callable[[dict[str, Any]], tuple[int | None, bytes]]:
    """POST an event to the Invoke API: (HTTP status or None when nothing answered, body)."""

    def invoke(event: dict[str, Any]) -> tuple[int | None, bytes]:
        request = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            log(f"invoke failed: {type(exc).__name__}")
            return None, b""

    return invoke


# ---------------------------------------------------------------------------------------------
# The pump
# ---------------------------------------------------------------------------------------------


@dataclass
class Counts:
    received: int = 0  # messages received (a redelivered message counts each time)
    invocations: int = 0
    deleted: int = 0
    item_failures: int = 0  # messages the function named in batchItemFailures
    function_errors: int = 0  # invocations whose whole batch failed
    delete_failures: int = 0  # deletes SQS refused (the message comes back; the drain is idempotent)
    max_receive_count: int = 0  # the highest ApproximateReceiveCount seen


class Pump:
    def __init__(self, sqs, queue_url: str, invoke: Callable[[dict[str, Any]], tuple[int | None, bytes]],
                 batch_size: int = MAX_BATCH, wait_s: int = 1):
        self.sqs = sqs
        self.queue_url = queue_url
        self.invoke = invoke
        self.batch_size = batch_size
        self.wait_s = wait_s
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn", "RedrivePolicy"])
        self.queue_arn = attributes["Attributes"]["QueueArn"]
        redrive = attributes["Attributes"].get("RedrivePolicy")
        self.dlq_arn = json.loads(redrive)["deadLetterTargetArn"] if redrive else None
        self.counts = Counts()

    def poll_once(self) -> int:
        """One ReceiveMessage and the invocations for what it returned: the number received."""
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size,
                                          WaitTimeSeconds=self.wait_s, AttributeNames=["All"],
                                          MessageAttributeNames=["All"])
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        self.counts.received += len(messages)
        for m in messages:
            count = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "0"))
            self.counts.max_receive_count = max(self.counts.max_receive_count, count)
        handles = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        for event in sqs_events([sqs_record(m, self.queue_arn) for m in messages]):
            self.counts.invocations += 1
            status, body = self.invoke(event)
            result = outcome(event, status, body)
            if result.function_error is not None:
                self.counts.function_errors += 1
                log(f"batch of {len(event['Records'])} failed as a whole ({result.function_error}); "
                    "it comes back after the visibility timeout")
            else:
                self.counts.item_failures += len(result.failed)
                if result.failed:
                    log(f"batch of {len(event['Records'])}: {len(result.failed)} item failure(s) "
                        f"({', '.join(result.failed)})")
            self._delete([(i, handles[i]) for i in result.succeeded])
        return len(messages)

    def _delete(self, messages: list[tuple[str, str]]) -> None:
        for start in range(0, len(messages), MAX_BATCH):
            chunk = messages[start:start + MAX_BATCH]
            answer = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": handle} for n, (_, handle) in enumerate(chunk)])
            self.counts.deleted += len(answer.get("Successful", []))
            failed = answer.get("Failed", [])
            if failed:
                self.counts.delete_failures += len(failed)
                log(f"{len(failed)} delete(s) refused: {sorted({f.get('Code', '?') for f in failed})}")

    def depth(self, queue_url: str | None = None) -> int:
        """Messages on the queue: visible, in flight and delayed."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                 "ApproximateNumberOfMessagesDelayed"]
        attrs = self.sqs.get_queue_attributes(QueueUrl=queue_url or self.queue_url, AttributeNames=names)
        return sum(int(attrs["Attributes"].get(n, "0")) for n in names)

    def dlq_depth(self) -> int | None:
        if self.dlq_arn is None:
            return None
        name = self.dlq_arn.rsplit(":", 1)[-1]
        return self.depth(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])

    def until_empty(self, timeout_s: float) -> bool:
        """Poll until the queue is empty (nothing visible, in flight or delayed); False at timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if self.poll_once() == 0 and self.depth() == 0:
                    return True
            except Exception as exc:  # noqa: BLE001 - e.g. a connection reset: try again in time
                log(f"poll failed ({type(exc).__name__}); retrying")
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        return False

    def forever(self, stop: Callable[[], bool]) -> None:
        """Poll until `stop()`; AWS or the function being unreachable is logged and waited out."""
        failures = 0
        while not stop():
            try:
                self.poll_once()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - moto restarting, a connection reset, ...
                failures += 1
                log(f"poll failed ({type(exc).__name__}); retrying")
                time.sleep(min(5.0, 0.5 * failures))

    def summary(self, empty: bool | None, elapsed_s: float) -> dict[str, Any]:
        out: dict[str, Any] = {**asdict(self.counts), "empty": empty, "elapsed_s": round(elapsed_s, 2)}
        try:
            out["queue_messages"] = self.depth()
            out["dlq_messages"] = self.dlq_depth()
        except Exception as exc:  # noqa: BLE001 - the summary still comes out
            out["queue_messages"] = out["dlq_messages"] = None
            out["depth_error"] = type(exc).__name__
        return out


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def check_loopback_url(url: str) -> str:
    host = urlparse(url).hostname or ""
    local_aws.check_local_endpoint(f"http://{host}/")
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = os.environ
    parser.add_argument("--endpoint", default=env.get("AWS_ENDPOINT_URL_SQS", env.get("AWS_ENDPOINT_URL",
                                                                                      "http://127.0.0.1:4566")),
                        help="local SQS endpoint (loopback only); default $AWS_ENDPOINT_URL_SQS, "
                             "$AWS_ENDPOINT_URL or %(default)s")
    parser.add_argument("--queue-url", default=env.get("FALLBACK_QUEUE_URL"),
                        help="the queue to drain (default $FALLBACK_QUEUE_URL, else the URL of --queue)")
    parser.add_argument("--queue", default=local_aws.DEFAULT_QUEUE, help="queue name (default %(default)s)")
    parser.add_argument("--port", type=int, default=int(env.get("WATCH_PORT", "9000")),
                        help="cargo lambda watch's invoke port (default $WATCH_PORT or %(default)s)")
    parser.add_argument("--function", default=FUNCTION, help="function name (default %(default)s)")
    parser.add_argument("--invoke-url", help="the Invoke API URL (default: built from --port and --function)")
    parser.add_argument("--invoke-timeout", type=float, default=60.0,
                        help="seconds to wait for one invocation's answer (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=MAX_BATCH, choices=range(1, MAX_BATCH + 1),
                        metavar=f"1..{MAX_BATCH}", help="messages per ReceiveMessage (default %(default)s)")
    parser.add_argument("--wait", type=int, default=1, choices=range(0, 6), metavar="0..5",
                        help="ReceiveMessage WaitTimeSeconds (default %(default)s)")
    parser.add_argument("--until-empty", action="store_true",
                        help="exit 0 once the queue is empty, 1 if it is not within --timeout")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds --until-empty may take (default %(default)s)")
    parser.add_argument("--self-test", action="store_true",
                        help="check the event and the failure accounting against moto and a fake function")
    args = parser.parse_args(argv)

    if args.self_test:
        return self_test()

    local_aws.check_local_endpoint(args.endpoint)
    url = check_loopback_url(args.invoke_url or invoke_url(args.port, args.function))
    sqs = local_aws.client("sqs", args.endpoint)
    queue_url = check_loopback_url(args.queue_url) if args.queue_url else local_aws.queue_url(args.endpoint,
                                                                                              args.queue)
    pump = Pump(sqs, queue_url, http_invoke(url, args.invoke_timeout), args.batch_size, args.wait)
    started = time.monotonic()

    if args.until_empty:
        empty = pump.until_empty(args.timeout)
        summary = pump.summary(empty, time.monotonic() - started)
        log(("queue empty" if empty else f"queue not empty after {args.timeout:g}s") + f": {summary}")
        print(json.dumps(summary, sort_keys=True), flush=True)
        return 0 if empty else 1

    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: stopping.append(signum))
    log(f"draining {queue_url} into {url}")
    pump.forever(lambda: bool(stopping))
    summary = pump.summary(None, time.monotonic() - started)
    log(f"stopped: {summary}")
    print(json.dumps(summary, sort_keys=True), flush=True)
    return 0


# ---------------------------------------------------------------------------------------------
# --self-test: moto on a free loopback port, a fake drain function, bounded in time
# ---------------------------------------------------------------------------------------------

SELF_TEST_BUDGET_S = 90.0


def self_test() -> int:
    started = time.monotonic()
    checks: list[str] = []
    try:
        _self_test(checks)
    except Exception as exc:  # noqa: BLE001 - reported as the self-test's failure
        print(f"drain_pump self-test FAILED after {len(checks)} checks: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 1
    print(f"drain_pump self-test: {len(checks)} checks passed in {time.monotonic() - started:.1f}s")
    return 0


def _self_test(checks: list[str]) -> None:
    import contextlib
    import http.server
    import io
    import socket
    import subprocess
    import tempfile
    import threading

    started = time.monotonic()

    def check(ok: bool, what: str) -> None:
        if not ok:
            raise AssertionError(what)
        checks.append(what)

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    # Pure parts first: the failure accounting of every answer shape.
    event = {"Records": [{"messageId": "a"}, {"messageId": "b"}, {"messageId": "c"}]}
    cases = [
        (200, b'{"batchItemFailures":[]}', ["a", "b", "c"], [], False),
        (200, b'{"batchItemFailures":null}', ["a", "b", "c"], [], False),
        (200, b"{}", ["a", "b", "c"], [], False),
        (200, b"null", ["a", "b", "c"], [], False),
        (200, b'{"batchItemFailures":[{"itemIdentifier":"b"}]}', ["a", "c"], ["b"], False),
        (200, b'{"batchItemFailures":[{"itemIdentifier":"b"},{"itemIdentifier":"b"}]}', ["a", "c"], ["b"], False),
        (200, b'{"batchItemFailures":[{"itemIdentifier":""}]}', [], ["a", "b", "c"], True),
        (200, b'{"batchItemFailures":[{"itemIdentifier":null}]}', [], ["a", "b", "c"], True),
        (200, b'{"batchItemFailures":[{"id":"a"}]}', [], ["a", "b", "c"], True),
        (200, b'{"batchItemFailures":[{"itemIdentifier":"zzz"}]}', [], ["a", "b", "c"], True),
        (200, b"not json", [], ["a", "b", "c"], True),
        (200, b'{"errorType":"Runtime.ExitError","errorMessage":"x"}', [], ["a", "b", "c"], True),
        (500, b'{"errorType":"Error","errorMessage":"x"}', [], ["a", "b", "c"], True),
        (502, b"", [], ["a", "b", "c"], True),
        (None, b"", [], ["a", "b", "c"], True),
    ]
    for status, body, ok, failed, whole in cases:
        got = outcome(event, status, body)
        check((got.succeeded, got.failed, got.function_error is not None) == (ok, failed, whole),
              f"answer {status} {body[:60]!r} -> deleted {ok}, kept {failed}")
    big = [{"messageId": str(i), "body": "x" * (1024 * 1024)} for i in range(10)]
    split = sqs_events(big)
    check(len(split) == 2 and all(len(json.dumps(e).encode()) <= MAX_PAYLOAD_BYTES for e in split)
          and sum(len(e["Records"]) for e in split) == 10, "10 records of 1 MiB: two invocations under 6 MB")

    server_bin = Path(sys.executable).parent / "moto_server"
    tmp = tempfile.TemporaryDirectory(prefix="drain-pump-self-test-")
    port = free_port()
    moto_log = open(Path(tmp.name) / "moto.log", "wb")
    moto = subprocess.Popen([str(server_bin), "-H", "127.0.0.1", "-p", str(port)], stdin=subprocess.DEVNULL,
                            stdout=moto_log, stderr=subprocess.STDOUT, start_new_session=True)
    fake: http.server.ThreadingHTTPServer | None = None
    try:
        endpoint = f"http://127.0.0.1:{port}"
        local_aws.wait_for_endpoint(endpoint, 30)
        sqs = local_aws.client("sqs", endpoint)
        _, queue_url = local_aws.create_queue(endpoint, "pump-self-test", visibility_timeout_s=1)
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

        # The fake drain: checks each event's shape, remembers each batch as (message id, receive
        # count), and answers as each message's body asks the first time it is received (`fail`:
        # "item" = named in batchItemFailures, "batch" = a function error, "always" = an item
        # failure every time), success after.
        seen: list[dict[str, Any]] = []
        batches: list[list[tuple[str, str]]] = []
        problems: list[str] = []
        lock = threading.Lock()

        class FakeDrain(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                if self.path != f"/2015-03-31/functions/{FUNCTION}/invocations":
                    problems.append(f"invoked at {self.path}")
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                failures, status = [], 200
                with lock:
                    batches.append([(r["messageId"], r["attributes"].get("ApproximateReceiveCount"))
                                    for r in event["Records"]])
                    for r in event["Records"]:
                        seen.append(r)
                        problems.extend(record_problems(r, queue_arn))
                        wants = json.loads(r["body"])
                        first = r["attributes"].get("ApproximateReceiveCount") == "1"
                        if wants["fail"] == "always" or (wants["fail"] == "item" and first):
                            failures.append({"itemIdentifier": r["messageId"]})
                        if wants["fail"] == "batch" and first:
                            status = 500
                answer = ({"errorType": "Error", "errorMessage": "self-test"} if status == 500
                          else {"batchItemFailures": failures})
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeDrain)
        threading.Thread(target=fake.serve_forever, daemon=True).start()
        url = invoke_url(fake.server_address[1])

        def send(n: int, fail: str) -> str:
            body = json.dumps({"n": n, "fail": fail, "secret_marker": f"body-marker-{n}"})
            return sqs.send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes={
                "kind": {"DataType": "String", "StringValue": fail},
                "raw": {"DataType": "Binary", "BinaryValue": bytes([n % 256, 0, 255])}})["MessageId"]

        def receives() -> dict[str, int]:
            out: dict[str, int] = {}
            for batch in batches:
                for message_id, _ in batch:
                    out[message_id] = out.get(message_id, 0) + 1
            return out

        # 1. 20 messages, every 5th failing as an item the first time.
        ids = {send(n, "item" if n % 5 == 0 else "none"): n for n in range(20)}
        logs = io.StringIO()
        with contextlib.redirect_stderr(logs):
            pump = Pump(sqs, queue_url, http_invoke(url, 10))
            empty = pump.until_empty(30)
        c = pump.counts
        check(empty and pump.depth() == 0, "the queue drains empty")
        check(c.deleted == 20 and c.function_errors == 0, f"every message deleted once ({c})")
        check(c.item_failures == 4, f"four item failures ({c})")
        check(set(receives()) == set(ids), "every message reached the function")
        check({i for i, k in receives().items() if k > 1} == {i for i, n in ids.items() if n % 5 == 0}
              and max(receives().values()) == 2, "exactly the failed items came back, once each")
        check(c.received == len(seen) == 24 and c.max_receive_count == 2, f"received = records invoked ({c})")

        # 2. A function error fails its whole batch: every message of it comes back, none is lost.
        batches.clear()
        ids = {send(n, "batch" if n == 21 else "none"): n for n in range(20, 23)}
        with contextlib.redirect_stderr(logs):
            pump = Pump(sqs, queue_url, http_invoke(url, 10))
            empty = pump.until_empty(30)
        c = pump.counts
        failed_batch = next(b for b in batches if any(ids.get(i) == 21 and k == "1" for i, k in b))
        check(empty and c.deleted == 3 and c.function_errors == 1 and c.item_failures == 0,
              f"a function error: the batch is redelivered and then deleted ({c})")
        check({i for i, k in receives().items() if k > 1} == {i for i, _ in failed_batch},
              "every message of the failed batch came back, no other")
        check(not problems, "every record has Lambda's shape: " + "; ".join(problems[:5]))
        check("body-marker-" not in logs.getvalue(), "the logs carry no message body")

        # 3. A message that always fails: --until-empty times out (exit 1), then the redrive policy
        #    moves it to the dead-letter queue after 5 receives and the queue is empty (exit 0).
        poison = send(99, "always")
        cli = [sys.executable, str(Path(__file__).resolve()), "--endpoint", endpoint, "--queue-url", queue_url,
               "--invoke-url", url, "--until-empty"]
        short = subprocess.run([*cli, "--timeout", "1.5"], capture_output=True, text=True, timeout=30)
        check(short.returncode == 1, f"--until-empty with a poison message times out with 1 (rc={short.returncode})")
        summary = json.loads(short.stdout.splitlines()[-1])
        check(summary["empty"] is False and summary["queue_messages"] == 1, f"timeout summary {summary}")
        done = subprocess.run([*cli, "--timeout", "30"], capture_output=True, text=True, timeout=60)
        summary = json.loads(done.stdout.splitlines()[-1])
        check(done.returncode == 0 and summary["empty"] is True and summary["queue_messages"] == 0,
              f"after maxReceiveCount receives the queue is empty ({summary}, rc={done.returncode})")
        check(summary["dlq_messages"] == 1, f"the poison message is in the dead-letter queue ({summary})")
        invoked = receives().get(poison, 0)
        check(invoked == local_aws.QUEUE_MAX_RECEIVE_COUNT,
              f"the poison message was invoked {local_aws.QUEUE_MAX_RECEIVE_COUNT} times ({invoked})")
        check("body-marker-" not in short.stderr + done.stderr + short.stdout + done.stdout,
              "the command's output carries no message body")

        # 4. Nothing listening: the whole batch stays (no answer is a function error).
        send(100, "none")
        closed = invoke_url(free_port())
        with contextlib.redirect_stderr(io.StringIO()):
            pump = Pump(sqs, queue_url, http_invoke(closed, 2))
            pump.poll_once()
        check(pump.counts.deleted == 0 and pump.counts.function_errors == 1 and pump.depth() == 1,
              "an unreachable function deletes nothing")
        check(time.monotonic() - started < SELF_TEST_BUDGET_S, "within the time budget")
    finally:
        if fake is not None:
            fake.shutdown()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(moto.pid, signal.SIGTERM)
        try:
            moto.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(moto.pid, signal.SIGKILL)
            moto.wait(timeout=10)
        moto_log.close()
        tmp.cleanup()


def record_problems(record: dict[str, Any], queue_arn: str) -> list[str]:
    """How a record differs from one Lambda would send (the self-test's fake function checks)."""
    problems = []
    keys = {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
            "eventSource", "eventSourceARN", "awsRegion"}
    extra = set(record) - keys - {"md5OfMessageAttributes"}
    if not keys <= set(record) or extra:
        problems.append(f"keys {sorted(record)}")
        return problems
    if record["eventSource"] != "aws:sqs" or record["eventSourceARN"] != queue_arn \
            or record["awsRegion"] != queue_arn.split(":")[3]:
        problems.append(f"source {record['eventSource']} {record['eventSourceARN']} {record['awsRegion']}")
    if hashlib.md5(record["body"].encode()).hexdigest() != record["md5OfBody"]:  # noqa: S324 - SQS's checksum
        problems.append("md5OfBody")
    attrs = record["attributes"]
    wanted = {"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
    if not wanted <= set(attrs) or not set(attrs) <= set(RECORD_ATTRIBUTES) \
            or not all(isinstance(v, str) for v in attrs.values()):
        problems.append(f"attributes {sorted(attrs)}")
    body = json.loads(record["body"])
    kind = record["messageAttributes"].get("kind", {})
    raw = record["messageAttributes"].get("raw", {})
    if kind != {"stringValue": body["fail"], "stringListValues": [], "binaryListValues": [], "dataType": "String"}:
        problems.append(f"string attribute {kind}")
    if raw != {"binaryValue": base64.b64encode(bytes([body["n"] % 256, 0, 255])).decode(),
               "stringListValues": [], "binaryListValues": [], "dataType": "Binary"}:
        problems.append(f"binary attribute {raw}")
    return problems


if __name__ == "__main__":
    sys.exit(main())
