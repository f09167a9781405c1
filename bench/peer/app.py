"""Alocity Selfie webhook receiver written the way a Python team would: the benchmark's peer.

Powertools for AWS Lambda (Python) does the plumbing: the API Gateway v2 event class, the JSON
logger, `parameters.get_secret` (cached for SECRET_CACHE_TTL_SECS) and Idempotency with the
DynamoDB persistence layer. The signature is checked with the standard library's `hmac`:
`Alocity-Signature: t:<unix>,sig:<base64 HMAC-SHA256(secret, "<t>.<raw body>")>`, within
TIMESTAMP_TOLERANCE_SECS of now. An authentic event is written to the events table under
`alocity-selfie#<Id>`, the same key the Rust function uses.

Idempotency wraps only the store step, after verification: wrapping the whole handler would
cache a 401 for a forged delivery under the real event's Id and refuse the real one later.

Run under the Runtime Interface Client: `python -m awslambdaric app.handler`.
Environment: EVENTS_TABLE, IDEMPOTENCY_TABLE (required); WEBHOOK_SECRET_ID,
SECRET_CACHE_TTL_SECS, TIMESTAMP_TOLERANCE_SECS (optional).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, event_source
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

PROVIDER = "alocity-selfie"
SIGNATURE_HEADER = "Alocity-Signature"
EVENTS_TABLE = os.environ["EVENTS_TABLE"]
IDEMPOTENCY_TABLE = os.environ["IDEMPOTENCY_TABLE"]
SECRET_ID = os.environ.get("WEBHOOK_SECRET_ID", f"webhooks/{PROVIDER}")
SECRET_MAX_AGE = int(os.environ.get("SECRET_CACHE_TTL_SECS", "300"))
TOLERANCE_SECS = int(os.environ.get("TIMESTAMP_TOLERANCE_SECS", "300"))

logger = Logger(service=f"{PROVIDER}-webhook")
events_table = boto3.resource("dynamodb").Table(EVENTS_TABLE)
persistence = DynamoDBPersistenceLayer(table_name=IDEMPOTENCY_TABLE)
idempotency = IdempotencyConfig(event_key_jmespath="pk", expires_after_seconds=24 * 3600)

# Parts are separated by ",", ";" or white space; each is "key:value" or "key=value".
_PART_SEPARATOR = re.compile(r"[,;\s]+")
_KEY_SEPARATOR = re.compile(r"[:=]")


class Refused(Exception):
    """A request that is not authentic; `reason` is the error code answered with 401."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_signature_header(value: str) -> tuple[int, list[str]]:
    """The timestamp and every `sig` part of an `Alocity-Signature` header."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in filter(None, _PART_SEPARATOR.split(value.strip())):
        pieces = _KEY_SEPARATOR.split(part, maxsplit=1)
        if len(pieces) != 2:
            continue
        key, text = pieces[0].strip().lower(), pieces[1].strip()
        if key == "t" and text.isdigit():
            timestamp = int(text)
        elif key == "sig" and text:
            signatures.append(text)
    if timestamp is None or not signatures:
        raise Refused("malformed_header")
    return timestamp, signatures


def verify_signature(secret: str, header: str | None, body: bytes, now: float) -> None:
    """Raises `Refused` unless one `sig` is the HMAC of `<t>.<body>` and `t` is recent."""
    if not header:
        raise Refused("missing_header")
    timestamp, signatures = parse_signature_header(header)
    if timestamp < now - TOLERANCE_SECS:
        raise Refused("stale_timestamp")
    if timestamp > now + TOLERANCE_SECS:
        raise Refused("future_timestamp")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).digest()
    for signature in signatures:
        try:
            candidate = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(candidate, expected):
            return
    raise Refused("signature_mismatch")


def raw_body(event: APIGatewayProxyEventV2) -> bytes:
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")


def field(envelope: dict[str, Any], name: str) -> Any:
    """An envelope field in any case (`Id` / `id`)."""
    return next((value for key, value in envelope.items() if key.lower() == name.lower()), None)


def event_record(event: APIGatewayProxyEventV2, body: bytes, envelope: dict[str, Any]) -> dict[str, Any]:
    """The item stored for an authentic event: the Rust function's attributes, same key."""
    event_id = str(field(envelope, "Id"))
    subject = field(envelope, "CorrelationId") or event_id
    now = datetime.now(timezone.utc)
    received_at = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    record: dict[str, Any] = {
        "pk": f"{PROVIDER}#{event_id}",
        "provider": PROVIDER,
        "idempotency_key": event_id,
        "event_code": field(envelope, "EventCode") or "unparsed",
        "subject": subject,
        "provider_subject": f"{PROVIDER}#{subject}",
        "provider_day": f"{PROVIDER}#{received_at[:10]}",
        "received_at": received_at,
        "received_at_ms": int(now.timestamp() * 1000),
        "request_id": event.request_context.request_id,
        "source_ip": event.request_context.http.source_ip,
        "secret_version": "AWSCURRENT",
        "body": body.decode("utf-8"),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_size": len(body),
        "payload": envelope,
        "signature": event.get_header_value(SIGNATURE_HEADER, case_sensitive=False),
        "record_type": "event",
    }
    timestamp = field(envelope, "TimeStamp")
    if isinstance(timestamp, (int, Decimal)):
        record["provider_time"] = datetime.fromtimestamp(int(timestamp), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return record


@idempotent_function(data_keyword_argument="record", persistence_store=persistence, config=idempotency)
def store_event(record: dict[str, Any]) -> dict[str, str]:
    """Writes the event once; a redelivery gets the first delivery's answer from Idempotency."""
    try:
        events_table.put_item(Item=record, ConditionExpression="attribute_not_exists(pk)")
        status = "stored"
    except events_table.meta.client.exceptions.ConditionalCheckFailedException:
        status = "duplicate"
    return {"status": status, "key": record["idempotency_key"]}


def respond(status: int, body: dict[str, str]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


@logger.inject_lambda_context
@event_source(data_class=APIGatewayProxyEventV2)
def handler(event: APIGatewayProxyEventV2, context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    if event.request_context.http.method != "POST":
        return respond(405, {"error": "method_not_allowed"})
    body = raw_body(event)
    try:
        secret = parameters.get_secret(SECRET_ID, max_age=SECRET_MAX_AGE)
    except parameters.exceptions.GetParameterError:
        logger.exception("no secret to verify with")
        return respond(503, {"error": "secrets_unavailable"})
    header = event.get_header_value(SIGNATURE_HEADER, case_sensitive=False)
    try:
        verify_signature(secret, header, body, time.time())
        envelope = json.loads(body, parse_float=Decimal)
        if not isinstance(envelope, dict) or not field(envelope, "Id"):
            raise Refused("invalid_envelope")
    except Refused as refused:
        logger.warning("webhook refused", extra={"reason": refused.reason})
        return respond(401, {"error": refused.reason})
    except ValueError:
        logger.warning("webhook refused", extra={"reason": "invalid_json"})
        return respond(400, {"error": "invalid_json"})
    try:
        result = store_event(record=event_record(event, body, envelope))
    except (ClientError, BotoCoreError, IdempotencyPersistenceLayerError):
        logger.exception("event could not be stored")
        return respond(503, {"error": "storage_unavailable"})
    logger.info("webhook accepted", extra={"key": result["key"], "outcome": result["status"]})
    return respond(200, result)
