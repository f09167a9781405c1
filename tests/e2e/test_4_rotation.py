"""Secret rotation through the real Secrets Manager API.

Each mode has its own `cargo lambda watch` instance and its own secret (webhooks/rot/<mode>),
seeded with the vectors' current (AWSCURRENT) and previous (AWSPREVIOUS) values and warmed when the
stack started, so its function has those values cached. Then PutSecretValue moves AWSCURRENT to
AWSPREVIOUS: a request signed with the new secret misses the cache and triggers the refresh (at
most once per 30 s — the warm-up is at least that long ago), the old current verifies as
AWSPREVIOUS, and the secret that dropped out of the stages is rejected, as is an unrelated one.
"""

from __future__ import annotations

import time
import uuid

import pytest

from conftest import (
    MODES,
    UNRELATED_SECRET,
    assert_event_item,
    assert_nothing_written,
    fresh_event,
    load_vectors,
)

REFRESH_THROTTLE_S = 30


@pytest.mark.parametrize("mode_name", list(MODES))
def test_rotation_old_and_new_accepted_third_rejected(stack, healthy_proxy, mode_name):
    mode = MODES[mode_name]
    inst = stack.instances[mode.rot_instance]
    warm = inst.warm
    assert warm.get("status") == 200, f"warm-up of {inst.name} failed: {warm.get('json')}"
    assert warm["json"] == {"status": "stored", "key": warm["event"].key}

    wait = warm["at"] + REFRESH_THROTTLE_S + 1 - time.monotonic()
    if wait > 0:
        time.sleep(wait)

    secrets = load_vectors(mode.name)["secrets"]
    old_current, old_previous = secrets["current"], secrets["previous"]
    new = f"e2e-rotated-{mode.name}-{uuid.uuid4().hex[:12]}"
    stack.aws.rotate(mode.rot_secret_id, new)
    assert stack.aws.stage_values(mode.rot_secret_id) == {"AWSCURRENT": new, "AWSPREVIOUS": old_current}

    signed_new = fresh_event(mode)
    r = stack.send(signed_new, new, instance=inst.name)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "stored", "key": signed_new.key}
    assert_event_item(stack.aws.get(signed_new.pk), signed_new, signed_new.key, secret_version="AWSCURRENT")

    signed_old = fresh_event(mode)
    r = stack.send(signed_old, old_current, instance=inst.name)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "stored", "key": signed_old.key}
    assert_event_item(stack.aws.get(signed_old.pk), signed_old, signed_old.key, secret_version="AWSPREVIOUS")

    for third in (old_previous, UNRELATED_SECRET):
        rejected = fresh_event(mode)
        r = stack.send(rejected, third, instance=inst.name)
        assert r.status_code == 401, r.text
        assert r.json()["error"] in ("signature_mismatch", "token_mismatch")
        assert_nothing_written(stack.aws, rejected.marker)
