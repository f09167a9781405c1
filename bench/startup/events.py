"""Signed Alocity Selfie deliveries as API Gateway HTTP API (payload 2.0) events.

Bodies are compact JSON `FaceMatched` envelopes of an exact size (default 1 KiB), each with a
fresh `Id`, so every delivery is stored. Signatures come from the project's independent signer,
tests/fixtures/sign.py (HMAC-SHA256 over "<t>.<body>", base64), signed at the current time.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
import sign  # noqa: E402

PROVIDER = "alocity-selfie"
ROUTE = "/webhooks/alocity-selfie"
SOURCE_IP = "203.0.113.7"
ACCOUNT_ID = "a2a4e62e-dd1a-4396-a27f-2e5115a028d1"
ORGANIZATION_ID = "cc298111-883b-4047-a960-b27dd3525d2b"
_UUID_ITEM = 1 + 2 + 36  # `,"<uuid>"`


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery: its API Gateway event and what the receiver should answer."""

    event_id: str
    body: bytes
    event: dict[str, Any]
    expect_status: int
    expect_reason: str | None = None  # the 401 error code, for forged deliveries

    @property
    def pk(self) -> str:
        return f"{PROVIDER}#{self.event_id}"


def _compact(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, separators=(",", ":")).encode()


def selfie_body(event_id: str, size: int = 1024) -> bytes:
    """A `FaceMatched` envelope of exactly `size` bytes (at least ~300): matched subjects are
    added until the size is reached, the last one cut to fit."""
    subjects: list[str] = []
    envelope = {
        "Id": event_id,
        "AccountId": ACCOUNT_ID,
        "OrganizationId": ORGANIZATION_ID,
        "CorrelationId": str(uuid.uuid4()),
        "EventCode": "FaceMatched",
        "Payload": {"subjects": subjects},
        "TimeStamp": int(time.time()),
    }
    while size - len(_compact(envelope)) >= 2 * _UUID_ITEM:
        subjects.append(str(uuid.uuid4()))
    room = size - len(_compact(envelope))
    if room > 0:
        filler = room - 2 - (1 if subjects else 0)  # quotes, comma
        subjects.append((uuid.uuid4().hex * 3)[:filler])
    body = _compact(envelope)
    if len(body) != size:
        raise ValueError(f"cannot build a {size}-byte body (got {len(body)})")
    return body


def api_gateway_event(body: bytes, headers: dict[str, str], request_id: str) -> dict[str, Any]:
    """The event API Gateway hands a Lambda for a POST (header names lower-case, as it sends them)."""
    now = datetime.now(timezone.utc)
    return {
        "version": "2.0",
        "routeKey": f"POST {ROUTE}",
        "rawPath": ROUTE,
        "rawQueryString": "",
        "headers": {
            "content-length": str(len(body)),
            "content-type": "application/json",
            "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "user-agent": "Alocity-Webhooks/1.0",
            "x-amzn-trace-id": f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}",
            "x-forwarded-for": SOURCE_IP,
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            **{name.lower(): value for name, value in headers.items()},
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": "POST",
                "path": ROUTE,
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": "Alocity-Webhooks/1.0",
            },
            "requestId": request_id,
            "routeKey": f"POST {ROUTE}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": body.decode("utf-8"),
        "isBase64Encoded": False,
    }


def authentic(secret: str, size: int = 1024) -> Delivery:
    """A new event, signed now with `secret`: must be stored (200 `stored`)."""
    event_id = str(uuid.uuid4())
    body = selfie_body(event_id, size)
    header = sign.alocity_header(secret, int(time.time()), body)
    event = api_gateway_event(body, {"Alocity-Signature": header}, _request_id())
    return Delivery(event_id, body, event, 200)


def forged(secret: str, size: int = 1024) -> Delivery:
    """A new event signed with `secret`, then one byte of the body changed: must be refused
    (401 `signature_mismatch`) and nothing stored under its Id."""
    event_id = str(uuid.uuid4())
    body = selfie_body(event_id, size)
    header = sign.alocity_header(secret, int(time.time()), body)
    position = body.rindex(b'"]')  # inside the last subject
    tampered = body[: position - 1] + (b"0" if body[position - 1 : position] != b"0" else b"1") + body[position:]
    event = api_gateway_event(tampered, {"Alocity-Signature": header}, _request_id())
    return Delivery(event_id, tampered, event, 401, "signature_mismatch")


def _request_id() -> str:
    return f"{uuid.uuid4().hex[:8]}-bench"
