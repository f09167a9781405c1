#!/usr/bin/env python3
"""Create the local AWS resources (DynamoDB table, S3 bucket, SQS queues, Secrets Manager secrets).

Run with the moto venv's python (it needs boto3):

    .venv/moto/bin/python scripts/local_aws.py --endpoint http://127.0.0.1:4566

Idempotent: an existing table, bucket, queue or secret is left as it is (a secret keeps its current
value unless --reset-secrets is given). Refuses any endpoint that is not on the loopback interface,
and always uses dummy credentials, so it can never touch real AWS.

The table definition lives in TABLE_DEFINITION below, in the CreateTable request shape, so that
other code (the e2e suite, the template consistency test) can import and compare it.
"""

from __future__ import annotations

import argparse
import copy
import ipaddress
import json
import os
import sys
import time
from typing import Any
from urllib.parse import urlparse

REGION = "us-east-1"
DEFAULT_TABLE = "webhook-events"
# Bodies too large for a DynamoDB item (PAYLOAD_BUCKET; template.yaml's PayloadBucket).
DEFAULT_BUCKET = "webhook-payloads"
# Verified events the table could not take (FALLBACK_QUEUE_URL), read by the drain function, and
# its dead-letter queue (a message received QUEUE_MAX_RECEIVE_COUNT times without being drained).
DEFAULT_QUEUE = "webhook-fallback"
QUEUE_MAX_RECEIVE_COUNT = 5
# Seconds a received message stays invisible. Short locally, so that a message whose drain failed
# comes back within a test; the deployed queue's is set in template.yaml.
QUEUE_VISIBILITY_TIMEOUT_S = 5

# Attributes projected into both GSIs (besides the table and index keys).
GSI_NON_KEY_ATTRIBUTES = [
    "provider",
    "idempotency_key",
    "event_code",
    "subject",
    "provider_time",
    "received_at_ms",
    "request_id",
    "source_ip",
    "secret_version",
    "body_sha256",
    "body_size",
    "record_type",
]

# The events table, exactly as template.yaml declares it (CreateTable request shape; the
# TableName is filled in by table_definition()).
TABLE_DEFINITION: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "provider_day", "AttributeType": "S"},
        {"AttributeName": "provider_subject", "AttributeType": "S"},
        {"AttributeName": "received_at", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "BillingMode": "PAY_PER_REQUEST",
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "by-provider-time",
            "KeySchema": [
                {"AttributeName": "provider_day", "KeyType": "HASH"},
                {"AttributeName": "received_at", "KeyType": "RANGE"},
            ],
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": GSI_NON_KEY_ATTRIBUTES,
            },
        },
        {
            "IndexName": "by-subject",
            "KeySchema": [
                {"AttributeName": "provider_subject", "KeyType": "HASH"},
                {"AttributeName": "received_at", "KeyType": "RANGE"},
            ],
            "Projection": {
                "ProjectionType": "INCLUDE",
                "NonKeyAttributes": GSI_NON_KEY_ATTRIBUTES,
            },
        },
    ],
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
}

# TimeToLive, applied with UpdateTimeToLive after the table exists.
TTL_SPECIFICATION: dict[str, Any] = {"AttributeName": "expires_at", "Enabled": True}


def dev_secrets(endpoints: bool = False) -> dict[str, str]:
    """Development secrets, secret id -> SecretString (the provider's secret as plain text): each
    provider's default secret id and local secret, from the registry (`webhooks providers`); with
    `endpoints`, also those of its second endpoint (`staging`: webhooks/<provider>/staging)."""
    sys.path.insert(0, str(os.path.dirname(os.path.abspath(__file__))))
    import registry

    return registry.dev_secrets(endpoints)


def table_definition(table_name: str = DEFAULT_TABLE) -> dict[str, Any]:
    """CreateTable request for the events table."""
    definition = copy.deepcopy(TABLE_DEFINITION)
    definition["TableName"] = table_name
    return definition


def check_local_endpoint(endpoint: str) -> str:
    """Return the endpoint if its host is a loopback address; exit otherwise."""
    host = urlparse(endpoint).hostname or ""
    try:
        is_loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = False
    if not is_loopback:
        raise SystemExit(f"refusing non-loopback endpoint {endpoint!r}: this script is for the local stack only")
    return endpoint


def session_kwargs(endpoint: str) -> dict[str, str]:
    return {
        "endpoint_url": check_local_endpoint(endpoint),
        "region_name": REGION,
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }


def client(service: str, endpoint: str):
    import boto3  # imported lazily so --help works without boto3
    from botocore.config import Config

    return boto3.client(
        service,
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=3, read_timeout=10),
        **session_kwargs(endpoint),
    )


def wait_for_endpoint(endpoint: str, timeout: float = 60.0) -> None:
    """Wait until the endpoint answers an AWS call."""
    deadline = time.monotonic() + timeout
    ddb = client("dynamodb", endpoint)
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            ddb.list_tables(Limit=1)
            return
        except Exception as exc:  # noqa: BLE001 - anything means "not ready yet"
            last = exc
            time.sleep(0.2)
    raise TimeoutError(f"{endpoint} did not answer within {timeout}s: {last}")


def create_table(endpoint: str, table_name: str = DEFAULT_TABLE) -> bool:
    """Create the events table and enable TTL. Returns True if it was created, False if it existed."""
    ddb = client("dynamodb", endpoint)
    created = True
    try:
        ddb.create_table(**table_definition(table_name))
    except ddb.exceptions.ResourceInUseException:
        created = False
    ddb.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ttl = ddb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        ddb.update_time_to_live(TableName=table_name, TimeToLiveSpecification=TTL_SPECIFICATION)
    return created


