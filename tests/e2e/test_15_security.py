"""Security hardening through the real functions (issue 15), against the suite's stack.

- A large body goes to the bucket with a conditional write (`If-None-Match: *`): an object
  already under its key is never overwritten (moto enforces the condition, answering `412`), and
  the delivery is stored pointing at it.
"""

from __future__ import annotations

from conftest import BUCKET, sha256_hex
from test_8_large_bodies import SELFIE, send_ok, template_event


def test_an_object_already_under_a_body_s_key_is_not_overwritten(stack):
    event = template_event(300 * 1024)
    key = f"{SELFIE.provider}/{sha256_hex(event.body)}"
    # The same bytes already there (a retry whose item write failed), marked so that an
    # overwrite would show: a new PutObject replaces the metadata too.
    stack.aws.s3.put_object(Bucket=BUCKET, Key=key, Body=event.body, Metadata={"written": "first"})
    send_ok(stack, event)
    head = stack.aws.s3.head_object(Bucket=BUCKET, Key=key)
    assert head["Metadata"] == {"written": "first"}, head["Metadata"]
    item = stack.aws.get(event.pk)
    assert item is not None and item["body_s3_key"] == key, item
    # A duplicate takes the same path and stays a duplicate.
    send_ok(stack, event, expect="duplicate")
