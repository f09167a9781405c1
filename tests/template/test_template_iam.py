"""Each function's IAM role grants exactly the AWS actions its code calls, on its own resources.

The code side comes from the Rust code (see rust_aws_calls.py): exactly from the built binary (the
operations linked into it), and as a cross-check from the sources. A new SDK call without a grant,
or a grant the code no longer uses, fails here. Besides those actions a role may only write its
own log group (the Lambda service does that with the role on the function's behalf).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

import cfn_yaml
import rust_aws_calls

LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
IAM_POLICY_TYPES = {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy",
                    "AWS::IAM::UserPolicy", "AWS::IAM::GroupPolicy", "AWS::Serverless::Connector"}


def statements(template: dict[str, Any], function: dict[str, Any]) -> list[dict[str, Any]]:
    """All IAM statements of the function's execution role."""
    props = function["Properties"]
    assert "Policies" not in props, (
        "use the function's own AWS::IAM::Role: SAM Policies also attach AWSLambdaBasicExecutionRole (Resource *)"
    )
    role_id = cfn_yaml.ref_target(props.get("Role"))
    assert role_id, "every function names its own execution role (Role: !GetAtt <Role>.Arn)"
    role = template["Resources"][role_id]
    assert role["Type"] == "AWS::IAM::Role"
    assert not role["Properties"].get("ManagedPolicyArns"), f"{role_id}: managed policies grant more than the code uses"
    found = []
    for policy in role["Properties"].get("Policies", []):
        found.extend(cfn_yaml.as_list(policy["PolicyDocument"]["Statement"]))
    return found


def granted(template: dict[str, Any], function: dict[str, Any]) -> dict[str, list[Any]]:
    """Action -> resources granted to the function."""
    grants: dict[str, list[Any]] = {}
    for statement in statements(template, function):
        assert statement.get("Effect") == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in cfn_yaml.as_list(statement["Action"]):
            grants.setdefault(action, []).extend(cfn_yaml.as_list(statement["Resource"]))
    return grants


def problems(template: dict[str, Any], logical_id: str, code_actions: set[str]) -> list[str]:
    """Everything wrong with one function's grants, as readable lines (empty when least privilege)."""
    function = template["Resources"][logical_id]
    grants = granted(template, function)
    env = cfn_yaml.function_environment(template, function)
    table_id = cfn_yaml.ref_target(env.get("EVENTS_TABLE"))
    secret_id = cfn_yaml.ref_target(env.get("WEBHOOK_SECRET_ID"))
    bucket_id = cfn_yaml.ref_target(env.get("PAYLOAD_BUCKET"))
    # The functions write bodies under <provider>/ (shared/src/store/bodies.rs); the provider is
    # the binary's name without "-webhook".
    provider = function["Metadata"]["BuildProperties"]["Binary"].removesuffix("-webhook")
    log_group_id = cfn_yaml.ref_target(function["Properties"].get("LoggingConfig", {}).get("LogGroup"))
    found = []

    non_log = {a for a in grants if not a.startswith("logs:")}
    if missing := code_actions - non_log:
        found.append(f"{logical_id}: code calls {sorted(missing)} but the role does not grant it")
    if extra := non_log - code_actions:
        found.append(f"{logical_id}: role grants {sorted(extra)} that the code never calls")
    if (log_actions := {a for a in grants if a.startswith("logs:")}) != LOG_ACTIONS:
        found.append(f"{logical_id}: log actions {sorted(log_actions)} != {sorted(LOG_ACTIONS)}")

    for action, resources in grants.items():
        if "*" in action:
            found.append(f"{logical_id}: wildcard action {action}")
        for resource in resources:
            service = action.split(":", 1)[0]
            if service == "logs":
                sub = resource.get("Fn::Sub") if isinstance(resource, dict) else None
                ok = (isinstance(sub, str) and log_group_id and f"${{{log_group_id}}}" in sub
                      and sub.endswith(":log-stream:*") and sub.count("*") == 1)
                if not ok:
                    found.append(f"{logical_id}: {action} must be limited to the streams of its own log group")
            elif service == "dynamodb":
                if resource != {"Fn::GetAtt": [table_id, "Arn"]}:
                    found.append(f"{logical_id}: {action} on {resource}, expected the EVENTS_TABLE table only")
            elif service == "s3":
                own_prefix = {"Fn::Sub": f"${{{bucket_id}.Arn}}/{provider}/*"}
                if not bucket_id or resource != own_prefix:
                    found.append(f"{logical_id}: {action} on {resource}, expected {own_prefix} only")
            elif service == "secretsmanager":
                if resource != {"Ref": secret_id}:
                    found.append(f"{logical_id}: {action} on {resource}, expected its own WEBHOOK_SECRET_ID secret only")
            elif "*" in str(resource):
                found.append(f"{logical_id}: wildcard resource {resource} for {action}")
    return found


