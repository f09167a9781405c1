"""The optional customer managed KMS key (issue 15): the KmsKeyArn parameter, empty by default.

Empty: the template deploys exactly as without the parameter (the table under aws/dynamodb, the
bucket SSE-S3, both queues SSE-SQS, the log groups under CloudWatch Logs' own key, no KMS grant).
Given: the table, the bucket (SSE-KMS with an S3 Bucket Key), both queues and every log group use
that key, and each function's role may use exactly that key, for exactly the KMS actions the
services it calls ask for with its role (test_template_iam.KMS_ACTIONS_FOR, with the documentation
each rests on), and only through those services (kms:ViaService).

Both cases are the template as CloudFormation deploys it for the parameter's value: conditions and
intrinsic functions evaluated by cfn_yaml (as test_template_endpoints.py does). The checks return
what is wrong, so that the last tests can show each of them failing on a broken copy.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import cfn_yaml
import test_template_iam as iam

KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
REQUIRED = {"FaceioAppId": "app-0"}
REGION = cfn_yaml.PSEUDO_PARAMETERS["AWS::Region"]
# Where each kind of resource names its key (and the property spelling of each service).
KEY_PROPERTIES = {"KMSMasterKeyId", "KMSMasterKeyID", "KmsMasterKeyId", "KmsKeyId"}
# The KMS actions of each function's role, and why (the services' pages: test_template_iam.KMS_ACTIONS_FOR).
RECEIVER_KMS = {
    "kms:Decrypt": "dynamodb:PutItem (the table key), sqs:SendMessage",
    "kms:GenerateDataKey": "s3:PutObject, sqs:SendMessage",
}
DRAIN_KMS = {
    "kms:Decrypt": "dynamodb:PutItem (the table key), s3:GetObject, Lambda's sqs:ReceiveMessage",
    "kms:GenerateDataKey": "s3:PutObject",
}
VIA_SERVICES = sorted(f"{service}.{REGION}.amazonaws.com" for service in ("dynamodb", "s3", "sqs"))


def deployed(key: str, raw: dict[str, Any] | None = None) -> dict[str, Any]:
    return cfn_yaml.expand(raw or cfn_yaml.load_raw(), {**REQUIRED, "KmsKeyArn": key})


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """The resource's properties as deployed: conditions and parameters resolved."""
    return cfn_yaml.resolve(template, template["Resources"][logical_id]["Properties"])


