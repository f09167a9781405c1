"""The `webhooks` CLI against the local stack: send -> list -> get for every provider mode, subject
lookups, the tamper audit, --json output, --stack, the secret from stdin or WEBHOOKS_SECRET, and exit
statuses (0 ok, 1 failure, 2 usage). test_12_stack.py runs the commands against a stack's outputs.

The CLI runs as a subprocess with AWS_ENDPOINT_URL pointing at the suite's moto and dummy
credentials, and sends to the suite's `cargo lambda watch` instances with --url.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from conftest import (
    MODES,
    TABLE,
    Mode,
    assert_one_line_error,
    amani_token_header,
    faceio_app_id,
    free_port,
    load_vectors,
    local_aws,
    sha256_hex,
)

# Every documented event code, as `webhooks send --event` accepts them (providers.md).
CODES: dict[str, list[str]] = {
    "alocity-selfie": ["InviteSent", "Template", "InviteInvalid", "FaceQualityFailures", "PinFailures",
                       "PinOk", "FaceMatched"],
    "alocity": ["accesslog.created", "door.healthcheck", "door.state", "lock.state", "user.card", "user.face"],
    "faceio": ["ENROLL", "AUTH", "DELETION"],
    "amani": ["profile_create", "profile_update", "profile_status_change", "profile_level_update",
              "document_upload", "document_delete", "document_update", "document_status_change",
              "zip_file_create", "video_call_status_change"],
}
HMAC_MODES = ["alocity-selfie", "alocity", "amani-signature"]


def send_args(stack, mode: Mode, *, secret_id: bool = True) -> list[str]:
    """`webhooks send` for this mode's instance, with the mode's settings (and its secret's id
    unless `secret_id` is false, for a test that passes --secret)."""
    args = ["send", mode.provider, "--url", stack.instance_for(mode).url(mode.binary)]
    if mode.provider == "faceio":
        args += ["--app-id", faceio_app_id()]
    if mode.provider == "amani":
        args += ["--amani-mode", mode.amani_auth]
    if mode.amani_auth == "token":
        args += ["--token-header", amani_token_header()]
        if secret_id:
            args += ["--secret-id", mode.secret_id]
    return args


def send_one(cli, stack, mode: Mode, code: str, *extra: str) -> dict[str, Any]:
    r = cli(*send_args(stack, mode), "--event", code, "--json", *extra)
    assert r.code == 0, r
    (line,) = r.lines()
    assert line["status"] == 200, r
    assert line["response"]["status"] == "stored", r
    return line


# ---------------------------------------------------------------------------------------------
# send -> list -> get, subject
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode_name", list(MODES))
def test_send_list_get_round_trip(cli, stack, mode_name):
    mode = MODES[mode_name]
    provider = mode.provider
    sent = []
    for code in CODES[provider]:
        line = send_one(cli, stack, mode, code)
        assert (line["provider"], line["event"], line["tampered"]) == (provider, code, False)
        key = line["response"]["key"]
        item = stack.aws.get(f"{provider}#{key}")
        assert item is not None, line
        assert item["event_code"] == code
        assert item["subject"] == line["subject"]
        assert item["record_type"] == "event"
        if mode_name in HMAC_MODES:
            assert item.get("signature"), item  # kept for the tamper audit
        else:
            assert "signature" not in item  # a token is never stored
        if provider == "amani":
            body = item["body"]
            assert json.dumps(json.loads(body)) == body, "Amani bodies go out as Python json.dumps writes them"
        sent.append((code, key, line["subject"], item))

    # list: every event sent is in the provider's last hour, newest first.
    listed = cli("events", "list", "--provider", provider, "--since", "1h", "--limit", "100000", "--json")
    assert listed.code == 0, listed
    rows = listed.lines()
    by_key = {row["idempotency_key"]: row for row in rows}
    for code, key, subject, _ in sent:
        assert key in by_key, f"{key} not listed"
        assert by_key[key]["event_code"] == code
        assert by_key[key]["subject"] == subject
        assert "body" not in by_key[key]  # the index projects metadata only
    received = [row["received_at"] for row in rows]
    assert received == sorted(received, reverse=True)

    # list --event: only that code.
    code0, key0, subject0, item0 = sent[0]
    only = cli("events", "list", "--provider", provider, "--from", item0["received_at"][:16], "--event", code0,
               "--limit", "100000", "--json")
    assert only.code == 0, only
    assert {row["event_code"] for row in only.lines()} == {code0}
    assert key0 in {row["idempotency_key"] for row in only.lines()}

    # get: the whole item, raw body included, byte for byte.
    for code, key, _, item in sent:
        got = cli("events", "get", provider, key, "--json")
        assert got.code == 0, got
        (obj,) = got.lines()
        assert obj["pk"] == f"{provider}#{key}"
        assert obj["body"] == item["body"]
        assert sha256_hex(obj["body"].encode()) == item["body_sha256"]
        assert obj["payload"] == json.loads(item["body"])
    human = cli("events", "get", provider, key0)
    assert human.code == 0, human
    assert re.search(rf"^pk +{re.escape(provider)}#{re.escape(key0)}$", human.out, re.MULTILINE), human
    assert f"body ({len(item0['body'].encode())} bytes):\n{item0['body']}\n" in human.out

    # subject: the event is found under its subject.
    found = cli("events", "subject", provider, subject0, "--json")
    assert found.code == 0, found
    assert key0 in {row["idempotency_key"] for row in found.lines()}
    table = cli("events", "subject", provider, subject0)
    assert table.code == 0 and table.out.startswith("RECEIVED_AT") and key0 in table.out, table


def test_count_gives_fresh_ids_and_duplicate_resends(cli, stack):
    mode = MODES["alocity"]
    r = cli(*send_args(stack, mode), "--event", "user.card", "--count", "3", "--duplicate", "--json")
    assert r.code == 0, r
    lines = r.lines()
    assert [(line["n"], line["copy"]) for line in lines] == [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2)]
    assert [line["response"]["status"] for line in lines] == ["stored", "duplicate"] * 3
    keys = [line["response"]["key"] for line in lines]
    assert keys[0::2] == keys[1::2]
    assert len(set(keys)) == 3
    assert len({line["subject"] for line in lines}) == 3


def test_body_file_is_sent_byte_for_byte(cli, stack, tmp_path):
    # A compact Amani body: the CLI signs its json.dumps form, the function verifies it through
    # the re-serialisation fallback and stores the bytes as they came, keyed by the signed form.
    mode = MODES["amani-signature"]
    profile = str(uuid.uuid4())
    body = json.dumps({"event": "profile_update", "profile": {"id": profile, "status": "İzmir"}},
                      separators=(",", ":"), ensure_ascii=False)
    path = tmp_path / "body.json"
    path.write_bytes(body.encode())
    r = cli(*send_args(stack, mode), "--body", str(path), "--json")
    assert r.code == 0, r
    (line,) = r.lines()
    assert line["response"]["status"] == "stored" and line["event"] is None, r
    signed = json.dumps(json.loads(body)).encode()
    assert line["response"]["key"] == sha256_hex(signed)
    item = stack.aws.get(f"amani#{line['response']['key']}")
    assert item["body"] == body and item["subject"] == profile
    assert item["body_sha256"] == sha256_hex(body.encode())
    assert item["message_sha256"] == sha256_hex(signed)

    # stdin, Alocity: the same bytes again are a duplicate.
    alocity_body = json.dumps({"Id": str(uuid.uuid4()), "EventCode": "door.tamper",
                               "Payload": {"serialNumber": "ALC-E2E"}, "TimeStamp": 1})
    first = cli(*send_args(stack, MODES["alocity"]), "--body", "-", "--json", stdin=alocity_body)
    again = cli(*send_args(stack, MODES["alocity"]), "--body", "-", "--json", stdin=alocity_body)
    assert [run.lines()[0]["response"]["status"] for run in (first, again)] == ["stored", "duplicate"]


@pytest.mark.parametrize("mode_name", list(MODES))
def test_tamper_is_refused_and_a_wrong_secret_fails(cli, stack, mode_name):
    mode = MODES[mode_name]
    r = cli(*send_args(stack, mode), "--tamper", "--json")
    assert r.code == 0, r  # 401 is what --tamper expects
    (line,) = r.lines()
    assert line["status"] == 401 and line["tampered"] is True, r
    assert line["response"]["error"] in ("signature_mismatch", "token_mismatch"), r
    nothing = cli("events", "subject", mode.provider, line["subject"], "--json")
    assert nothing.code == 0 and nothing.out == "", nothing

    # A wrong secret, from stdin and from WEBHOOKS_SECRET: refused, and never printed.
    for given in ({"stdin": "not-the-secret\n"}, {"env": {"WEBHOOKS_SECRET": "not-the-secret"}}):
        extra = ["--secret"] if "stdin" in given else []
        wrong = cli(*send_args(stack, mode, secret_id=False), *extra, "--json", **given)
        assert wrong.code == 1, wrong
        assert wrong.lines()[0]["status"] == 401
        assert "not-the-secret" not in wrong.out + wrong.err


@pytest.mark.parametrize("mode_name", list(MODES))
def test_the_secret_from_stdin_or_the_environment(cli, stack, mode_name):
    mode = MODES[mode_name]
    current = load_vectors(mode.name)["secrets"]["current"]
    from_stdin = cli(*send_args(stack, mode, secret_id=False), "--secret", "--json", stdin=current + "\n")
    from_env = cli(*send_args(stack, mode, secret_id=False), "--json", env={"WEBHOOKS_SECRET": current})
    for run in (from_stdin, from_env):
        assert run.code == 0, run
        assert run.lines()[0]["response"]["status"] == "stored", run
        assert current not in run.out + run.err


def test_a_secret_is_never_an_argument(cli):
    r = cli("send", "faceio", "--secret", "s3cret-on-argv")
    assert r.code == 2, r
    assert r.err.startswith("error: unexpected argument"), r


# ---------------------------------------------------------------------------------------------
# reverify
# ---------------------------------------------------------------------------------------------


def _alter_body(aws, pk: str) -> None:
    body = aws.get(pk)["body"]
    obj = json.loads(body)
    obj["e2eAltered"] = True
    aws.ddb.update_item(TableName=TABLE, Key={"pk": {"S": pk}}, UpdateExpression="SET body = :b",
                        ExpressionAttributeValues={":b": {"S": json.dumps(obj)}})


def test_reverify_flags_a_body_altered_in_dynamodb(cli, stack):
    altered, intact = {}, {}
    for mode_name in HMAC_MODES:
        mode = MODES[mode_name]
        code = CODES[mode.provider][0]
        altered[mode_name] = f"{mode.provider}#{send_one(cli, stack, mode, code)['response']['key']}"
        intact[mode_name] = f"{mode.provider}#{send_one(cli, stack, mode, code)['response']['key']}"
        _alter_body(stack.aws, altered[mode_name])

    # The time-window path (index by-provider-time, then the bodies), every result listed.
    r = cli("reverify", "--since", "1h", "--all", "--json")
    assert r.code == 1, r
    results = {line["pk"]: line for line in r.lines()}
    for mode_name in HMAC_MODES:
        assert results[altered[mode_name]]["result"] == "signature_mismatch", results[altered[mode_name]]
        assert results[altered[mode_name]]["ok"] is False
        assert results[intact[mode_name]]["result"] == "ok", results[intact[mode_name]]
        assert results[intact[mode_name]]["secret_version"] == "AWSCURRENT"
    assert not any(pk.startswith("faceio#") for pk in results)

    # The scan path, one provider, findings only.
    r = cli("reverify", "--provider", "alocity", "--json")
    assert r.code == 1, r
    findings = {line["pk"] for line in r.lines()}
    assert altered["alocity"] in findings
    assert intact["alocity"] not in findings
    assert all(pk.startswith("alocity#") for pk in findings)

    # For people: a table of findings and a one-line summary on stderr.
    r = cli("reverify", "--provider", "amani", "--since", "1h")
    assert r.code == 1, r
    assert r.out.startswith("RECEIVED_AT") and altered["amani-signature"] in r.out, r
    assert intact["amani-signature"] not in r.out
    assert len(r.err.strip().splitlines()) == 1, r
    assert "no longer match their signature" in r.err


# ---------------------------------------------------------------------------------------------
# Table from a stack output, output formats, exit statuses
# ---------------------------------------------------------------------------------------------


def test_stack_output_names_the_table(cli, stack):
    line = send_one(cli, stack, MODES["faceio"], "ENROLL")
    name = f"e2e-cli-{uuid.uuid4().hex[:8]}"
    cfn = local_aws.client("cloudformation", stack.aws.endpoint)
    cfn.create_stack(StackName=name, TemplateBody=json.dumps({
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"EventsTableName": {"Value": TABLE}},
    }))
    r = cli("events", "get", "faceio", line["response"]["key"], "--stack", name, "--json")
    assert r.code == 0, r
    assert r.lines()[0]["subject"] == line["subject"]

    missing = cli("events", "list", "--provider", "faceio", "--stack", f"{name}-missing")
    assert missing.code == 1, missing
    assert_one_line_error(missing, "error")


def test_table_output_is_aligned(cli, stack):
    send_one(cli, stack, MODES["faceio"], "DELETION")
    r = cli("events", "list", "--provider", "faceio", "--since", "1h", "--limit", "5")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert lines[0].split() == ["RECEIVED_AT", "EVENT", "SUBJECT", "KEY", "BYTES", "SECRET", "TYPE"]
    assert 2 <= len(lines) <= 6
    starts = [lines[0].index(h) for h in ("EVENT", "SUBJECT", "KEY")]
    for row in lines[1:]:
        for start in starts:
            assert row[start - 2:start] == "  " and row[start] != " ", (row, start)


@pytest.mark.parametrize("args", [
    ["send"],
    ["send", "stripe"],
    ["send", "faceio", "--event", "ENROLL", "--body", "x.json"],
    ["send", "faceio", "--count", "0"],
    ["events", "list"],
    ["events", "list", "--provider", "faceio", "--since", "soon"],
    ["events", "list", "--provider", "faceio", "--since", "1h", "--from", "2026-01-01"],
    ["events", "list", "--provider", "faceio", "--table", "a", "--stack", "b"],
    ["events", "get", "faceio"],
    ["reverify", "--secret-id", "x"],
    ["frobnicate"],
], ids=lambda a: " ".join(a))
def test_clap_usage_errors_exit_2(cli, args):
    r = cli(*args)
    assert r.code == 2, r
    assert r.out == "" and r.err.startswith("error:"), r


@pytest.mark.parametrize("args", [
    ["send", "faceio", "--event", "PinOk"],
    ["send", "alocity", "--app-id", "x"],
    ["send", "faceio", "--url", "ftp://127.0.0.1/"],
    ["send", "faceio", "--url", "http://webhooks.example.invalid/faceio"],
    ["send", "faceio", "--secret", "--body", "-"],
    ["events", "list", "--provider", "faceio", "--from", "2026-01-02", "--to", "2026-01-01"],
    ["reverify", "--provider", "faceio"],
    ["events", "list", "--provider", "faceio", "--endpoint-url", "not a url"],
], ids=lambda a: " ".join(a))
def test_own_usage_errors_exit_2_on_one_line(cli, args):
    r = cli(*args)
    assert r.code == 2, r
    assert r.out == ""
    assert_one_line_error(r, "usage error")


def test_failures_exit_1_on_one_line(cli, stack):
    r = cli("events", "get", "faceio", f"no-such-key-{uuid.uuid4()}")
    assert r.code == 1, r
    assert_one_line_error(r, "error")

    r = cli("events", "list", "--provider", "faceio", "--table", "no-such-table")
    assert r.code == 1, r
    assert_one_line_error(r, "error")
    assert "does not exist" in r.err

    closed = f"http://127.0.0.1:{free_port()}/lambda-url/faceio-webhook/"
    r = cli("send", "faceio", "--url", closed, "--secret", "--timeout", "5", "--json", stdin="x\n")
    assert r.code == 1, r
    (line,) = r.lines()
    assert line["status"] is None and "onnect" in line["response"], line


@pytest.mark.parametrize("args", [["--help"], ["send", "--help"], ["events", "list", "--help"],
                                  ["events", "subject", "--help"], ["events", "get", "--help"],
                                  ["reverify", "--help"], ["--version"]],
                         ids=lambda a: " ".join(a))
def test_help_everywhere(cli, args):
    r = cli(*args)
    assert r.code == 0, r
    assert r.out.strip(), r
