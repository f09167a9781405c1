#!/usr/bin/env python3
"""The peer's warm handler overhead without I/O: the counterpart of benches/pipeline.rs.

Imports app.py with its AWS calls stubbed out (the secret comes from memory, the events table's
PutItem and the idempotency layer's PutItem/UpdateItem do nothing) and times, per request, what
awslambdaric and the handler do between receiving an invocation and answering it: parse the event
JSON, `app.handler` (Powertools event class and logger, `hmac` verification, building the item,
the idempotency bookkeeping), serialise the response. Logs go to /dev/null. Every request is a
new, freshly signed 1 KiB event from bench/startup/events.py.

Run with the peer venv: .venv/peer/bin/python bench/peer/overhead.py --out bench/target/peer_overhead.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SECRET = "bench-alocity-selfie-secret"
os.environ.update({
    "EVENTS_TABLE": "bench-events", "IDEMPOTENCY_TABLE": "bench-idempotency", "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_EC2_METADATA_DISABLED": "true",
})
sys.path[:0] = [str(HERE), str(HERE.parent / "startup")]
import app  # noqa: E402
import events  # noqa: E402
from stats import percentile  # noqa: E402


class Context:
    """The attributes of the Lambda context that Powertools reads."""

    function_name = "alocity-selfie-webhook"
    function_version = "$LATEST"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:alocity-selfie-webhook"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class NoTable:
    def put_item(self, **_kwargs: Any) -> None:
        return None


def stub_aws() -> None:
    app.parameters.get_secret = lambda *_args, **_kwargs: SECRET
    app.events_table = NoTable()
    app.persistence._put_record = lambda *_args, **_kwargs: None
    app.persistence._update_record = lambda *_args, **_kwargs: None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    stub_aws()
    context = Context()
    samples: list[float] = []
    with open(os.devnull, "w") as sink:
        app.logger.registered_handler.setStream(sink)  # Powertools' JSON lines, into a sink
        for index in range(args.warmup + args.requests):
            delivery = events.authentic(SECRET)
            raw = json.dumps(delivery.event).encode()
            started = time.perf_counter()
            answer = app.handler(json.loads(raw), context)
            json.dumps(answer)
            elapsed = time.perf_counter() - started
            if answer["statusCode"] != 200 or json.loads(answer["body"])["status"] != "stored":
                raise SystemExit(f"unexpected answer {answer['statusCode']}")
            if index >= args.warmup:
                samples.append(elapsed * 1e6)
    result = {
        "requests": len(samples), "warmup_requests": args.warmup, "body_bytes": len(delivery.body),
        "p50_us": percentile(samples, 50), "p90_us": percentile(samples, 90), "p99_us": percentile(samples, 99),
        "p999_us": percentile(samples, 99.9), "max_us": max(samples), "mean_us": statistics.fmean(samples),
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"peer handler/alocity-selfie/1KiB: {len(samples)} requests, p50 {result['p50_us']:.0f} µs, "
          f"p99 {result['p99_us']:.0f} µs, mean {result['mean_us']:.0f} µs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
