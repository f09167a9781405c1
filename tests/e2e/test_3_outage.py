"""AWS unreachable (the fault proxy between the functions and moto is cut) and back again."""

from __future__ import annotations

import time

import pytest

from conftest import (
    MODES,
    STORE_DEADLINE_MS,
    assert_event_item,
    assert_nothing_written,
    fresh_event,
)

DEADLINE_S = STORE_DEADLINE_MS / 1000


@pytest.mark.parametrize("mode_name", list(MODES))
def test_storage_outage_is_503_then_retry_is_stored_once(stack, healthy_proxy, mode_name):
    mode = MODES[mode_name]
    # A warm function with its secret cached (stale-on-error keeps verifying during the outage).
    warm = fresh_event(mode)
    assert stack.send(warm).status_code == 200

    event = fresh_event(mode)
    healthy_proxy.cut("refuse")
    try:
        started = time.monotonic()
        r = stack.send(event)
        elapsed = time.monotonic() - started
    finally:
        healthy_proxy.restore()
    assert r.status_code == 503, r.text
    assert r.json() == {"error": "storage_unavailable"}
    assert elapsed < DEADLINE_S + 3, f"answered after {elapsed:.1f}s, budget {DEADLINE_S}s"
    assert_nothing_written(stack.aws, event.marker)

    # The provider retries the same delivery once AWS is reachable again.
    r = stack.send(event)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "stored", "key": event.key}
    assert_event_item(stack.aws.get(event.pk), event, event.key)
    r = stack.send(event)
    assert r.json() == {"status": "duplicate", "key": event.key}
    assert len(stack.aws.with_marker(event.marker)) == 1


def test_hanging_storage_answers_inside_faceio_timeout(stack, healthy_proxy):
    """Connections accepted but never answered: the store deadline must still hold, well inside
    the 6 s after which FACEIO gives up."""
    mode = MODES["faceio"]
    assert stack.send(fresh_event(mode)).status_code == 200
    event = fresh_event(mode)
    healthy_proxy.cut("blackhole")
    try:
        started = time.monotonic()
        r = stack.send(event)
        elapsed = time.monotonic() - started
    finally:
        healthy_proxy.restore()
    assert r.status_code == 503, r.text
    assert r.json() == {"error": "storage_unavailable"}
    assert elapsed < 6, f"answered after {elapsed:.1f}s"
    assert_nothing_written(stack.aws, event.marker)
    r = stack.send(event)
    assert r.json() == {"status": "stored", "key": event.key}
    assert len(stack.aws.with_marker(event.marker)) == 1


def test_cold_start_without_secrets_manager_is_503(stack, healthy_proxy):
    """A function that never got its secret (cold start during an outage) cannot verify: 503, not
    401; once AWS is back the same delivery is stored."""
    mode = MODES["faceio"]
    event = fresh_event(mode)
    healthy_proxy.cut("refuse")
    try:
        r = stack.send(event, instance="cold", timeout=300)
    finally:
        healthy_proxy.restore()
    assert r.status_code == 503, r.text
    assert r.json() == {"error": "secrets_unavailable"}
    assert_nothing_written(stack.aws, event.marker)
    r = stack.send(event, instance="cold")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "stored", "key": event.key}
    assert len(stack.aws.with_marker(event.marker)) == 1