FUNCTIONS = sorted(cfn_yaml.rust_functions(cfn_yaml.load()))
# Set by scripts/sam_checks.sh (which builds first): a missing or stale build fails instead of skipping.
REQUIRE_BUILD = os.environ.get("SAM_CHECKS_REQUIRE_BUILD") == "1"


@pytest.fixture(scope="module")
def functions(template):
    found = cfn_yaml.rust_functions(template)
    assert found, "no rust-cargolambda functions in template.yaml"
    return found


def binary_name(template, logical_id: str) -> str:
    return template["Resources"][logical_id]["Metadata"]["BuildProperties"]["Binary"]


def built_bootstrap(template, cargo_metadata, logical_id: str) -> Path:
    """The function's bootstrap from `sam build`; skips (or fails under sam_checks.sh) if missing or stale."""
    path = cfn_yaml.REPO_ROOT / ".aws-sam" / "build" / logical_id / "bootstrap"
    if not path.is_file():
        reason = f"{path} is not built"
    elif path.stat().st_mtime < rust_aws_calls.newest_source_mtime(cargo_metadata, binary_name(template, logical_id)):
        reason = f"{path} is older than its sources"
    else:
        return path
    if REQUIRE_BUILD:
        pytest.fail(reason)
    pytest.skip(f"{reason}; run scripts/sam_checks.sh build test")


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_grants_equal_the_aws_operations_linked_into_the_function(template, cargo_metadata, logical_id):
    """Exact: a new reachable SDK call or a grant the function cannot use fails here."""
    bootstrap = built_bootstrap(template, cargo_metadata, logical_id)
    linked = rust_aws_calls.aws_actions_in_binary(cargo_metadata, binary_name(template, logical_id), bootstrap)
    assert linked, f"{bootstrap}: no AWS operation found; is the marker scan broken?"
    report = problems(template, logical_id, linked)
    assert not report, "\n".join(report)


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_grant_is_called_in_the_source(template, cargo_metadata, logical_id):
    """Without a build: every granted action has a call in the code the function is built from, and
    every grant is scoped to the function's own resources."""
    called, where = rust_aws_calls.aws_actions_called(cargo_metadata, binary_name(template, logical_id))
    assert called, f"{logical_id}: no AWS SDK call found in its code; is the source scan broken?"
    grants = {a for a in granted(template, template["Resources"][logical_id]) if not a.startswith("logs:")}
    assert grants <= called, f"{logical_id}: grants {sorted(grants - called)} with no call in the code"
    report = problems(template, logical_id, grants)  # the action sets agree here: checks scoping only
    assert not report, "\n".join(report)
    for action in sorted(called):
        print(f"{logical_id}: {action} <- {sorted(where[action])}")


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_source_scan_sees_every_linked_operation(template, cargo_metadata, logical_id):
    bootstrap = built_bootstrap(template, cargo_metadata, logical_id)
    binary = binary_name(template, logical_id)
    linked = rust_aws_calls.aws_actions_in_binary(cargo_metadata, binary, bootstrap)
    called, _ = rust_aws_calls.aws_actions_called(cargo_metadata, binary)
    assert linked <= called, f"{logical_id}: linked but not found in the source: {sorted(linked - called)}"


def test_functions_read_only_their_own_secret(template, functions):
    secrets = {}
    for logical_id, function in functions.items():
        secret_id = cfn_yaml.ref_target(cfn_yaml.function_environment(template, function).get("WEBHOOK_SECRET_ID"))
        assert template["Resources"][secret_id]["Type"] == "AWS::SecretsManager::Secret"
        secrets[logical_id] = secret_id
    assert len(set(secrets.values())) == len(secrets), f"secrets shared between functions: {secrets}"


def test_no_other_iam_policies_in_template(template):
    others = {k: r["Type"] for k, r in template["Resources"].items() if r["Type"] in IAM_POLICY_TYPES}
    assert not others, f"IAM grants outside the function roles: {others}"


# ---- the checks above must be able to fail -----------------------------------------------------

def test_an_extra_grant_is_reported(template, functions):
    logical_id = next(iter(functions))
    mutated = copy.deepcopy(template)
    role_id = cfn_yaml.ref_target(mutated["Resources"][logical_id]["Properties"]["Role"])
    statement = mutated["Resources"][role_id]["Properties"]["Policies"][1]["PolicyDocument"]["Statement"][0]
    statement["Action"] = cfn_yaml.as_list(statement["Action"]) + ["dynamodb:GetItem"]
    code = {"dynamodb:PutItem", "dynamodb:DescribeTable", "secretsmanager:GetSecretValue"}
    assert any("dynamodb:GetItem" in line and "never calls" in line for line in problems(mutated, logical_id, code))


def test_a_new_sdk_call_is_reported(template, functions):
    logical_id = next(iter(functions))
    code = {"dynamodb:PutItem", "dynamodb:DescribeTable", "secretsmanager:GetSecretValue", "dynamodb:Query"}
    assert any("dynamodb:Query" in line and "does not grant" in line for line in problems(template, logical_id, code))


