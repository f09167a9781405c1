"""Runs last: the logs of the whole end-to-end run carry no secret, signature or body.

Every request of the suite (accepted, duplicate, conflict, forged, stale, outage, rotation, CLI,
corpus) went through the functions started by this session; their output, and cargo lambda
watch's own, is under the session's log directory.
"""

from __future__ import annotations

import json
import re

from conftest import MODES, REPO, UNRELATED_SECRET, load_vectors

# What only a request body or an authentication header would put in a log line.
BODY_AND_HEADER_FRAGMENTS = (
    "Bearer ",
    "bearer ",
    "sig:",
    "sig=",
    '"Payload"',
    '\\"Payload\\"',
    '"eventName"',
    '\\"eventName\\"',
    '"facialId"',
    '\\"facialId\\"',
    '"profile"',
    '\\"profile\\"',
    "Webhook-Token:",
    "Alocity-Signature:",
)


# A bare base64 HMAC-SHA256 (an Amani `Webhook-Signature`, or an Alocity `sig` without its
# prefix): 43 base64 characters and one `=`. Nothing else we log has that shape (checked on the
# logs of full runs before this check was added: no match in about 5000 lines each).
BASE64_MAC = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}=")


def _secrets() -> set[str]:
    values = {UNRELATED_SECRET} | _corpus_tokens()
    for mode_name in MODES:
        secrets = load_vectors(mode_name)["secrets"]
        values.update((secrets["current"], secrets["previous"]))
    return values


def _corpus_tokens() -> set[str]:
    """The tokens the bad-input corpus sends (test_7 sends a sample of it): token headers as they
    are, bearer headers without their scheme word; short ones are left out, as they could occur
    in any text."""
    corpus = json.loads((REPO / "tests" / "fixtures" / "corpus" / "corpus.json").read_text())
    tokens = set()
    for case in corpus["cases"]:
        for name, value in case["headers"].items():
            if name.lower() == "webhook-token":
                tokens.add(value.strip())
            elif name.lower() in ("www-authenticate", "authorization"):
                tokens.add(value.strip().split(" ", 1)[-1].strip())
    return {token for token in tokens if len(token) >= 12}


def _function_lines(text: str) -> list[str]:
    """Our functions log JSON objects, one per line; everything else is cargo lambda's."""
    return [line for line in text.splitlines() if line.startswith("{")]


def test_logs_of_the_whole_run_leak_no_secret_signature_or_body(processes):
    logs = {path.name: path.read_text(errors="replace") for path in processes.log_dir.glob("watch-*.log")}
    assert logs, f"no function logs under {processes.log_dir}"
    everything = "\n".join(logs.values())

    ours = [json.loads(line) for text in logs.values() for line in _function_lines(text)]
    accepted = [entry for entry in ours if entry.get("message") == "webhook accepted"]
    refused = [entry for entry in ours if entry.get("message") == "webhook refused"]
    # The check means something only if the run logged real traffic of both kinds.
    assert len(accepted) >= 100, len(accepted)
    assert len(refused) >= 20, len(refused)
    assert all("key" in entry and "provider" in entry for entry in accepted)

    for secret in sorted(_secrets()):
        assert secret not in everything, f"a secret appears in the logs ({secret[:6]}…)"
    assert "e2e-rotated-" not in everything, "a rotated secret appears in the logs"
    assert "e2e-quarantine-" not in everything, "a quarantine test secret appears in the logs (test_10)"

    for name, text in logs.items():
        for line in _function_lines(text):
            for fragment in BODY_AND_HEADER_FRAGMENTS:
                assert fragment not in line, f"{name}: log line carries {fragment!r}: {line[:200]}"
            assert not BASE64_MAC.search(line), f"{name}: log line carries a base64 MAC: {line[:200]}"
