"""Every documented event code per mode over real HTTP, duplicates, conflicts, rejections."""

from __future__ import annotations

import json
import time

import pytest

from conftest import (
    MODES,
    STAGE,
    UNRELATED_SECRET,
    Event,
    assert_event_item,
    assert_nothing_written,
    conflicting_body,
    fresh_event,
    items_for_pk,
    load_vectors,
    sha256_hex,
    sign_headers,
    signature_header_value,
    vector_headers,
)

POSITIVE = [(m, v["name"]) for m in MODES for v in load_vectors(m)["vectors"]]


def _vector(mode_name: str, name: str) -> dict:
    return next(v for v in load_vectors(mode_name)["vectors"] if v["name"] == name)


@pytest.mark.parametrize(("mode_name", "vector_name"), POSITIVE, ids=[f"{m}:{v}" for m, v in POSITIVE])
def test_vector_is_stored_then_duplicate(stack, mode_name, vector_name):
    mode = MODES[mode_name]
    v = _vector(mode_name, vector_name)
    body = v["body"].encode("utf-8")
    event = Event(mode, body, v["key"], v["subject"], v["event_code"], marker="")
    headers = vector_headers(mode, v)

    r = stack.post(mode, body, headers)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["status"] == "stored", first
    if v["key"] is not None:
        assert first["key"] == v["key"]
    key = first["key"]
    item = stack.aws.get(f"{mode.provider}#{key}")
    assert_event_item(item, event, key, secret_version=STAGE[v["matched"]],
                      signature=signature_header_value(mode, headers))

    # The same delivery again (re-signed now, as a provider retry would be).
    r2 = stack.post(mode, body, vector_headers(mode, v))
    assert r2.status_code == 200, r2.text
    if v["key"] is None:
        # Keyed on the request id (FACEIO AUTH and unknown events): every delivery is its own record.
        second = r2.json()
        assert second["status"] == "stored" and second["key"] != key
        assert_event_item(stack.aws.get(f"{mode.provider}#{second['key']}"), event, second["key"],
                          secret_version=STAGE[v["matched"]])
    else:
        assert r2.json() == {"status": "duplicate", "key": key}
        assert items_for_pk(stack.aws, f"{mode.provider}#{key}") == [item]


@pytest.mark.parametrize("mode_name", list(MODES))
def test_fresh_event_is_queryable_by_both_indexes(stack, mode_name):
    mode = MODES[mode_name]
    event = fresh_event(mode)
    r = stack.send(event)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "stored", "key": event.key}
    item = stack.aws.get(event.pk)
    assert_event_item(item, event, event.key)
    by_time = stack.aws.query("by-provider-time", "provider_day", item["provider_day"])
    assert event.pk in {i["pk"] for i in by_time}
    projected = next(i for i in by_time if i["pk"] == event.pk)
    assert projected["event_code"] == event.event_code and "body" not in projected
    if event.subject is not None:
        by_subject = stack.aws.query("by-subject", "provider_subject", f"{mode.provider}#{event.subject}")
        assert event.pk in {i["pk"] for i in by_subject}


CONFLICT_MODES = {"alocity-selfie": None, "alocity": None, "faceio": "ENROLL"}


@pytest.mark.parametrize("mode_name", list(CONFLICT_MODES))
def test_same_key_other_body_is_a_conflict(stack, mode_name):
    mode = MODES[mode_name]
    event = fresh_event(mode, CONFLICT_MODES[mode_name])
    assert stack.send(event).json() == {"status": "stored", "key": event.key}
    original = stack.aws.get(event.pk)

    other = conflicting_body(event)
    r = stack.post(mode, other, sign_headers(mode, other, load_vectors(mode.name)["secrets"]["current"]))
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "conflict", "key": event.key}

    conflict = stack.aws.get(f"{event.pk}#conflict#{sha256_hex(other)}")
    assert conflict is not None, [i["pk"] for i in items_for_pk(stack.aws, event.pk)]
    assert conflict["record_type"] == "conflict"
    assert conflict["conflict_of"] == event.pk
    assert conflict["body_sha256"] == sha256_hex(other)
    assert conflict["body"] == other.decode()
    assert conflict["provider"] == mode.provider
    assert stack.aws.get(event.pk) == original  # never overwritten
    assert len(items_for_pk(stack.aws, event.pk)) == 2


def _negative_cases(mode) -> list[tuple[str, str]]:
    common = [("missing-header", "missing_header")]
    if mode.is_alocity:
        return common + [("forged", "signature_mismatch"), ("tampered", "signature_mismatch"),
                         ("stale", "stale_timestamp"), ("future", "future_timestamp"),
                         ("malformed", "malformed_header")]
    if mode.provider == "faceio":
        return common + [("forged", "token_mismatch"), ("wrong-app", "wrong_app")]
    if mode.amani_auth == "token":
        return common + [("forged", "token_mismatch"), ("token-prefix", "token_mismatch")]
    return common + [("forged", "signature_mismatch"), ("tampered", "signature_mismatch")]