def key_properties(value: Any, path: str = "") -> list[str]:
    """Paths of every key property (KEY_PROPERTIES) in `value`."""
    if isinstance(value, dict):
        return [p for k, v in value.items()
                for p in ([f"{path}.{k}"] if k in KEY_PROPERTIES else []) + key_properties(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in key_properties(v, f"{path}[{i}]")]
    return []


def kms_statements(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Function logical id -> the resolved statements of its role that grant a KMS action."""
    found = {}
    for logical_id, function in cfn_yaml.rust_functions(template).items():
        role_id = cfn_yaml.ref_target(function["Properties"]["Role"])
        policies = properties(template, role_id).get("Policies", [])
        found[logical_id] = [s for policy in policies for s in cfn_yaml.as_list(policy["PolicyDocument"]["Statement"])
                             if any(a.startswith("kms:") for a in cfn_yaml.as_list(s["Action"]))]
    return found


# ---- the checks ---------------------------------------------------------------------------------

def store_problems(template: dict[str, Any], key: str) -> list[str]:
    """What is wrong with the encryption of the table, the bucket, the queues and the log groups
    for the key `key` ("" = none given)."""
    found = []
    expected_sse = {"SSEEnabled": True, "SSEType": "KMS", **({"KMSMasterKeyId": key} if key else {})}
    for table_id in of_type(template, "AWS::DynamoDB::Table"):
        if (sse := properties(template, table_id).get("SSESpecification")) != expected_sse:
            found.append(f"{table_id}: SSESpecification {sse}, expected {expected_sse}")
    expected_bucket = ([{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                         "BucketKeyEnabled": True}] if key
                       else [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}])
    for bucket_id in of_type(template, "AWS::S3::Bucket"):
        encryption = properties(template, bucket_id).get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration")
        if encryption != expected_bucket:
            found.append(f"{bucket_id}: encryption {encryption}, expected {expected_bucket}")
    for queue_id in of_type(template, "AWS::SQS::Queue"):
        props = properties(template, queue_id)
        got = {k: props[k] for k in ("SqsManagedSseEnabled", "KmsMasterKeyId") if k in props}
        expected = {"KmsMasterKeyId": key} if key else {"SqsManagedSseEnabled": True}
        if got != expected:
            found.append(f"{queue_id}: encryption {got}, expected {expected}")
    for group_id in of_type(template, "AWS::Logs::LogGroup"):
        got = properties(template, group_id).get("KmsKeyId")
        if got != (key or None):
            found.append(f"{group_id}: KmsKeyId {got!r}, expected {key or None!r}")
    if not key:
        resolved = {k: properties(template, k) for k in template["Resources"]}
        found.extend(f"{path[1:]} is set without a key" for path in key_properties(resolved))
    return found


def role_problems(template: dict[str, Any], key: str) -> list[str]:
    """What is wrong with the roles' KMS grants for the key `key` ("" = none given)."""
    found = []
    receivers = cfn_yaml.receivers(template)
    for logical_id, grants in kms_statements(template).items():
        if not key:
            found.extend(f"{logical_id}: {s['Action']} granted without a key" for s in grants)
            continue
        expected = set(RECEIVER_KMS if logical_id in receivers else DRAIN_KMS)
        actions = {a for s in grants for a in cfn_yaml.as_list(s["Action"])}
        if actions != expected:
            found.append(f"{logical_id}: KMS actions {sorted(actions)}, expected {sorted(expected)}")
        for statement in grants:
            if cfn_yaml.as_list(statement["Resource"]) != [key]:
                found.append(f"{logical_id}: {statement['Action']} on {statement['Resource']}, expected the key {key} only")
            via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
            if sorted(cfn_yaml.as_list(via or [])) != VIA_SERVICES:
                found.append(f"{logical_id}: {statement['Action']} through {via}, expected kms:ViaService {VIA_SERVICES}")
    others = [k for k, r in template["Resources"].items()
              if r["Type"] in iam.IAM_POLICY_TYPES and "kms:" in str(r.get("Properties"))]
    found.extend(f"{k}: grants a KMS action outside the function roles" for k in others)
    return found


# ---- the template -------------------------------------------------------------------------------

def test_the_parameter_takes_a_key_arn_or_nothing():
    raw = cfn_yaml.load_raw()
    parameter = raw["Parameters"]["KmsKeyArn"]
    assert parameter["Type"] == "String" and parameter["Default"] == ""
    assert raw["Conditions"]["HasKmsKey"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "KmsKeyArn"}, ""]}]}
    for value in ("", KEY, "arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
                  "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"):
        assert cfn_yaml.value_problems("KmsKeyArn", parameter, value) == [], value
    # An alias or a bare id cannot be the Resource of the roles' grants.
    for value in ("alias/webhooks", "arn:aws:kms:eu-west-1:123456789012:alias/webhooks",
                  "1234abcd-12ab-34cd-56ef-1234567890ab", f" {KEY}", "arn:aws:kms:eu-west-1:12345:key/x"):
        assert cfn_yaml.value_problems("KmsKeyArn", parameter, value), value
    groups = raw["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    assert any("KmsKeyArn" in group["Parameters"] for group in groups)


def test_every_key_reference_is_under_the_condition():
    """The key is named only in the true branch of an !If [HasKmsKey, ...]: with the parameter
    empty no property gets an empty key."""
    def unguarded(value: Any, guarded: bool, path: str) -> list[str]:
        if isinstance(value, dict):
            if value == {"Ref": "KmsKeyArn"}:
                return [] if guarded else [path]
            if set(value) == {"Fn::If"}:
                condition, when_true, when_false = value["Fn::If"]
                return (unguarded(when_true, guarded or condition == "HasKmsKey", f"{path}.if")
                        + unguarded(when_false, guarded, f"{path}.else"))
            return [p for k, v in value.items() for p in unguarded(v, guarded, f"{path}.{k}")]
        if isinstance(value, list):
            return [p for i, v in enumerate(value) for p in unguarded(v, guarded, f"{path}[{i}]")]
        if isinstance(value, str) and "KmsKeyArn" in value:
            return [] if guarded else [path]  # a ${KmsKeyArn} in a Sub
        return []

    raw = cfn_yaml.load_raw()
    resources = {k: r.get("Properties", {}) for k, r in cfn_yaml.expand(raw, REQUIRED)["Resources"].items()}
    assert unguarded(resources, False, "Resources") == []
    assert unguarded(raw.get("Outputs", {}), False, "Outputs") == []


def test_without_a_key_nothing_changes():
    template = deployed("")
    assert store_problems(template, "") == []
    assert role_problems(template, "") == []


def test_with_a_key_the_table_bucket_queues_and_every_log_group_use_it():
    template = deployed(KEY)
    assert store_problems(template, KEY) == []
    # Every function logs into one of the log groups checked.
    groups = set(of_type(template, "AWS::Logs::LogGroup"))
    for logical_id, function in cfn_yaml.rust_functions(template).items():
        assert cfn_yaml.ref_target(function["Properties"]["LoggingConfig"]["LogGroup"]) in groups, logical_id
    assert "ApiAccessLogGroup" in groups
    assert set(of_type(template, "AWS::SQS::Queue")) == {"FallbackQueue", "FallbackDeadLetterQueue"}


def test_with_a_key_each_role_has_exactly_its_kms_actions_on_the_key():
    template = deployed(KEY)
    assert role_problems(template, KEY) == []
    # The tables above are what test_template_iam derives from each function's calls.
    for logical_id, function in cfn_yaml.rust_functions(template).items():
        calls = iam.expected_calls(function) | iam.poller_actions(function)
        expected = RECEIVER_KMS if logical_id in cfn_yaml.receivers(template) else DRAIN_KMS
        assert iam.kms_actions(template, calls) == set(expected), logical_id
        assert iam.problems(template, logical_id, iam.expected_calls(function)) == [], logical_id


# ---- the checks above must be able to fail -----------------------------------------------------

def kms_policy(raw: dict[str, Any], role_id: str) -> list[Any]:
    """The role's conditional use-kms-key policy entry ([condition, policy, otherwise])."""
    (entry,) = [p for p in raw["Resources"][role_id]["Properties"]["Policies"]
                if "Fn::If" in p and p["Fn::If"][0] == "HasKmsKey"]
    return entry["Fn::If"]


def test_a_store_without_the_key_is_reported():
    raw = copy.deepcopy(cfn_yaml.load_raw())
    del raw["Resources"]["DrainLogGroup"]["Properties"]["KmsKeyId"]
    (bucket,) = raw["Resources"]["PayloadBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    del bucket["Fn::If"][1]["BucketKeyEnabled"]
    report = store_problems(deployed(KEY, raw), KEY)
    assert any(line.startswith("DrainLogGroup: KmsKeyId None") for line in report)
    assert any(line.startswith("PayloadBucket: encryption") for line in report)


def test_a_key_set_without_the_parameter_is_reported():
    raw = copy.deepcopy(cfn_yaml.load_raw())
    # Unconditional: with the parameter empty the queue would be given an empty key.
    raw["Resources"]["FallbackDeadLetterQueue"]["Properties"]["KmsMasterKeyId"] = {"Ref": "KmsKeyArn"}
    report = store_problems(deployed("", raw), "")
    assert any("FallbackDeadLetterQueue" in line for line in report)
    assert any(line.endswith("KmsMasterKeyId is set without a key") for line in report)


def test_wrong_kms_grants_are_reported():
    raw = copy.deepcopy(cfn_yaml.load_raw())
    # The drain without kms:GenerateDataKey, Amani's on every key.
    statement = kms_policy(raw, "DrainRole")[1]["PolicyDocument"]["Statement"][0]
    statement["Action"] = ["kms:Decrypt"]
    faceio = copy.deepcopy(kms_policy(raw, "FaceioRole"))
    faceio[1]["PolicyDocument"]["Statement"][0]["Resource"] = "*"
    amani = raw["Resources"]["AmaniRole"]["Properties"]["Policies"]
    (index,) = [i for i, p in enumerate(amani) if "Fn::If" in p and p["Fn::If"][0] == "HasKmsKey"]
    amani[index] = {"Fn::If": faceio}
    report = role_problems(deployed(KEY, raw), KEY)
    assert any(line.startswith("DrainFunction: KMS actions ['kms:Decrypt']") for line in report)
    assert any(line.startswith("AmaniFunction:") and "expected the key" in line for line in report)
    template = cfn_yaml.expand(raw, REQUIRED)
    assert any("kms:GenerateDataKey" in line and "does not grant" in line
               for line in iam.problems(template, "DrainFunction", iam.DRAIN_CALLS))
    assert any("expected the KmsKeyArn key only" in line
               for line in iam.problems(template, "AmaniFunction", iam.RECEIVER_CALLS))


def test_kms_grants_outside_the_condition_or_the_services_are_reported():
    raw = copy.deepcopy(cfn_yaml.load_raw())
    # Granted whether or not a key is given; an extra action; the drain's key usable directly.
    policies = raw["Resources"]["AlocityRole"]["Properties"]["Policies"]
    (index,) = [i for i, p in enumerate(policies) if "Fn::If" in p and p["Fn::If"][0] == "HasKmsKey"]
    unconditional = copy.deepcopy(policies[index]["Fn::If"][1])
    unconditional["PolicyDocument"]["Statement"][0]["Action"] = ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"]
    policies[index] = unconditional
    del kms_policy(raw, "DrainRole")[1]["PolicyDocument"]["Statement"][0]["Condition"]
    template = cfn_yaml.expand(raw, REQUIRED)
    report = iam.problems(template, "AlocityFunction", iam.RECEIVER_CALLS)
    assert any("expected the condition that KmsKeyArn is given" in line for line in report)
    assert any("kms:Encrypt" in line and "never calls" in line for line in report)
    assert any("kms:ViaService" in line for line in iam.problems(template, "DrainFunction", iam.DRAIN_CALLS))
    assert any(line.startswith("AlocityFunction:") and "without a key" in line
               for line in role_problems(deployed("", raw), ""))


@pytest.mark.parametrize("action", sorted(iam.KMS_ACTIONS_FOR))
def test_every_service_action_that_needs_the_key_is_granted_somewhere(action):
    """No entry of KMS_ACTIONS_FOR is dead: some function is granted each action."""
    template = cfn_yaml.load()
    granted = {a for f in cfn_yaml.rust_functions(template).values() for a in iam.granted(template, f)}
    assert action in granted
