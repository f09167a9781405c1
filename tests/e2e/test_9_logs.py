"""Runs last: the logs of the whole end-to-end run carry no secret, signature or body.

Every request of the suite (accepted, duplicate, conflict, forged, stale, outage, rotation, CLI,
corpus) went through the functions started by this session; their output, and cargo lambda
watch's own, is under the session's log directory.
"""

from __future__ import annotations

import json

from conftest import BASE64_MAC, BODY_AND_HEADER_FRAGMENTS, known_secrets

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

    for secret in sorted(known_secrets()):
        assert secret not in everything, f"a secret appears in the logs ({secret[:6]}…)"
    assert "e2e-rotated-" not in everything, "a rotated secret appears in the logs"
    assert "e2e-quarantine-" not in everything, "a quarantine test secret appears in the logs (test_10)"

    for name, text in logs.items():
        for line in _function_lines(text):
            for fragment in BODY_AND_HEADER_FRAGMENTS:
                assert fragment not in line, f"{name}: log line carries {fragment!r}: {line[:200]}"
            assert not BASE64_MAC.search(line), f"{name}: log line carries a base64 MAC: {line[:200]}"
