"""The bad-input corpus over real HTTP: a sample of `tests/fixtures/corpus/` sent through
`cargo lambda watch`, each answered with exactly its status and reason, nothing written.

The corpus is rebuilt by `gen_corpus.build(now)` for the current time (Alocity timestamps must
be fresh); the full corpus runs through the pipeline in `cargo test` (functions/*/tests/corpus.rs).
Only cases marked `http` are eligible (HTTP cannot carry junk base64 events, HEAD bodies,
control characters in headers, or clock-exact boundaries). E2E_CORPUS_ALL=1 sends every one.
"""

from __future__ import annotations

import base64
import os
import sys
import time
from typing import Any

import pytest

from conftest import FIXTURES, MODES, REQUEST_TIMEOUT, UNRELATED_SECRET, fresh_event, load_vectors, sha256_hex

sys.path.insert(0, str(FIXTURES / "corpus"))
import gen_corpus  # noqa: E402

SAMPLE_PER_MODE = 6
# Categories to draw from first: the sharpest attacks, then the rest in corpus order.
PRIORITY = ["partial-signature", "partial-token", "stale", "wrong-app", "tampered-body", "bad-body",
            "method", "garbled-header", "future", "duplicated-header", "scheme-word",
            "tampered-signature", "oversized-header", "missing-header", "non-base64"]


def _sample(cases: list[dict[str, Any]]) -> list[str]:
    """Case ids: per mode, one case from each of SAMPLE_PER_MODE categories (the middle one)."""
    eligible = [c for c in cases if c["http"]]
    if os.environ.get("E2E_CORPUS_ALL") == "1":
        return [c["id"] for c in eligible]
    chosen = []
    for mode in gen_corpus.MODES:
        by_category: dict[str, list[dict[str, Any]]] = {}
        for case in eligible:
            if case["mode"] == mode:
                by_category.setdefault(case["category"], []).append(case)
        order = [c for c in PRIORITY if c in by_category] + [c for c in by_category if c not in PRIORITY]
        for category in order[:SAMPLE_PER_MODE]:
            group = by_category[category]
            chosen.append(group[len(group) // 2]["id"])
    return chosen


SAMPLE = _sample(gen_corpus.build(int(time.time()))["cases"])
_built: dict[str, Any] = {}


def _case(case_id: str) -> dict[str, Any]:
    """The case as built for now (rebuilt when older than a minute)."""
    if not _built or time.time() - _built["at"] > 60:
        corpus = gen_corpus.build(int(time.time()))
        _built.update(at=time.time(), cases={c["id"]: c for c in corpus["cases"]})
    return _built["cases"][case_id]


def _raw_body(case: dict[str, Any]) -> bytes:
    raw = base64.b64decode(case["body"]) if case["is_base64_encoded"] else case["body"].encode("utf-8")
    if case.get("pad_to"):
        raw += b" " * (case["pad_to"] - len(raw))
    return raw


def _candidate_pks(case: dict[str, Any], body: bytes) -> list[str]:
    """Where the receiver would have written this body had it accepted it."""
    mode = MODES[case["mode"]]
    pks = [f"{mode.provider}#{sha256_hex(body)}"]  # Amani, and `unparsed` bodies
    marker = case["marker"]
    if marker:
        pks.append(f"{mode.provider}#{marker}")  # Alocity: the envelope Id
        if mode.provider == "faceio":
            app_id = load_vectors("faceio")["app_id"]
            pks += [f"faceio#{app_id}/ENROLL/{marker}", f"faceio#some-other-app/ENROLL/{marker}"]
    return pks


def test_corpus_file_is_up_to_date():
    corpus = gen_corpus.build()
    gen_corpus.check(corpus)
    assert (gen_corpus.OUT.read_text(encoding="utf-8") == gen_corpus.render(corpus)), (
        "tests/fixtures/corpus/corpus.json is stale: run python3 tests/fixtures/corpus/gen_corpus.py")


def test_sample_spans_every_mode():
    modes = {case_id.split("/", 1)[0] for case_id in SAMPLE}
    assert modes == set(gen_corpus.MODES)
    assert len(SAMPLE) >= 25


@pytest.fixture(scope="module")
def table_before(stack):
    return {item["pk"] for item in stack.aws.scan()}


@pytest.fixture(scope="module")
def settled(stack, proxy):
    """Each function answers a forged request with 401. A verification miss answers 503 for up
    to 30 s after a failed secret refresh (an outage test may have just ended), so wait that out."""
    for mode in MODES.values():
        deadline = time.monotonic() + 45
        while True:
            r = stack.send(fresh_event(mode), UNRELATED_SECRET)
            if r.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert r.status_code == 401, f"{mode.name}: forged request answered {r.status_code} {r.text}"


@pytest.mark.parametrize("case_id", SAMPLE)
def test_corpus_case_is_refused_over_http(stack, healthy_proxy, settled, table_before, case_id):
    import requests

    case = _case(case_id)
    mode = MODES[case["mode"]]
    body = _raw_body(case)
    url = stack.instance_for(mode).url(mode.binary)
    # A binary content type is what makes the body arrive base64-encoded, as in the case.
    content_type = "application/octet-stream" if case["is_base64_encoded"] else "application/json"
    r = requests.request(case["method"], url, data=body, timeout=REQUEST_TIMEOUT,
                         headers={"Content-Type": content_type, **case["headers"]})
    assert r.status_code == case["status"], f"{case['what']}: {r.status_code} {r.text}"
    assert r.json() == {"error": case["error"]}, case["what"]
    for pk in _candidate_pks(case, body):
        assert stack.aws.get(pk) is None, f"{case['what']}: stored as {pk}"


def test_sample_wrote_nothing(stack, table_before):
    after = {item["pk"] for item in stack.aws.scan()}
    assert after == table_before, sorted(after - table_before)[:20]
