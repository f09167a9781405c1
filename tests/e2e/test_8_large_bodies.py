"""Large payloads are never lost: bodies over PAYLOAD_OFFLOAD_BYTES (256 KiB) go to the S3 bucket.

An Alocity Selfie `Template` event carries the enrolment photo as base64 and can be megabytes,
far over DynamoDB's 400 KB item limit. Such a body is written to the payload bucket under
`<provider>/<sha256>` first; the item keeps the key, hash and size instead of the body. Checked
here end to end through `cargo lambda watch` and moto (DynamoDB + S3), with a 1 MiB and a 5 MB
image: stored once, duplicates and conflicts as for any event, the object byte for byte the body,
`webhooks events get` returning the full body, `webhooks reverify` auditing it, and a bucket
failure answered 503 with nothing stored.

5 MB is the body size (the image as base64 text, about 3.7 MB of JPEG): Lambda's request limit
is 6 MB, so a body of 6.7 MB (a 5 MB image after base64) is refused by API Gateway before any
function runs.
"""

from __future__ import annotations

import base64
import json
import os

import pytest

from conftest import BUCKET, MODES, Event, _amani_body, assert_one_line_error, fresh_event, sha256_hex

SELFIE = MODES["alocity-selfie"]
THRESHOLD = 256 * 1024  # PAYLOAD_OFFLOAD_BYTES default (shared/src/store/bodies.rs)
REQUEST_TIMEOUT = 120.0


def template_event(image_bytes: int | None = None, *, body_size: int | None = None,
                   like: Event | None = None) -> Event:
    """A fresh `Template` event whose `Payload.image` is random base64: `image_bytes` of image, or
    padded so that the whole body is exactly `body_size` bytes. `like` keeps that event's Id."""
    base = like or fresh_event(SELFIE, "Template")
    obj = json.loads(base.body)
    obj["Payload"]["image"] = ""
    if body_size is not None:
        empty = len(json.dumps(obj, indent=2).encode())
        image = base64.b64encode(os.urandom(body_size)).decode()[: body_size - empty]
    else:
        assert image_bytes is not None
        image = base64.b64encode(os.urandom(image_bytes)).decode()
    obj["Payload"]["image"] = image
    body = json.dumps(obj, indent=2).encode()
    if body_size is not None:
        assert len(body) == body_size, (len(body), body_size)
    return Event(SELFIE, body, base.key, base.subject, "Template", base.marker)


def send_ok(stack, event: Event, expect: str = "stored", **kw) -> dict:
    resp = stack.send(event, timeout=REQUEST_TIMEOUT, **kw)
    assert resp.status_code == 200, f"{resp.status_code} {resp.text}\n{stack.logs()}"
    assert resp.json()["status"] == expect, resp.text
    return resp.json()


def assert_offloaded(stack, pk: str, body: bytes, provider: str) -> dict:
    item = stack.aws.get(pk)
    assert item is not None, pk
    digest = sha256_hex(body)
    assert "body" not in item and "payload" not in item, sorted(item)
    assert item["body_s3_bucket"] == BUCKET
    assert item["body_s3_key"] == f"{provider}/{digest}"
    assert item["body_sha256"] == digest
    assert int(item["body_size"]) == len(body)
    assert stack.aws.body_object(item["body_s3_key"]) == body
    return item


@pytest.mark.parametrize("size", ["1MiB-image", "5MB-body"])
def test_a_large_template_event_is_stored_once_with_its_body_in_s3(stack, size):
    event = (template_event(image_bytes=1024 * 1024) if size == "1MiB-image"
             else template_event(body_size=5_000_000))
    answer = send_ok(stack, event)
    assert answer["key"] == event.key
    item = assert_offloaded(stack, event.pk, event.body, "alocity-selfie")
    assert item["event_code"] == "Template"
    assert item["subject"] == event.subject
    assert item["record_type"] == "event"

    # A redelivery is a duplicate: same item, same object, nothing else written.
    send_ok(stack, event, expect="duplicate")
    assert stack.aws.get(event.pk) == item
    assert stack.aws.body_object(item["body_s3_key"]) == event.body
    assert [i["pk"] for i in stack.aws.with_marker(event.key)] == [event.pk]


def test_a_conflicting_large_body_gets_its_own_object_and_the_original_is_untouched(stack):
    original = template_event(image_bytes=400 * 1024)
    send_ok(stack, original)
    before = assert_offloaded(stack, original.pk, original.body, "alocity-selfie")

    other = template_event(image_bytes=400 * 1024, like=original)
    send_ok(stack, other, expect="conflict")
    assert stack.aws.get(original.pk) == before
    assert stack.aws.body_object(before["body_s3_key"]) == original.body
    conflict_pk = f"{original.pk}#conflict#{sha256_hex(other.body)}"
    conflict = assert_offloaded(stack, conflict_pk, other.body, "alocity-selfie")
    assert conflict["record_type"] == "conflict" and conflict["conflict_of"] == original.pk


