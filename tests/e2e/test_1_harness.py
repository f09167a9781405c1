"""The harness itself: moto + scripts/local_aws.py + scripts/fault_proxy.py + scripts/drain_pump.py
(no Rust involved)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
from botocore.config import Config

import local_aws
import registry
from conftest import MODES, QUEUE, SCRIPTS, TABLE, Aws


def _proxied_ddb(proxy):
    import boto3

    return boto3.client(
        "dynamodb",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=1.5),
        **local_aws.session_kwargs(proxy.endpoint),
    )


def test_table_matches_the_definition(aws: Aws):
    table = aws.ddb.describe_table(TableName=TABLE)["Table"]
    want = local_aws.table_definition(TABLE)
    assert table["KeySchema"] == want["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        want["AttributeDefinitions"], key=lambda a: a["AttributeName"])
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    got_gsis = {g["IndexName"]: (g["KeySchema"], g["Projection"]) for g in table["GlobalSecondaryIndexes"]}
    want_gsis = {g["IndexName"]: (g["KeySchema"], g["Projection"]) for g in want["GlobalSecondaryIndexes"]}
    assert got_gsis == want_gsis
    assert set(got_gsis) == {"by-provider-time", "by-subject"}
    ttl = aws.ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_setup_is_idempotent(moto_endpoint, aws: Aws):
    assert local_aws.create_table(moto_endpoint, TABLE) is False
    sid = "webhooks/e2e-harness-idempotent"
    assert local_aws.ensure_secrets(moto_endpoint, {sid: "first"}) == {sid: "first"}
    # An existing secret keeps its value unless a reset is asked for.
    assert local_aws.ensure_secrets(moto_endpoint, {sid: "second"}) == {sid: "first"}
    assert local_aws.ensure_secrets(moto_endpoint, {sid: "third"}, reset=True) == {sid: "third"}
    assert set(local_aws.dev_secrets()) == {
        "webhooks/alocity-selfie", "webhooks/alocity", "webhooks/faceio", "webhooks/amani"}


def test_every_registered_provider_is_exercised_by_a_mode():
    # A provider added to the registry without vectors and a mode here would go untested.
    names = [p["name"] for p in registry.providers()]
    assert names == ["alocity-selfie", "alocity", "faceio", "amani"]
    assert {m.provider for m in MODES.values()} == set(names)
    for mode in MODES.values():
        assert mode.binary == registry.by_name(mode.provider)["binary"]


def test_fallback_queue_has_its_dead_letter_queue(aws: Aws):
    url = aws.queue_url()
    attrs = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    dlq = aws.sqs.get_queue_attributes(QueueUrl=aws.queue_url(local_aws.dead_letter_queue(QUEUE)),
                                       AttributeNames=["QueueArn", "RedrivePolicy"])["Attributes"]
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": dlq["QueueArn"], "maxReceiveCount": 5}
    assert "RedrivePolicy" not in dlq
    assert attrs["VisibilityTimeout"] == str(local_aws.QUEUE_VISIBILITY_TIMEOUT_S)
    assert local_aws.create_queue(aws.endpoint, QUEUE) == (False, url)  # idempotent


def test_drain_pump_self_test():
    """The pump that stands in for Lambda's SQS event source mapping: the event it builds and its
    failure accounting, against its own moto and a fake drain function."""
    done = subprocess.run([sys.executable, str(SCRIPTS / "drain_pump.py"), "--self-test"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checks passed" in done.stdout, done.stdout


def test_local_aws_refuses_remote_endpoints():
    for endpoint in ("https://dynamodb.us-east-1.amazonaws.com", "http://10.1.2.3:4566", "http://example.com"):
        with pytest.raises(SystemExit):
            local_aws.check_local_endpoint(endpoint)
    assert local_aws.check_local_endpoint("http://127.0.0.1:4566")
    assert local_aws.check_local_endpoint("http://localhost:4566")


def test_put_secret_value_rotates_stages(aws: Aws):
    sid = "webhooks/e2e-harness-rotation"
    aws.seed_secret(sid, "one", "two")
    assert aws.stage_values(sid) == {"AWSCURRENT": "two", "AWSPREVIOUS": "one"}
    aws.rotate(sid, "three")
    assert aws.stage_values(sid) == {"AWSCURRENT": "three", "AWSPREVIOUS": "two"}


def test_conditional_put_returns_old_item(aws: Aws):
    """The functions rely on ReturnValuesOnConditionCheckFailure=ALL_OLD to tell a duplicate from a
    conflict in one call; the local stack must honour it."""
    pk = f"e2e-harness#{time.time_ns()}"
    item = {"pk": {"S": pk}, "body_sha256": {"S": "a" * 64}}
    aws.ddb.put_item(TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(aws.ddb.exceptions.ConditionalCheckFailedException) as err:
        aws.ddb.put_item(TableName=TABLE, Item={**item, "body_sha256": {"S": "b" * 64}},
                         ConditionExpression="attribute_not_exists(pk)",
                         ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert err.value.response.get("Item") == item
    aws.ddb.delete_item(TableName=TABLE, Key={"pk": {"S": pk}})


@pytest.mark.parametrize("mode", ["refuse", "reset", "blackhole"])
def test_proxy_cut_and_restore(healthy_proxy, aws, mode):
    ddb = _proxied_ddb(healthy_proxy)
    assert TABLE in ddb.list_tables()["TableNames"]
    assert healthy_proxy.cut(mode)["state"] == mode
    started = time.monotonic()
    with pytest.raises(Exception):
        ddb.list_tables()
    assert time.monotonic() - started < 10
    assert healthy_proxy.restore()["state"] == "up"
    assert TABLE in ddb.list_tables()["TableNames"]


def test_proxy_cut_closes_open_connections(healthy_proxy, aws):
    conn = socket.create_connection(("127.0.0.1", healthy_proxy.port), timeout=5)
    try:
        deadline = time.monotonic() + 5
        while healthy_proxy.status()["open"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert healthy_proxy.status()["open"] >= 1
        healthy_proxy.cut("refuse")
        conn.settimeout(5)
        try:
            data = conn.recv(1)
        except (ConnectionResetError, OSError):
            data = b""
        assert data == b""  # reset or closed, never an answer
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", healthy_proxy.port), timeout=2).close()
    finally:
        conn.close()
    healthy_proxy.restore()
    socket.create_connection(("127.0.0.1", healthy_proxy.port), timeout=2).close()
