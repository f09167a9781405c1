"""The `webhooks` CLI against a deployed stack (issue 12 §3): `--stack NAME` finds the table, each
provider's webhook URL and each provider's secret in the stack's outputs, as template.yaml names
them, for `send`, `events …` and `reverify`.

The stack is a CloudFormation stack in moto (DescribeStacks is all the CLI asks of it): one
WaitConditionHandle and literal outputs pointing at the suite's `cargo lambda watch` instances, its
table, and secrets named as the template names them (`<stack>/webhooks/<provider>`). A second stack
whose secrets hold the wrong values shows that the secret really comes from the stack.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from conftest import MODES, TABLE, assert_one_line_error, faceio_app_id, load_vectors, local_aws

# The modes the stack's one function per provider runs (the main instance).
STACK_MODES = ["alocity-selfie", "alocity", "faceio", "amani-signature"]
HMAC_MODES = ["alocity-selfie", "alocity", "amani-signature"]
# template.yaml's logical-id spelling of each provider, written out here rather than derived, so
# the CLI's derivation is checked against the template's names.
CAMEL = {"alocity-selfie": "AlocitySelfie", "alocity": "Alocity", "faceio": "Faceio", "amani": "Amani"}


def create_stack(stack, name: str, *, secrets: str = "right", drop: tuple[str, ...] = ()) -> str:
    """A moto stack called `name` with the template's outputs: URLs of the main instance, the
    suite's table, and secrets `<name>/webhooks/<provider>` holding the modes' test secrets
    (`secrets="wrong"`: other values). Outputs named in `drop` are left out."""
    aws = stack.aws
    outputs = {"EventsTableName": TABLE}
    for mode_name in STACK_MODES:
        mode = MODES[mode_name]
        camel = CAMEL[mode.provider]
        values = load_vectors(mode.name)["secrets"]
        if secrets == "wrong":
            values = {"previous": f"wrong-previous-{uuid.uuid4()}", "current": f"wrong-current-{uuid.uuid4()}"}
        secret_id = f"{name}/webhooks/{mode.provider}"
        aws.seed_secret(secret_id, values["previous"], values["current"])
        outputs[f"{camel}WebhookUrl"] = stack.instance_for(mode).url(mode.binary)
        outputs[f"{camel}SecretArn"] = aws.sm.describe_secret(SecretId=secret_id)["ARN"]
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items() if key not in drop},
    }
    local_aws.client("cloudformation", aws.endpoint).create_stack(StackName=name, TemplateBody=json.dumps(template))
    return name


def settings(mode_name: str) -> list[str]:
    """The provider settings the suite's functions run with (not in any stack output)."""
    mode = MODES[mode_name]
    if mode.provider == "faceio":
        return ["--app-id", faceio_app_id()]
    if mode.provider == "amani":
        return ["--amani-mode", mode.amani_auth]
    return []