NEGATIVE = [(m, case, err) for m in MODES for case, err in _negative_cases(MODES[m])]


@pytest.mark.parametrize(("mode_name", "case", "error"), NEGATIVE, ids=[f"{m}:{c}" for m, c, _ in NEGATIVE])
def test_rejected_request_writes_nothing(stack, mode_name, case, error):
    mode = MODES[mode_name]
    event = fresh_event(mode, "ENROLL" if mode.provider == "faceio" else None)
    secret = load_vectors(mode.name)["secrets"]["current"]
    body = event.body
    now = int(time.time())
    if case == "missing-header":
        headers = {}
    elif case == "forged":
        headers = sign_headers(mode, body, UNRELATED_SECRET)
    elif case == "tampered":
        headers = sign_headers(mode, body, secret)
        body = body.replace(event.marker.encode(), event.marker[::-1].encode() + event.marker.encode())
    elif case == "stale":
        headers = sign_headers(mode, body, secret, t=now - 3600)
    elif case == "future":
        headers = sign_headers(mode, body, secret, t=now + 3600)
    elif case == "malformed":
        headers = {"Alocity-Signature": "this is not a signature header"}
    elif case == "wrong-app":
        obj = json.loads(body)
        obj["appId"] = "some-other-faceio-app"
        body = json.dumps(obj, indent=2).encode()
        headers = sign_headers(mode, body, secret)
    elif case == "token-prefix":
        headers = sign_headers(mode, body, secret[:-1])
    else:  # pragma: no cover
        raise AssertionError(case)

    r = stack.post(mode, body, headers)
    assert r.status_code == 401, r.text
    assert r.json() == {"error": error}
    assert_nothing_written(stack.aws, event.marker)


TIMELESS_NEGATIVES = [(m, v["name"]) for m in ("faceio", "amani-signature", "amani-token")
                      for v in load_vectors(m)["negative_vectors"]]


@pytest.mark.parametrize(("mode_name", "name"), TIMELESS_NEGATIVES, ids=[f"{m}:{n}" for m, n in TIMELESS_NEGATIVES])
def test_negative_vector_verbatim(stack, mode_name, name):
    """The known-answer negatives of the modes without a timestamp, sent exactly as recorded."""
    mode = MODES[mode_name]
    v = next(x for x in load_vectors(mode_name)["negative_vectors"] if x["name"] == name)
    before = stack.aws.count()
    r = stack.post(mode, v["body"].encode("utf-8"), v["headers"])
    assert r.status_code == v["status"], r.text
    assert r.json()["error"] in v["errors"]
    assert stack.aws.count() == before


@pytest.mark.parametrize("binary", sorted({m.binary for m in MODES.values() if m.instance == "main"}))
def test_get_is_method_not_allowed(stack, binary):
    import requests

    r = requests.get(stack.instances["main"].url(binary), timeout=60)
    assert r.status_code == 405
    assert r.json() == {"error": "method_not_allowed"}


def test_signed_binary_body_is_stored_unparsed(stack):
    mode = MODES["alocity"]
    marker = fresh_event(mode).marker
    body = b"\xff\xfe\x00binary " + marker.encode() + b" \x80\x81"
    headers = {**sign_headers(mode, body, load_vectors(mode.name)["secrets"]["current"]),
               "Content-Type": "application/octet-stream"}
    r = stack.post(mode, body, headers)
    assert r.status_code == 200, r.text
    key = sha256_hex(body)
    assert r.json() == {"status": "stored", "key": key}
    event = Event(mode, body, key, None, "unparsed", marker)
    assert_event_item(stack.aws.get(event.pk), event, key, signature=headers["Alocity-Signature"],
                      expect_payload=False)
    assert "payload" not in stack.aws.get(event.pk)


def test_verified_non_json_body_is_stored_unparsed(stack):
    mode = MODES["amani-token"]
    marker = fresh_event(mode).marker
    body = f"plain text, not JSON {marker}".encode()
    r = stack.post(mode, body, {**sign_headers(mode, body, load_vectors(mode.name)["secrets"]["current"]),
                                "Content-Type": "text/plain"})
    assert r.status_code == 200, r.text
    key = sha256_hex(body)
    assert r.json() == {"status": "stored", "key": key}
    event = Event(mode, body, key, None, "unparsed", marker)
    assert_event_item(stack.aws.get(event.pk), event, key, expect_payload=False)


def test_faceio_auth_repeats_are_separate_records(stack):
    mode = MODES["faceio"]
    event = fresh_event(mode, "AUTH")
    keys = []
    for _ in range(2):
        r = stack.send(event)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "stored"
        keys.append(r.json()["key"])
    assert keys[0] != keys[1]
    for key in keys:
        assert_event_item(stack.aws.get(f"faceio#{key}"), event, key)
    assert len(stack.aws.with_marker(event.marker)) == 2