def test_a_secret_of_another_function_is_reported(template, functions):
    first, second = list(functions)[:2]
    mutated = copy.deepcopy(template)
    env = mutated["Resources"][first]["Properties"]["Environment"]["Variables"]
    env["WEBHOOK_SECRET_ID"] = cfn_yaml.function_environment(template, functions[second])["WEBHOOK_SECRET_ID"]
    code = {"dynamodb:PutItem", "dynamodb:DescribeTable", "secretsmanager:GetSecretValue"}
    assert any("own WEBHOOK_SECRET_ID" in line for line in problems(mutated, first, code))


def test_scanner_sees_calls_but_not_comments_strings_or_tests():
    sdks = {"aws-sdk-dynamodb": {"put_item", "query", "delete_item", "scan"}}
    source = r'''
        use aws_sdk_dynamodb::Client;
        // client.delete_item() in a comment
        /* client.scan() /* nested */ */
        const DOC: &str = "client.delete_item()";
        const RAW: &str = r#"client.scan() "quoted" "#;
        fn lifetime<'a>(c: &'a Client) { let _q = '"'; c.put_item().send(); }
        #[cfg(test)]
        mod tests { fn t(c: &Client) { c.query().send(); let s = "}"; } }
        fn after(c: &Client) { c . put_item ( ) ; }
    '''
    code = rust_aws_calls.drop_test_modules(rust_aws_calls.strip_rust(source))
    assert rust_aws_calls.calls_in_source(code, sdks) == {("dynamodb", "put_item")}
    # Without a mention of the SDK crate, a same-named method (e.g. Uri::query) is not counted.
    assert rust_aws_calls.calls_in_source("fn f(u: &Uri) { u.query(); }", sdks) == set()


def test_binary_markers_take_the_longest_operation_name():
    markers = {b"DynamoDB_20120810.DescribeTable": "describe_table",
               b"DynamoDB_20120810.DescribeTableReplicaAutoScaling": "describe_table_replica_auto_scaling",
               b"DynamoDB_20120810.PutItem": "put_item"}
    assert rust_aws_calls.operations_in_binary(
        b"\x00DynamoDB_20120810.DescribeTableReplicaAutoScalingfoo", markers) == {"describe_table_replica_auto_scaling"}
    assert rust_aws_calls.operations_in_binary(
        b"DynamoDB_20120810.DescribeTableAWSDynamoDB_20120810.PutItem", markers) == {"describe_table", "put_item"}
    assert rust_aws_calls.operations_in_binary(b"PutItem DescribeTable", markers) == set()


def test_operation_names_map_to_iam_actions():
    assert rust_aws_calls.iam_actions("dynamodb", "put_item") == {"dynamodb:PutItem"}
    assert rust_aws_calls.iam_actions("secretsmanager", "get_secret_value") == {"secretsmanager:GetSecretValue"}
    assert "dynamodb:ConditionCheckItem" in rust_aws_calls.iam_actions("dynamodb", "transact_write_items")
    assert rust_aws_calls.iam_actions("s3", "get_object") == {"s3:GetObject"}
    assert rust_aws_calls.iam_actions("s3", "head_object") == {"s3:GetObject"}
    assert rust_aws_calls.iam_actions("sqs", "send_message") == {"sqs:SendMessage"}
    assert rust_aws_calls.iam_actions("sqs", "send_message_batch") == {"sqs:SendMessage"}
    assert rust_aws_calls.iam_actions("sqs", "receive_message") == {"sqs:ReceiveMessage"}
    assert rust_aws_calls.iam_actions("sqs", "delete_message_batch") == {"sqs:DeleteMessage"}
    assert rust_aws_calls.iam_actions("sqs", "get_queue_attributes") == {"sqs:GetQueueAttributes"}
    assert rust_aws_calls.iam_actions("sqs", "change_message_visibility_batch") == {"sqs:ChangeMessageVisibility"}


def test_sqs_calls_are_seen_in_source_and_binary():
    sdks = {"aws-sdk-sqs": {"send_message", "send_message_batch", "receive_message"}}
    code = rust_aws_calls.strip_rust("use aws_sdk_sqs::Client; fn f(c: &Client) { c.send_message().send(); }")
    assert rust_aws_calls.calls_in_source(code, sdks) == {("sqs", "send_message")}
    markers = {b"AmazonSQS.SendMessage": "send_message", b"AmazonSQS.SendMessageBatch": "send_message_batch"}
    assert rust_aws_calls.operations_in_binary(b"\x00AmazonSQS.SendMessage\x00", markers) == {"send_message"}
    assert rust_aws_calls.operations_in_binary(b"\x00AmazonSQS.SendMessageBatch\x00", markers) == {"send_message_batch"}