@pytest.fixture(scope="module")
def deployed(stack):
    return create_stack(stack, f"e2e-stack-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def wrong_secrets(stack):
    return create_stack(stack, f"e2e-stack-wrong-{uuid.uuid4().hex[:8]}", secrets="wrong")


def test_send_list_get_and_reverify_through_the_stack(cli, stack, deployed):
    since = str(int(time.time()) - 1)
    sent = {}
    for mode_name in STACK_MODES:
        mode = MODES[mode_name]
        r = cli("send", mode.provider, "--stack", deployed, *settings(mode_name), "--json")
        assert r.code == 0, r
        (line,) = r.lines()
        assert line["status"] == 200 and line["response"]["status"] == "stored", r
        assert line["url"] == stack.instance_for(mode).url(mode.binary), r
        key = line["response"]["key"]
        assert stack.aws.get(f"{mode.provider}#{key}") is not None, line
        sent[mode_name] = (key, line["subject"])

    for mode_name, (key, subject) in sent.items():
        provider = MODES[mode_name].provider
        listed = cli("events", "list", "--provider", provider, "--stack", deployed, "--since", "1h",
                     "--limit", "100000", "--json")
        assert listed.code == 0, listed
        assert key in {row["idempotency_key"] for row in listed.lines()}, listed
        got = cli("events", "get", provider, key, "--stack", deployed, "--json")
        assert got.code == 0 and got.lines()[0]["pk"] == f"{provider}#{key}", got
        about = cli("events", "subject", provider, subject, "--stack", deployed, "--json")
        assert about.code == 0 and key in {row["idempotency_key"] for row in about.lines()}, about

    # The tamper audit reads each provider's secret through the stack's <Provider>SecretArn.
    r = cli("reverify", "--stack", deployed, "--from", since, "--all", "--json")
    assert r.code == 0, r
    results = {line["pk"]: line for line in r.lines()}
    for mode_name in HMAC_MODES:
        pk = f"{MODES[mode_name].provider}#{sent[mode_name][0]}"
        assert results[pk]["result"] == "ok" and results[pk]["secret_version"] == "AWSCURRENT", results.get(pk)
    assert not any(pk.startswith("faceio#") for pk in results)
    people = cli("reverify", "--stack", deployed, "--from", since)
    assert people.code == 0, people
    assert "0 no longer match their signature" in people.err and TABLE in people.err, people


def test_the_secret_comes_from_the_stack(cli, stack, deployed, wrong_secrets):
    # Signed with the wrong stack's secret: the functions refuse it, and nothing is printed of it.
    for mode_name in STACK_MODES:
        provider = MODES[mode_name].provider
        r = cli("send", provider, "--stack", wrong_secrets, *settings(mode_name), "--json")
        assert r.code == 1, r
        (line,) = r.lines()
        assert line["status"] == 401, r
        assert "wrong-current" not in r.out + r.err

    # The audit with the wrong stack's secrets: an event signed with the right one no longer matches.
    since = str(int(time.time()) - 1)
    r = cli("send", "alocity", "--stack", deployed, "--json")
    assert r.code == 0, r
    pk = f"alocity#{r.lines()[0]['response']['key']}"
    audit = cli("reverify", "--provider", "alocity", "--stack", wrong_secrets, "--from", since, "--json")
    assert audit.code == 1, audit
    assert {line["pk"]: line["result"] for line in audit.lines()}.get(pk) == "signature_mismatch", audit

    # --secret-id and --url still win over the stack's outputs.
    mode = MODES["faceio"]
    r = cli("send", "faceio", "--stack", wrong_secrets, "--secret-id", mode.secret_id, *settings("faceio"),
            "--json")
    assert r.code == 0 and r.lines()[0]["status"] == 200, r

    # --tamper never reads a secret: refused with either stack.
    for name in (deployed, wrong_secrets):
        r = cli("send", "faceio", "--stack", name, "--tamper", *settings("faceio"), "--json")
        assert r.code == 0 and r.lines()[0]["status"] == 401, r


def test_a_missing_output_or_stack_is_one_clear_line(cli, stack):
    no_url = create_stack(stack, f"e2e-stack-nourl-{uuid.uuid4().hex[:8]}", drop=("FaceioWebhookUrl",))
    r = cli("send", "faceio", "--stack", no_url, *settings("faceio"))
    assert r.code == 1, r
    assert_one_line_error(r, "error")
    assert f"stack {no_url} has no output FaceioWebhookUrl" in r.err, r

    no_secret = create_stack(stack, f"e2e-stack-nosecret-{uuid.uuid4().hex[:8]}", drop=("AlocitySecretArn",))
    for args in (["send", "alocity", "--stack", no_secret],
                 ["reverify", "--provider", "alocity", "--stack", no_secret, "--since", "1h"]):
        r = cli(*args)
        assert r.code == 1, r
        assert_one_line_error(r, "error")
        assert f"stack {no_secret} has no output AlocitySecretArn" in r.err, r

    no_table = create_stack(stack, f"e2e-stack-notable-{uuid.uuid4().hex[:8]}", drop=("EventsTableName",))
    r = cli("events", "list", "--provider", "faceio", "--stack", no_table)
    assert r.code == 1, r
    assert_one_line_error(r, "error")
    assert "has no output EventsTableName" in r.err, r

    unknown = f"e2e-no-such-stack-{uuid.uuid4().hex[:8]}"
    for args in (["send", "faceio", "--stack", unknown], ["events", "list", "--provider", "faceio", "--stack", unknown],
                 ["reverify", "--stack", unknown]):
        r = cli(*args)
        assert r.code == 1, r
        assert_one_line_error(r, "error")
        assert f"reading stack {unknown}" in r.err and "does not exist" in r.err, r


def test_plain_http_to_another_machine_needs_insecure(cli, stack):
    name = f"e2e-stack-http-{uuid.uuid4().hex[:8]}"
    cfn = local_aws.client("cloudformation", stack.aws.endpoint)
    cfn.create_stack(StackName=name, TemplateBody=json.dumps({
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"FaceioWebhookUrl": {"Value": "http://webhooks.example.invalid/webhooks/faceio"}},
    }))
    r = cli("send", "faceio", "--stack", name, "--tamper")
    assert r.code == 2, r
    assert_one_line_error(r, "usage error")
    assert "plain http://" in r.err and "--insecure" in r.err, r


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completions(cli, shell):
    r = cli("completions", shell)
    assert r.code == 0, r
    for word in ("send", "events", "reverify", "quarantine", "providers", "completions", "--stack"):
        assert word.lstrip("-") in r.out, (shell, word)