def create_bucket(endpoint: str, bucket: str = DEFAULT_BUCKET) -> bool:
    """Create the payload bucket (us-east-1: no location constraint). True if it was created."""
    s3 = client("s3", endpoint)
    try:
        s3.create_bucket(Bucket=bucket)
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        return False
    return True


def dead_letter_queue(queue: str = DEFAULT_QUEUE) -> str:
    """The name of a queue's dead-letter queue."""
    return f"{queue}-dlq"


def queue_url(endpoint: str, queue: str = DEFAULT_QUEUE) -> str:
    """The URL of an existing queue (the value of FALLBACK_QUEUE_URL for `queue`)."""
    return client("sqs", endpoint).get_queue_url(QueueName=queue)["QueueUrl"]


def _ensure_queue(sqs, name: str, attributes: dict[str, str]) -> tuple[bool, str]:
    try:
        return False, sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        return True, sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def create_queue(endpoint: str, queue: str = DEFAULT_QUEUE,
                 visibility_timeout_s: int = QUEUE_VISIBILITY_TIMEOUT_S) -> tuple[bool, str]:
    """Create the fallback queue and its dead-letter queue (RedrivePolicy: maxReceiveCount
    QUEUE_MAX_RECEIVE_COUNT). Returns (created, queue URL); created is False if it existed."""
    sqs = client("sqs", endpoint)
    _, dlq_url = _ensure_queue(sqs, dead_letter_queue(queue), {"MessageRetentionPeriod": str(14 * 24 * 3600)})
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(QUEUE_MAX_RECEIVE_COUNT)}
    return _ensure_queue(sqs, queue, {"VisibilityTimeout": str(visibility_timeout_s),
                                      "RedrivePolicy": json.dumps(redrive)})


def ensure_secret(endpoint: str, name: str, value: str, reset: bool = False) -> str:
    """Create a secret with SecretString=value if missing (or overwrite it when reset).

    Returns the secret's current value.
    """
    sm = client("secretsmanager", endpoint)
    try:
        sm.create_secret(Name=name, SecretString=value, Description="local development webhook secret")
        return value
    except sm.exceptions.ResourceExistsException:
        pass
    if reset:
        sm.put_secret_value(SecretId=name, SecretString=value)
        return value
    return sm.get_secret_value(SecretId=name)["SecretString"]


def rotate_secret(endpoint: str, name: str, new_value: str) -> None:
    """Rotate through the real API: PutSecretValue moves AWSCURRENT -> AWSPREVIOUS."""
    client("secretsmanager", endpoint).put_secret_value(SecretId=name, SecretString=new_value)


def ensure_secrets(endpoint: str, secrets: dict[str, str] | None = None, reset: bool = False) -> dict[str, str]:
    secrets = dev_secrets() if secrets is None else secrets
    return {name: ensure_secret(endpoint, name, value, reset) for name, value in secrets.items()}


def setup(endpoint: str, table_name: str = DEFAULT_TABLE, secrets: dict[str, str] | None = None,
          reset: bool = False) -> dict[str, str]:
    wait_for_endpoint(endpoint)
    create_table(endpoint, table_name)
    create_bucket(endpoint)
    create_queue(endpoint)
    return ensure_secrets(endpoint, secrets, reset)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
                        help="local AWS endpoint (loopback only); default $AWS_ENDPOINT_URL or %(default)s")
    parser.add_argument("--table", default=os.environ.get("EVENTS_TABLE", DEFAULT_TABLE),
                        help="events table name (default $EVENTS_TABLE or %(default)s)")
    parser.add_argument("--bucket", default=os.environ.get("PAYLOAD_BUCKET", DEFAULT_BUCKET),
                        help="payload bucket for large bodies (default $PAYLOAD_BUCKET or %(default)s)")
    parser.add_argument("--queue", default=DEFAULT_QUEUE,
                        help="fallback queue name; its dead-letter queue is <name>-dlq (default %(default)s)")
    parser.add_argument("--reset-secrets", action="store_true",
                        help="overwrite existing secrets with the development values")
    parser.add_argument("--endpoint-secrets", action="store_true",
                        help="also create the secrets of each provider's second endpoint (staging)")
    parser.add_argument("--print-table-definition", action="store_true",
                        help="print the CreateTable request as JSON and exit (no AWS calls)")
    parser.add_argument("--print-queue-url", action="store_true",
                        help="print the URL of the existing fallback queue and exit (for FALLBACK_QUEUE_URL)")
    args = parser.parse_args(argv)

    if args.print_table_definition:
        print(json.dumps({**table_definition(args.table), "TimeToLiveSpecification": TTL_SPECIFICATION}, indent=2))
        return 0

    check_local_endpoint(args.endpoint)
    if args.print_queue_url:
        print(queue_url(args.endpoint, args.queue))
        return 0
    wait_for_endpoint(args.endpoint)
    created = create_table(args.endpoint, args.table)
    print(f"table {args.table}: {'created' if created else 'already exists'} at {args.endpoint}")
    created = create_bucket(args.endpoint, args.bucket)
    print(f"bucket {args.bucket}: {'created' if created else 'already exists'}")
    created, url = create_queue(args.endpoint, args.queue)
    print(f"queue {args.queue}: {'created' if created else 'already exists'} "
          f"(dead-letter queue {dead_letter_queue(args.queue)} after {QUEUE_MAX_RECEIVE_COUNT} receives)")
    print(f"  FALLBACK_QUEUE_URL = {url}")
    values = ensure_secrets(args.endpoint, dev_secrets(args.endpoint_secrets), reset=args.reset_secrets)
    print("secrets (Secrets Manager, SecretString):")
    width = max(len(n) for n in values)
    for name, value in values.items():
        print(f"  {name:<{width}} = {value}")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