def test_the_threshold_is_exact(stack):
    inline = template_event(body_size=THRESHOLD)
    send_ok(stack, inline)
    item = stack.aws.get(inline.pk)
    assert item["body"] == inline.body.decode() and "body_s3_key" not in item

    offloaded = template_event(body_size=THRESHOLD + 1)
    send_ok(stack, offloaded)
    assert_offloaded(stack, offloaded.pk, offloaded.body, "alocity-selfie")


def _large_event(mode_name: str) -> Event:
    """A 400 KB body for a provider whose documented payloads are small: nothing in their docs
    bounds them, so every function can offload (each under its own prefix)."""
    mode = MODES[mode_name]
    event = fresh_event(mode)
    obj = json.loads(event.body)
    blob = "x" * (400 * 1024)
    if mode.provider == "amani":
        obj["e2e_blob"] = blob
        body = _amani_body(mode, obj)
        return Event(mode, body, sha256_hex(body), event.subject, event.event_code, event.marker)
    if mode.provider == "faceio":
        obj["payload"] = {"blob": blob}
    else:
        obj["Payload"] = {**(obj.get("Payload") or {}), "blob": blob}
    return Event(mode, json.dumps(obj).encode(), event.key, event.subject, event.event_code, event.marker)


@pytest.mark.parametrize("mode_name", ["alocity", "faceio", "amani-signature"])
def test_every_function_offloads_under_its_own_prefix(stack, mode_name):
    event = _large_event(mode_name)
    send_ok(stack, event)
    assert_offloaded(stack, event.pk, event.body, event.mode.provider)


def test_events_get_returns_the_full_body(cli, stack):
    event = template_event(image_bytes=1024 * 1024)
    send_ok(stack, event)
    other = template_event(image_bytes=300 * 1024, like=event)
    send_ok(stack, other, expect="conflict")

    r = cli("events", "get", "alocity-selfie", event.key, "--conflicts", "--json", timeout=300)
    assert r.code == 0, r
    lines = r.lines()
    assert [line["record_type"] for line in lines] == ["event", "conflict"], [sorted(x) for x in lines]
    assert lines[0]["body"] == event.body.decode()
    assert lines[1]["body"] == other.body.decode()
    assert lines[0]["body_s3_key"] == f"alocity-selfie/{sha256_hex(event.body)}"

    r = cli("events", "get", "alocity-selfie", event.key, timeout=300)
    assert r.code == 0, r
    assert f"body ({len(event.body)} bytes):\n{event.body.decode()}" in r.out


def test_reverify_audits_offloaded_bodies(cli, stack):
    intact = template_event(image_bytes=300 * 1024)
    send_ok(stack, intact)
    altered = template_event(image_bytes=300 * 1024)
    send_ok(stack, altered)
    key = assert_offloaded(stack, altered.pk, altered.body, "alocity-selfie")["body_s3_key"]
    tampered = altered.body.replace(b'"Template"', b'"Templatx"', 1)
    assert tampered != altered.body
    stack.aws.s3.put_object(Bucket=BUCKET, Key=key, Body=tampered)

    gone = template_event(image_bytes=300 * 1024)
    send_ok(stack, gone)
    gone_key = assert_offloaded(stack, gone.pk, gone.body, "alocity-selfie")["body_s3_key"]
    stack.aws.s3.delete_object(Bucket=BUCKET, Key=gone_key)

    # A missing object is a finding of the audit, not the end of it.
    r = cli("reverify", "--provider", "alocity-selfie", "--since", "1h", "--all", "--json", timeout=300)
    assert r.code == 1, r
    results = {line["pk"]: line["result"] for line in r.lines()}
    assert results[intact.pk] == "ok"
    assert results[altered.pk] == "signature_mismatch"
    assert results[gone.pk] == "body_missing"

    # Asked for directly, it is a failure that names the object.
    r = cli("events", "get", "alocity-selfie", gone.key, timeout=300)
    assert r.code == 1, r
    assert_one_line_error(r, "error")
    assert f"s3://{BUCKET}/{gone_key}" in r.err and "no longer exists" in r.err, r


def test_a_bucket_failure_answers_503_and_stores_nothing(stack):
    event = template_event(image_bytes=400 * 1024)
    resp = stack.send(event, instance="nobucket", timeout=REQUEST_TIMEOUT)
    assert resp.status_code == 503, resp.text
    assert resp.json() == {"error": "storage_unavailable"}
    assert stack.aws.get(event.pk) is None

    # Small bodies never touch the bucket.
    small = fresh_event(SELFIE)
    resp = stack.send(small, instance="nobucket", timeout=REQUEST_TIMEOUT)
    assert resp.status_code == 200 and resp.json()["status"] == "stored", resp.text

    # Nothing at all was written for it: no item, no conflict record.
    assert stack.aws.with_marker(event.key) == []

    # The provider's retry, answered by a function whose bucket exists, stores it exactly once.
    resp = stack.send(event, timeout=REQUEST_TIMEOUT)
    assert resp.status_code == 200 and resp.json()["status"] == "stored", resp.text
    assert_offloaded(stack, event.pk, event.body, "alocity-selfie")
    assert [i["pk"] for i in stack.aws.with_marker(event.key)] == [event.pk]
