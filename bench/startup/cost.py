"""Cost per million webhooks from the harness's measurements, at us-east-1 list prices.

Prices (us-east-1, USD), as published on the AWS pricing pages; looked up 2026-11-24 through
stored copies of those pages and of 2025 third-party summaries of them (the stored copies of
the official pages render their price tables with JavaScript, so the figures themselves come
from the summaries and match the ones this README already used):

- Lambda (aws.amazon.com/lambda/pricing): $0.20 per million requests; arm64 duration
  $0.0000133334 per GB-second (first 7.5 billion GB-s a month); billed per 1 ms, rounded up.
- API Gateway HTTP API (aws.amazon.com/api-gateway/pricing; AWS whitepaper "Best Practices for
  Designing Amazon API Gateway Private APIs", cost optimisation): $1.00 per million requests
  (first 300 million a month), metered in 512 KB steps.
- DynamoDB on-demand, Standard table class (aws.amazon.com/dynamodb/pricing, after the
  November 2024 reduction): $0.625 per million write request units; 1 WRU per started 1 KB
  of item, and each write also writes every GSI whose keys the item has.
- Secrets Manager (aws.amazon.com/secrets-manager/pricing): $0.05 per 10,000 API calls.
- CloudWatch Logs (aws.amazon.com/cloudwatch/pricing): $0.50 per GB ingested (Standard log
  class); the EMF metric documents are log lines and are billed as such (the custom metrics
  they create cost per metric and month, not per webhook: README, "Operating it").

The model, per webhook, warm steady state (cold starts left out: at a steady load they are a
tiny share of invocations):

- Lambda duration at 128 MB: what Lambda bills per warm invocation (its duration rounded up to
  1 ms), averaged over the warm events (harness.py's `warm_billed_ms_mean`, used as it is).
  Measured on this machine's full x86 core against moto; Lambda gives a 128 MB function about
  128/1769 of a vCPU (1769 MB = 1 vCPU), so the table also shows a 128 MB estimate: the I/O wait
  (mean duration minus CPU time) plus the CPU time stretched by 1769/128, rounded up to 1 ms
  (the estimate is a mean, not per invocation, so it is rounded once, by the caller).
- DynamoDB: the events item's measured write units (base table plus both GSIs, from the items
  in moto), plus, for the peer, its idempotency writes (PutItem INPROGRESS, UpdateItem
  COMPLETED: counted in moto's request log, each under 1 KB).
- Secrets Manager: with the 300 s cache, calls depend on time, not traffic. Assumed: a million
  webhooks spread over a 30-day month (0.39 per second) keep one instance warm, which loads the
  secret every 300 s: 8,640 loads; calls per load measured (ours reads AWSCURRENT and
  AWSPREVIOUS, the peer only the current one).
- CloudWatch Logs: the bytes each subject wrote to stdout per invocation (harness.py, all runs;
  forged events included), split into the EMF metric documents and the rest. Lambda's own
  START/END/REPORT lines are the same for both and left out.
"""

from __future__ import annotations

from typing import Any

PRICES = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm64": 0.0000133334,
    "http_api_request": 1.00 / 1e6,
    "dynamodb_wru": 0.625 / 1e6,
    "secrets_manager_call": 0.05 / 10_000,
    "logs_ingested_gb": 0.50,
}
MEMORY_GB = 128 / 1024
VCPU_MB = 1769
WEBHOOKS = 1_000_000
SECRET_LOADS_PER_MONTH = 30 * 86_400 // 300


def secret_calls_per_load(calls: dict[str, int]) -> float:
    """GetSecretValue calls per load of the secret: loads are the calls for the current value."""
    total = sum(count for key, count in calls.items() if key.startswith("GetSecretValue"))
    loads = sum(count for key, count in calls.items()
                if key.startswith("GetSecretValue") and "AWSPREVIOUS" not in key)
    return total / loads if loads else 0.0


def idempotency_writes_per_event(subject: dict[str, Any]) -> float:
    stored = subject["storage"]["items"] or 1
    writes = sum(count for key, count in subject["calls"].items()
                 if key.split(" ")[0] in ("PutItem", "UpdateItem", "DeleteItem")
                 and "idempotency" in key)
    return writes / stored


def estimated_128mb_ms(subject: dict[str, Any]) -> float | None:
    cpu, mean = subject["warm_cpu_ms_per_event"], subject["warm_mean_ms"]
    if cpu is None or mean is None:
        return None
    wait = max(0.0, mean - cpu)
    return wait + cpu * VCPU_MB / 128


def model(subject: dict[str, Any], billed_ms: float) -> list[tuple[str, str, float]]:
    """(item, how it is counted, USD per million webhooks); `billed_ms` is the duration billed
    per webhook, already rounded the way Lambda bills (not rounded again here)."""
    storage = subject["storage"]
    event_wru = storage["wru_per_event_median"]
    idem_writes = idempotency_writes_per_event(subject)
    calls_per_load = secret_calls_per_load(subject["calls"])
    billed = f"{billed_ms:.0f}" if billed_ms == int(billed_ms) else f"{billed_ms:.2f}"
    rows = [
        ("Lambda requests", "1 per webhook", WEBHOOKS * PRICES["lambda_request"]),
        ("Lambda duration (arm64, 128 MB)", f"{billed} ms billed per webhook",
         WEBHOOKS * billed_ms / 1000 * MEMORY_GB * PRICES["lambda_gb_second_arm64"]),
        ("API Gateway HTTP API", "1 request per webhook (< 512 KB)", WEBHOOKS * PRICES["http_api_request"]),
        ("DynamoDB writes: events table + GSIs",
         f"{event_wru:g} WRU ({storage['item_wru_median']:g} item, "
         + " + ".join(f"{v:g} {k}" for k, v in storage["index_wru_median"].items()) + ")",
         WEBHOOKS * event_wru * PRICES["dynamodb_wru"]),
    ]
    if idem_writes:
        rows.append(("DynamoDB writes: idempotency records", f"{idem_writes:g} writes × 1 WRU",
                     WEBHOOKS * idem_writes * PRICES["dynamodb_wru"]))
    rows.append(("Secrets Manager", f"{SECRET_LOADS_PER_MONTH:,} loads × {calls_per_load:g} calls",
                 SECRET_LOADS_PER_MONTH * calls_per_load * PRICES["secrets_manager_call"]))
    log_bytes, metric_bytes = subject.get("log_bytes_per_event"), subject.get("metric_bytes_per_event")
    if log_bytes is not None:
        metric_bytes = metric_bytes or 0.0
        for item, size in (("CloudWatch Logs: log lines", log_bytes - metric_bytes),
                           ("CloudWatch Logs: EMF metric documents", metric_bytes)):
            rows.append((item, f"{size:.0f} B per webhook",
                         WEBHOOKS * size / 1e9 * PRICES["logs_ingested_gb"]))
    return rows
