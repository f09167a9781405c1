"""Each function's IAM role grants exactly the AWS actions its code calls, on its own resources.

The code side comes from the Rust code (see rust_aws_calls.py): exactly from the built binary (the
operations linked into it), and as a cross-check from the sources. A new SDK call without a grant,
or a grant the code no longer uses, fails here. Besides those actions a role may only write its
own log group, for a function with an SQS event source poll that queue, and while its tracing is
Active write X-Ray traces (only under the condition that makes it Active): the Lambda service does
these with the role on the function's behalf, so the function's code never calls them. With a
customer managed key (KmsKeyArn, only under the condition that it is given) it may also use that key,
and nothing else, for exactly the KMS actions the services it calls ask for with its role
(KMS_ACTIONS_FOR), and only through those services (kms:ViaService).
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
# What Lambda's poller calls with the execution role for an SQS event source mapping (SQS
# developer guide, "Configuring a queue to trigger a Lambda function"; the same three as the
# AWSLambdaSQSQueueExecutionRole managed policy). Not sqs:ChangeMessageVisibility: the poller
# leaves a failed message to the queue's visibility timeout.
SQS_POLLER_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
# What Lambda sends with the execution role for a function whose tracing is Active (Lambda developer
# guide, "Visualize Lambda function invocations using AWS X-Ray": the write actions of
# AWSXRayDaemonWriteAccess). X-Ray has no resource-level permissions for them: Resource "*".
TRACING_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# The KMS actions an AWS service asks for with the caller's role when the resource is encrypted with a
# customer managed key, per action the role is granted (none for the others: dynamodb:DescribeTable
# reads metadata, the log actions are encrypted by the logs service with its own key-policy grant).
KMS_ACTIONS_FOR = {
    # KMS developer guide, "How Amazon DynamoDB uses AWS KMS": DynamoDB decrypts the table key with
    # the permission of the principal using the table (the key policy's kms:ViaService statement
    # for the principals authorized to use DynamoDB); the table key itself is DynamoDB's to make.
    "dynamodb:PutItem": {"kms:Decrypt"},
    # S3 user guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)": uploading an object
    # needs kms:GenerateDataKey, downloading it kms:Decrypt (with an S3 Bucket Key as without).
    "s3:PutObject": {"kms:GenerateDataKey"},
    "s3:GetObject": {"kms:Decrypt"},
    # SQS developer guide, "Amazon SQS Key management": a producer needs kms:GenerateDataKey and
    # kms:Decrypt, a consumer kms:Decrypt (here Lambda's poller, with the drain's role).
    "sqs:SendMessage": {"kms:GenerateDataKey", "kms:Decrypt"},
    "sqs:ReceiveMessage": {"kms:Decrypt"},
}
KMS_KEY_PARAMETER = "KmsKeyArn"
IAM_POLICY_TYPES = {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy",
                    "AWS::IAM::UserPolicy", "AWS::IAM::GroupPolicy", "AWS::Serverless::Connector"}


def statements(template: dict[str, Any], function: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    """All IAM statements of the function's execution role, each with the condition its policy is
    granted under ({"Fn::If": [condition, policy, AWS::NoValue]}, or an AWS::IAM::Policy's
    Condition), None for an unconditional one: the role's policies, and the AWS::IAM::Policy
    resources attached to it (a receiver's endpoint secrets, one each)."""
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
        condition = None
        if isinstance(policy, dict) and set(policy) == {"Fn::If"}:
            condition, policy, otherwise = policy["Fn::If"]
            assert otherwise == {"Ref": "AWS::NoValue"}, f"{role_id}: a conditional policy is granted or not, never swapped"
        found.extend((condition, s) for s in cfn_yaml.as_list(policy["PolicyDocument"]["Statement"]))
    for resource in attached_policies(template, role_id).values():
        found.extend((resource.get("Condition"), s)
                     for s in cfn_yaml.as_list(resource["Properties"]["PolicyDocument"]["Statement"]))
    return found


def attached_policies(template: dict[str, Any], role_id: str) -> dict[str, dict[str, Any]]:
    """Logical id -> each AWS::IAM::Policy attached to the role and to nothing else."""
    return {k: r for k, r in template["Resources"].items()
            if r["Type"] == "AWS::IAM::Policy" and r["Properties"].get("Roles") == [{"Ref": role_id}]
            and not r["Properties"].get("Users") and not r["Properties"].get("Groups")}


def endpoint_secret_arns(template: dict[str, Any], function: dict[str, Any]) -> list[dict[str, str]]:
    """The ARN patterns of the secrets of the function's endpoints besides default, as the template
    writes them: the secret `<WEBHOOK_ENDPOINT_SECRET_PREFIX><name>` for each name of the list
    WEBHOOK_ENDPOINTS is joined from, its ARN being that name, a hyphen and 6 characters."""
    env = cfn_yaml.function_environment(template, function)
    if "WEBHOOK_ENDPOINTS" not in env:
        return []
    names = cfn_yaml.resolve(template, env["WEBHOOK_ENDPOINTS"])
    prefix = env["WEBHOOK_ENDPOINT_SECRET_PREFIX"]["Fn::Sub"]
    return [{"Fn::Sub": f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{prefix}{name}-??????"}
            for name in names.split(",") if name]


def granted(template: dict[str, Any], function: dict[str, Any]) -> dict[str, list[Any]]:
    """Action -> resources granted to the function (both branches of a conditional resource)."""
    grants: dict[str, list[Any]] = {}
    for _, statement in statements(template, function):
        assert statement.get("Effect") == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        resources = [r for resource in cfn_yaml.as_list(statement["Resource"]) for r in cfn_yaml.alternatives(resource)]
        for action in cfn_yaml.as_list(statement["Action"]):
            grants.setdefault(action, []).extend(resources)
    return grants


def poller_actions(function: dict[str, Any]) -> set[str]:
    """Actions the Lambda service calls with the function's role for its event sources."""
    return SQS_POLLER_ACTIONS if cfn_yaml.sqs_event_queues(function) else set()


def tracing(template: dict[str, Any], function: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether the function can be traced (Tracing Active, or a parameter that allows Active), and
    the condition that holds exactly when it is (None: always)."""
    mode = function["Properties"].get("Tracing", template.get("Globals", {}).get("Function", {}).get("Tracing"))
    if mode == "Active":
        return True, None
    parameter = cfn_yaml.ref_target(mode) if isinstance(mode, dict) and "Ref" in mode else None
    if parameter is None or "Active" not in template["Parameters"][parameter].get("AllowedValues", []):
        return False, None
    active = {"Fn::Equals": [{"Ref": parameter}, "Active"]}
    names = [name for name, condition in template.get("Conditions", {}).items() if condition == active]
    assert names, f"no condition !Equals [!Ref {parameter}, Active] for the traced functions' grants"
    return True, names[0]


def kms_key(template: dict[str, Any]) -> tuple[str | None, str | None]:
    """The customer managed key parameter and the condition that holds exactly when it is given;
    (None, None) for a template that takes no key."""
    if KMS_KEY_PARAMETER not in template.get("Parameters", {}):
        return None, None
    given = {"Fn::Not": [{"Fn::Equals": [{"Ref": KMS_KEY_PARAMETER}, ""]}]}
    names = [name for name, condition in template.get("Conditions", {}).items() if condition == given]
    assert names, f"no condition !Not [!Equals [!Ref {KMS_KEY_PARAMETER}, \"\"]] for the roles' key grants"
    return KMS_KEY_PARAMETER, names[0]


def kms_actions(template: dict[str, Any], actions: set[str]) -> set[str]:
    """The KMS actions the services behind `actions` ask for with the role (KMS_ACTIONS_FOR), when
    the template can take a customer managed key."""
    if kms_key(template)[0] is None:
        return set()
    return {k for action in actions for k in KMS_ACTIONS_FOR.get(action, set())}


def kms_services(actions: set[str]) -> list[dict[str, str]]:
    """The kms:ViaService values a role's key grant must name: the services behind `actions` that
    use the key."""
    services = sorted({a.split(":", 1)[0] for a in actions if a in KMS_ACTIONS_FOR})
    return [{"Fn::Sub": f"{s}.${{AWS::Region}}.amazonaws.com"} for s in services]


def runtime_actions(template: dict[str, Any], function: dict[str, Any]) -> set[str]:
    """Actions the Lambda service calls with the function's role: its poller, and its tracing."""
    return poller_actions(function) | (TRACING_ACTIONS if tracing(template, function)[0] else set())


def allowed_s3_resources(template: dict[str, Any], function: dict[str, Any], bucket_id: str) -> list[Any]:
    """A receiver: its own body prefix and its own quarantine prefix. Any other function (the
    drain): the body prefixes of all receivers, never quarantine/."""
    own = cfn_yaml.provider(function)
    if own:
        return [{"Fn::Sub": f"${{{bucket_id}.Arn}}/{own}/*"},
                {"Fn::Sub": f"${{{bucket_id}.Arn}}/quarantine/{own}/*"}]
    return [{"Fn::Sub": f"${{{bucket_id}.Arn}}/{cfn_yaml.provider(f)}/*"}
            for f in cfn_yaml.receivers(template).values()]


def problems(template: dict[str, Any], logical_id: str, code_actions: set[str]) -> list[str]:
    """Everything wrong with one function's grants, as readable lines (empty when least privilege)."""
    function = template["Resources"][logical_id]
    grants = granted(template, function)
    env = cfn_yaml.function_environment(template, function)
    table_id = cfn_yaml.ref_target(env.get("EVENTS_TABLE"))
    secret_id = cfn_yaml.ref_target(env.get("WEBHOOK_SECRET_ID"))
    bucket_id = cfn_yaml.ref_target(env.get("PAYLOAD_BUCKET"))
    queue_id = cfn_yaml.ref_target(env.get("FALLBACK_QUEUE_URL"))  # Ref of a queue is its URL
    # The receivers write bodies under <provider>/ (shared/src/store/bodies.rs) and refused
    # deliveries under quarantine/<provider>/; the drain reads and writes the providers' bodies.
    s3_resources = allowed_s3_resources(template, function, bucket_id) if bucket_id else []
    log_group_id = cfn_yaml.ref_target(function["Properties"].get("LoggingConfig", {}).get("LogGroup"))
    poller = poller_actions(function)
    runtime = runtime_actions(template, function)
    _, tracing_condition = tracing(template, function)
    key_parameter, key_condition = kms_key(template)
    kms = kms_actions(template, code_actions | runtime)
    found = []

    non_log = {a for a in grants if not a.startswith("logs:")}
    if missing := (code_actions | runtime) - non_log:
        found.append(f"{logical_id}: code calls {sorted(missing)} but the role does not grant it")
    if missing := kms - non_log:
        found.append(f"{logical_id}: the services it calls need {sorted(missing)} on {key_parameter}"
                     " but the role does not grant it")
    if extra := non_log - code_actions - runtime - kms:
        found.append(f"{logical_id}: role grants {sorted(extra)} that the code never calls")
    for condition, statement in statements(template, function):
        actions = set(cfn_yaml.as_list(statement["Action"]))
        if actions & TRACING_ACTIONS and condition != tracing_condition:
            found.append(f"{logical_id}: {sorted(actions & TRACING_ACTIONS)} granted under {condition!r}, "
                         f"expected the condition of Active tracing ({tracing_condition!r})")
        if kms_in := {a for a in actions if a.startswith("kms:")}:
            if condition != key_condition:
                found.append(f"{logical_id}: {sorted(kms_in)} granted under {condition!r}, expected the"
                             f" condition that {key_parameter} is given ({key_condition!r})")
            condition_block = statement.get("Condition", {})
            via = condition_block.get("StringEquals", {}).get("kms:ViaService")
            expected_via = kms_services(code_actions | runtime)
            if (sorted(map(str, cfn_yaml.as_list(via))) != sorted(map(str, expected_via))
                    or set(condition_block) != {"StringEquals"} or set(condition_block["StringEquals"]) != {"kms:ViaService"}):
                found.append(f"{logical_id}: {sorted(kms_in)} must be limited to kms:ViaService {expected_via}, is {via}")
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
                if resource not in s3_resources:
                    found.append(f"{logical_id}: {action} on {resource}, expected one of {s3_resources}")
            elif service == "sqs":
                if action in poller:
                    queues = [{"Fn::GetAtt": [q, "Arn"]} for q in cfn_yaml.sqs_event_queues(function)]
                    if resource not in queues:
                        found.append(f"{logical_id}: {action} on {resource}, expected its SQS event source {queues}")
                elif not queue_id or resource != {"Fn::GetAtt": [queue_id, "Arn"]}:
                    found.append(f"{logical_id}: {action} on {resource}, expected its FALLBACK_QUEUE_URL queue only")
            elif service == "kms":
                if resource != {"Ref": key_parameter}:
                    found.append(f"{logical_id}: {action} on {resource}, expected the {key_parameter} key only")
            elif service == "xray":
                if action not in TRACING_ACTIONS or resource != "*":
                    found.append(f"{logical_id}: {action} on {resource}, expected only {sorted(TRACING_ACTIONS)} on *"
                                 " (X-Ray has no resource-level permissions)")
            elif service == "secretsmanager":
                if resource != {"Ref": secret_id} and resource not in endpoint_secret_arns(template, function):
                    found.append(f"{logical_id}: {action} on {resource}, expected its own WEBHOOK_SECRET_ID secret"
                                 " and its endpoints' secrets only")
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
    function = template["Resources"][logical_id]
    grants = {a for a in granted(template, function) if not a.startswith("logs:")}
    runtime = runtime_actions(template, function)
    unused = grants - called - runtime - kms_actions(template, called | runtime)
    assert not unused, f"{logical_id}: grants {sorted(unused)} with no call in the code"
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
    for logical_id, function in cfn_yaml.receivers(template).items():
        secret_id = cfn_yaml.ref_target(cfn_yaml.function_environment(template, function).get("WEBHOOK_SECRET_ID"))
        assert template["Resources"][secret_id]["Type"] == "AWS::SecretsManager::Secret"
        secrets[logical_id] = secret_id
    assert len(secrets) == 4, f"expected one secret per provider: {secrets}"
    assert len(set(secrets.values())) == len(secrets), f"secrets shared between functions: {secrets}"
    # The drain verifies nothing: no secret in its environment, none granted (problems() above).
    for logical_id in functions.keys() - secrets.keys():
        assert "WEBHOOK_SECRET_ID" not in cfn_yaml.function_environment(template, functions[logical_id]), logical_id
        assert not [a for a in granted(template, functions[logical_id]) if a.startswith("secretsmanager:")], logical_id


def policies_outside_the_function_roles(template: dict[str, Any]) -> dict[str, str]:
    """Logical id -> type of each IAM grant that is no function role's. A policy attached to a
    function's role alone is one of its grants (statements() reads it)."""
    attached = {k for f in cfn_yaml.rust_functions(template).values()
                for k in attached_policies(template, cfn_yaml.ref_target(f["Properties"]["Role"]))}
    return {k: r["Type"] for k, r in template["Resources"].items()
            if r["Type"] in IAM_POLICY_TYPES and k not in attached}


def test_no_other_iam_policies_in_template(template):
    others = policies_outside_the_function_roles(template)
    assert not others, f"IAM grants outside the function roles: {others}"


# ---- without a build: the roles fit the AWS calls issue 11 fixes for the code -----------------------

# The calls the issue 11 contract gives each kind of function (the binary and source checks above
# hold the code to them once it is built).
RECEIVER_CALLS = {"dynamodb:PutItem", "dynamodb:DescribeTable", "secretsmanager:GetSecretValue",
                  "s3:PutObject", "sqs:SendMessage"}
DRAIN_CALLS = {"dynamodb:PutItem", "dynamodb:DescribeTable", "s3:GetObject", "s3:PutObject"}


def expected_calls(function: dict[str, Any]) -> set[str]:
    return RECEIVER_CALLS if "HttpApi" in cfn_yaml.event_types(function) else DRAIN_CALLS


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_grants_fit_the_contracted_calls(template, logical_id):
    assert problems(template, logical_id, expected_calls(template["Resources"][logical_id])) == []


def test_the_drain_has_an_sqs_event_source_and_the_receivers_none(template, functions):
    with_sqs = {k for k, f in functions.items() if cfn_yaml.sqs_event_queues(f)}
    assert with_sqs == {"DrainFunction"}
    assert binary_name(template, "DrainFunction") == "webhook-drain"


# ---- the checks above must be able to fail -----------------------------------------------------

def role_policy(template: dict[str, Any], logical_id: str, name: str) -> dict[str, Any]:
    """The first statement of the named policy of the function's role (to mutate in a copy)."""
    role_id = cfn_yaml.ref_target(template["Resources"][logical_id]["Properties"]["Role"])
    (policy,) = [p for p in template["Resources"][role_id]["Properties"]["Policies"] if p.get("PolicyName") == name]
    return policy["PolicyDocument"]["Statement"][0]


def test_an_extra_grant_is_reported(template, functions):
    logical_id = next(iter(functions))
    mutated = copy.deepcopy(template)
    statement = role_policy(mutated, logical_id, "store-events")
    statement["Action"] = cfn_yaml.as_list(statement["Action"]) + ["dynamodb:GetItem"]
    assert any("dynamodb:GetItem" in line and "never calls" in line for line in problems(mutated, logical_id, RECEIVER_CALLS))


def test_a_new_sdk_call_is_reported(template, functions):
    logical_id = next(iter(functions))
    code = RECEIVER_CALLS | {"dynamodb:Query"}
    assert any("dynamodb:Query" in line and "does not grant" in line for line in problems(template, logical_id, code))


def test_a_secret_of_another_function_is_reported(template, functions):
    first, second = list(functions)[:2]
    mutated = copy.deepcopy(template)
    env = mutated["Resources"][first]["Properties"]["Environment"]["Variables"]
    env["WEBHOOK_SECRET_ID"] = cfn_yaml.function_environment(template, functions[second])["WEBHOOK_SECRET_ID"]
    assert any("own WEBHOOK_SECRET_ID" in line for line in problems(mutated, first, RECEIVER_CALLS))


def test_poller_actions_without_an_sqs_event_source_are_reported(template):
    mutated = copy.deepcopy(template)
    statement = role_policy(mutated, "AlocitySelfieFunction", "queue-events-the-table-cannot-take")
    statement["Action"] = ["sqs:SendMessage", "sqs:ReceiveMessage"]
    assert any("sqs:ReceiveMessage" in line and "never calls" in line
               for line in problems(mutated, "AlocitySelfieFunction", RECEIVER_CALLS))


def test_missing_or_extra_poller_actions_of_the_drain_are_reported(template):
    missing = copy.deepcopy(template)
    role_policy(missing, "DrainFunction", "poll-fallback-queue")["Action"] = ["sqs:ReceiveMessage", "sqs:DeleteMessage"]
    assert any("sqs:GetQueueAttributes" in line and "does not grant" in line
               for line in problems(missing, "DrainFunction", DRAIN_CALLS))
    extra = copy.deepcopy(template)
    statement = role_policy(extra, "DrainFunction", "poll-fallback-queue")
    statement["Action"] = statement["Action"] + ["sqs:ChangeMessageVisibility"]
    assert any("sqs:ChangeMessageVisibility" in line and "never calls" in line
               for line in problems(extra, "DrainFunction", DRAIN_CALLS))


def test_queue_grants_on_another_queue_are_reported(template):
    mutated = copy.deepcopy(template)
    dlq_arn = {"Fn::GetAtt": ["FallbackDeadLetterQueue", "Arn"]}
    role_policy(mutated, "AmaniFunction", "queue-events-the-table-cannot-take")["Resource"] = dlq_arn
    role_policy(mutated, "DrainFunction", "poll-fallback-queue")["Resource"] = dlq_arn
    assert any("FALLBACK_QUEUE_URL queue only" in line for line in problems(mutated, "AmaniFunction", RECEIVER_CALLS))
    assert any("SQS event source" in line for line in problems(mutated, "DrainFunction", DRAIN_CALLS))


def test_s3_grants_outside_the_own_prefixes_are_reported(template):
    mutated = copy.deepcopy(template)
    # A receiver writing another provider's quarantine, the drain reading the quarantine.
    statement = role_policy(mutated, "FaceioFunction", "store-large-bodies-and-quarantine")
    statement["Resource"] = [statement["Resource"][0], {"Fn::Sub": "${PayloadBucket.Arn}/quarantine/amani/*"}]
    statement = role_policy(mutated, "DrainFunction", "read-and-store-bodies")
    statement["Resource"] = statement["Resource"] + [{"Fn::Sub": "${PayloadBucket.Arn}/quarantine/*"}]
    assert any("quarantine/amani/" in line for line in problems(mutated, "FaceioFunction", RECEIVER_CALLS))
    assert any("quarantine/*" in line for line in problems(mutated, "DrainFunction", DRAIN_CALLS))


def trace_policy_index(template: dict[str, Any], logical_id: str) -> tuple[list[Any], int]:
    """The role's policy list and the index of its conditional write-traces policy."""
    role_id = cfn_yaml.ref_target(template["Resources"][logical_id]["Properties"]["Role"])
    policies = template["Resources"][role_id]["Properties"]["Policies"]
    (index,) = [i for i, p in enumerate(policies) if "Fn::If" in p and p["Fn::If"][0] == "TracingActive"]
    return policies, index


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_trace_grants_only_while_tracing_is_active(template, logical_id):
    expected = RECEIVER_CALLS if logical_id in cfn_yaml.receivers(template) else DRAIN_CALLS
    # Granted always instead of under the condition.
    unconditional = copy.deepcopy(template)
    policies, index = trace_policy_index(unconditional, logical_id)
    policies[index] = policies[index]["Fn::If"][1]
    assert any("xray:PutTraceSegments" in line and "condition of Active tracing" in line
               for line in problems(unconditional, logical_id, expected))
    # Not granted at all, while the parameter can turn tracing on.
    missing = copy.deepcopy(template)
    policies, index = trace_policy_index(missing, logical_id)
    del policies[index]
    assert any("xray:PutTelemetryRecords" in line and "does not grant" in line
               for line in problems(missing, logical_id, expected))
    # Granted, but tracing can never be Active.
    never = copy.deepcopy(template)
    never["Globals"]["Function"]["Tracing"] = "PassThrough"
    assert any("xray:PutTraceSegments" in line and "never calls" in line for line in problems(never, logical_id, expected))
    # On a resource: X-Ray has none, and another action is no trace.
    scoped = copy.deepcopy(template)
    policies, index = trace_policy_index(scoped, logical_id)
    statement = policies[index]["Fn::If"][1]["PolicyDocument"]["Statement"][0]
    statement["Resource"] = {"Fn::Sub": "arn:${AWS::Partition}:xray:${AWS::Region}:${AWS::AccountId}:*"}
    statement["Action"] = statement["Action"] + ["xray:GetTraceSummaries"]
    report = problems(scoped, logical_id, expected)
    assert any("xray:PutTraceSegments on" in line for line in report)
    assert any("xray:GetTraceSummaries" in line and "never calls" in line for line in report)


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
    assert rust_aws_calls.iam_actions("s3", "list_objects_v2") == {"s3:ListBucket"}
    assert rust_aws_calls.iam_actions("s3", "delete_objects") == {"s3:DeleteObject"}
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


def test_sqs_sdk_markers_are_its_wire_names(cargo_metadata):
    """The binary scan finds SQS operations by the SDK's wire names (awsJson1_0: x-amz-target)."""
    packages = [p for p in cargo_metadata["packages"] if p["name"] == "aws-sdk-sqs"]
    assert packages, "aws-sdk-sqs is not resolved by cargo metadata, but the receivers are granted sqs:SendMessage"
    for package in packages:
        markers = rust_aws_calls.operation_markers(Path(package["manifest_path"]))
        assert markers[b"AmazonSQS.SendMessage"] == "send_message", package["version"]
        assert markers[b"AmazonSQS.ReceiveMessage"] == "receive_message", package["version"]
