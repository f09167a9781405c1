"""template.yaml has the shape issues 4 and 11 ask for, agrees with the code's binaries and config,
and samconfig.toml only passes values the template accepts."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import cfn_yaml

# The endpoint default of each provider; the other endpoints are <route>/{endpoint} (issue 14).
ROUTES = {
    "/webhooks/alocity-selfie": "alocity-selfie-webhook",
    "/webhooks/alocity": "alocity-webhook",
    "/webhooks/faceio": "faceio-webhook",
    "/webhooks/amani": "amani-webhook",
}
ENDPOINT_ROUTES = {f"{route}/{{endpoint}}": binary for route, binary in ROUTES.items()}
# Environment each function gets from the template (besides Globals), per the project spec.
PROVIDER_ENV = {
    "alocity-selfie-webhook": {"TIMESTAMP_TOLERANCE_SECS": "TimestampToleranceSeconds",
                               "MAX_BODY_BYTES": "AlocitySelfieMaxBodyBytes",
                               "TIMESTAMP_TOLERANCE_SECS_BY_ENDPOINT": "AlocitySelfieEndpointTolerances"},
    "alocity-webhook": {"TIMESTAMP_TOLERANCE_SECS": "TimestampToleranceSeconds",
                        "MAX_BODY_BYTES": "AlocityMaxBodyBytes",
                        "TIMESTAMP_TOLERANCE_SECS_BY_ENDPOINT": "AlocityEndpointTolerances"},
    "faceio-webhook": {"FACEIO_APP_ID": "FaceioAppId", "MAX_BODY_BYTES": "FaceioMaxBodyBytes",
                       "FACEIO_APP_ID_BY_ENDPOINT": "FaceioEndpointAppIds"},
    "amani-webhook": {"AMANI_AUTH_MODE": "AmaniAuthMode", "AMANI_TOKEN_HEADER": "AmaniTokenHeader",
                      "MAX_BODY_BYTES": "AmaniMaxBodyBytes",
                      "AMANI_AUTH_MODE_BY_ENDPOINT": "AmaniEndpointAuthModes",
                      "AMANI_TOKEN_HEADER_BY_ENDPOINT": "AmaniEndpointTokenHeaders"},
}
# Each receiver's endpoints besides default: the names of <Camel>EndpointNames, their secrets
# <stack>/webhooks/<provider>/<name> (test_template_endpoints.py).
CAMEL = {"alocity-selfie-webhook": "AlocitySelfie", "alocity-webhook": "Alocity",
         "faceio-webhook": "Faceio", "amani-webhook": "Amani"}
FACEIO_GIVES_UP_AFTER_SECONDS = 6
# Every receiver gets these (issue 11): the fallback queue and the quarantine settings.
RECEIVER_ENV = {
    "FALLBACK_QUEUE_URL": {"Ref": "FallbackQueue"},
    "QUARANTINE": {"Ref": "QuarantineEnabled"},
    "QUARANTINE_PER_MINUTE": {"Ref": "QuarantinePerMinute"},
    "PREVIOUS_SECRET_GRACE_SECS": {"Ref": "PreviousSecretGraceSeconds"},
}
GLOBAL_ENV = {
    "EVENTS_TABLE": {"Ref": "EventsTable"},
    "PAYLOAD_BUCKET": {"Ref": "PayloadBucket"},
    "RETENTION_DAYS": {"Ref": "RetentionDays"},
    "RUST_LOG": {"Ref": "LogLevel"},
    # The namespace of the EMF metrics: the parameter, else Webhooks/<stack> (test_template_metrics.py).
    "METRICS_NAMESPACE": {"Fn::If": ["HasMetricsNamespace", {"Ref": "MetricsNamespace"},
                                     {"Fn::Sub": "Webhooks/${AWS::StackName}"}]},
    # Absent when deployed; declared so that `sam local --env-vars env.json` can set it.
    "AWS_ENDPOINT_URL": {"Ref": "AWS::NoValue"},
}
FOURTEEN_DAYS = 14 * 24 * 3600


def by_binary(template):
    return {f["Metadata"]["BuildProperties"]["Binary"]: (k, f) for k, f in cfn_yaml.rust_functions(template).items()}


def test_globals(template):
    fn = template["Globals"]["Function"]
    assert fn["Runtime"] == "provided.al2023"
    assert fn["Handler"] == "bootstrap"
    assert fn["MemorySize"] == 128
    assert fn["Timeout"] < FACEIO_GIVES_UP_AFTER_SECONDS
    assert fn["Architectures"] == [{"Ref": "Architecture"}]
    assert fn["LoggingConfig"]["LogFormat"] == "JSON"


def test_architecture_defaults_to_arm64(template):
    parameter = template["Parameters"]["Architecture"]
    assert parameter["Default"] == "arm64"
    assert set(parameter["AllowedValues"]) == {"arm64", "x86_64"}


def test_one_http_api_with_two_post_routes_per_provider(template):
    apis = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::HttpApi"]
    assert len(apis) == 1
    api = template["Resources"][apis[0]]["Properties"]
    assert set(api["DefaultRouteSettings"]) == {"ThrottlingRateLimit", "ThrottlingBurstLimit"}
    assert cfn_yaml.ref_target(api["AccessLogSettings"]["DestinationArn"]) in template["Resources"]

    routes = {}
    for logical_id, function in cfn_yaml.rust_functions(template).items():
        if logical_id not in cfn_yaml.receivers(template):
            assert "HttpApi" not in cfn_yaml.event_types(function), logical_id
            continue
        binary = function["Metadata"]["BuildProperties"]["Binary"]
        for event in function["Properties"]["Events"].values():
            assert event["Type"] == "HttpApi"
            props = event["Properties"]
            assert props["ApiId"] == {"Ref": apis[0]}
            assert props["Method"] == "POST"
            assert props["PayloadFormatVersion"] == "2.0"
            routes[props["Path"]] = binary
    assert routes == ROUTES | ENDPOINT_ROUTES


def test_binaries_exist_in_the_workspace(template, cargo_metadata):
    bins = {t["name"] for p in cargo_metadata["packages"] if p["id"] in cargo_metadata["workspace_members"]
            for t in p["targets"] if "bin" in t["kind"]}
    assert set(by_binary(template)) <= bins, f"template binaries missing from the workspace: {set(by_binary(template)) - bins}"


def test_functions_build_from_the_workspace_root(template):
    for _, function in by_binary(template).values():
        assert function["Properties"]["CodeUri"] == "."


@pytest.mark.parametrize("binary", sorted(PROVIDER_ENV))
def test_function_environment(template, binary):
    logical_id, function = by_binary(template)[binary]
    env = cfn_yaml.function_environment(template, function)
    provider = cfn_yaml.provider(function)
    expected = {
        **GLOBAL_ENV,
        **RECEIVER_ENV,
        "WEBHOOK_SECRET_ID": env["WEBHOOK_SECRET_ID"],
        "WEBHOOK_ENDPOINTS": {"Fn::Join": [",", {"Ref": f"{CAMEL[binary]}EndpointNames"}]},
        "WEBHOOK_ENDPOINT_SECRET_PREFIX": {"Fn::Sub": f"${{AWS::StackName}}/webhooks/{provider}/"},
        **{name: {"Ref": parameter} for name, parameter in PROVIDER_ENV[binary].items()},
    }
    assert env == expected, logical_id
    log_group = cfn_yaml.ref_target(function["Properties"]["LoggingConfig"]["LogGroup"])
    assert template["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup"
    assert "RetentionInDays" in template["Resources"][log_group]["Properties"]


def test_every_function_has_error_and_throttle_alarms(template):
    alarms = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    for logical_id in cfn_yaml.rust_functions(template):
        metrics = {a["MetricName"] for a in alarms
                   if a.get("Namespace") == "AWS/Lambda" and {"Name": "FunctionName", "Value": {"Ref": logical_id}} in a["Dimensions"]}
        assert metrics == {"Errors", "Throttles"}, logical_id
    assert any(a.get("Namespace") == "AWS/ApiGateway" and a["MetricName"] == "5xx" for a in alarms)
    for alarm in alarms:
        assert alarm["AlarmActions"] == {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def test_access_log_status_is_a_number(template):
    # Logs Insights then compares it as one (filter status >= 500). The 401s are counted by the
    # functions' own Rejected metric now, by provider and reason (test_template_metrics.py).
    access_log = template["Resources"]["WebhookApi"]["Properties"]["AccessLogSettings"]["Format"]
    assert '"status":$context.status' in access_log


def test_outputs(template):
    outputs = template["Outputs"]
    for name in ("AlocitySelfieWebhookUrl", "AlocityWebhookUrl", "FaceioWebhookUrl", "AmaniWebhookUrl"):
        assert outputs[name]["Value"]["Fn::Sub"].startswith("https://${WebhookApi}.execute-api.")
    urls = {outputs[n]["Value"]["Fn::Sub"].split("}", 3)[-1] for n in outputs if n.endswith("WebhookUrl")}
    assert {u[u.index("/webhooks/"):] for u in urls} == set(ROUTES)
    assert outputs["EventsTableName"]["Value"] == {"Ref": "EventsTable"}
    assert outputs["EventsTableStreamArn"]["Value"] == {"Fn::GetAtt": ["EventsTable", "StreamArn"]}
    secrets = {k for k, r in template["Resources"].items() if r["Type"] == "AWS::SecretsManager::Secret"}
    assert {cfn_yaml.ref_target(o["Value"]) for n, o in outputs.items() if n.endswith("SecretArn")} == secrets
    assert outputs["FallbackQueueUrl"]["Value"] == {"Ref": "FallbackQueue"}
    assert outputs["FallbackDeadLetterQueueUrl"]["Value"] == {"Ref": "FallbackDeadLetterQueue"}


def test_payload_bucket_is_private_encrypted_and_bodies_expire_with_the_events(template):
    bucket = template["Resources"]["PayloadBucket"]
    # General purpose, not an S3 Express directory bucket (rust_aws_calls.SDK_INTERNAL_OPERATIONS).
    assert bucket["Type"] == "AWS::S3::Bucket"
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
    props = bucket["Properties"]
    # As deployed by default (KmsKeyArn empty); with a key: test_template_kms.py.
    (encryption,) = cfn_yaml.resolve(template, props["BucketEncryption"])["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    # RetentionDays = 0 keeps events forever (no TTL), so the bodies must not expire either;
    # otherwise they expire after exactly RetentionDays, as the items do. One rule per provider's
    # body prefix, so that no body rule also matches quarantine/ (the shortest expiration wins).
    assert template["Conditions"]["HasRetention"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "RetentionDays"}, 0]}]}
    rules = props["LifecycleConfiguration"]["Rules"]
    body_rules = {}
    for entry in rules:
        if "Fn::If" in entry:
            condition, rule, otherwise = entry["Fn::If"]
            assert condition == "HasRetention" and otherwise == {"Ref": "AWS::NoValue"}
            assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == {"Ref": "RetentionDays"}
            assert "Filter" not in rule
            body_rules[rule["Prefix"]] = rule
    providers = {cfn_yaml.provider(f) for f in cfn_yaml.receivers(template).values()}
    assert len(providers) == 4
    assert set(body_rules) == {f"{p}/" for p in providers}
    unconditional = [r for r in rules if "Fn::If" not in r and "ExpirationInDays" in r]
    assert [r.get("Prefix") for r in unconditional] == ["quarantine/"], "only the quarantine rule expires always"
    assert template["Outputs"]["PayloadBucketName"]["Value"] == {"Ref": "PayloadBucket"}


def test_every_expiring_lifecycle_rule_has_its_own_prefix(template):
    """S3 applies every matching rule and the shortest expiration wins: a rule without a prefix,
    or a prefix that contains another (alocity vs alocity-selfie/), would expire objects of
    another rule's prefix early."""
    rules = [r for entry in template["Resources"]["PayloadBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
             for r in cfn_yaml.alternatives(entry)]
    expiring = [r for r in rules if "ExpirationInDays" in r or "ExpirationDate" in r]
    assert len(expiring) == 5
    prefixes = [r.get("Prefix", "") for r in expiring]
    for i, prefix in enumerate(prefixes):
        assert prefix.endswith("/"), f"expiring rule without a folder prefix: {expiring[i]}"
        overlapping = [other for j, other in enumerate(prefixes) if j != i and other.startswith(prefix)]
        assert not overlapping, f"{prefix} also matches {overlapping}"


def test_quarantine_expires_after_quarantine_days(template):
    parameter = template["Parameters"]["QuarantineDays"]
    assert parameter["Type"] == "Number" and parameter["Default"] == 14 and parameter["MinValue"] >= 1
    rules = template["Resources"]["PayloadBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (rule,) = [r for r in rules if r.get("Prefix") == "quarantine/"]  # unconditional: not under an Fn::If
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == {"Ref": "QuarantineDays"}


def test_quarantine_parameters(template):
    enabled = template["Parameters"]["QuarantineEnabled"]
    # Quoted in the YAML: a bare on/off would load as a boolean.
    assert enabled["Type"] == "String" and enabled["AllowedValues"] == ["on", "off"] and enabled["Default"] == "on"
    assert template["Conditions"]["QuarantineOn"] == {"Fn::Equals": [{"Ref": "QuarantineEnabled"}, "on"]}
    per_minute = template["Parameters"]["QuarantinePerMinute"]
    assert per_minute["Type"] == "Number" and per_minute["Default"] == 120 and per_minute["MinValue"] >= 1
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = {name for group in groups for name in group["Parameters"]}
    assert {"QuarantineEnabled", "QuarantineDays", "QuarantinePerMinute"} <= grouped


def role_statements(template, function):
    """Every statement of the function's role, those of a conditional policy included."""
    role = template["Resources"][cfn_yaml.ref_target(function["Properties"]["Role"])]
    return [s for entry in role["Properties"]["Policies"] for policy in cfn_yaml.alternatives(entry)
            for s in cfn_yaml.as_list(policy["PolicyDocument"]["Statement"])]


@pytest.mark.parametrize("binary", sorted(PROVIDER_ENV))
def test_receiver_writes_its_quarantine_only_while_quarantine_is_on(template, binary):
    _, function = by_binary(template)[binary]
    provider = cfn_yaml.provider(function)
    (statement,) = [s for s in role_statements(template, function) if "s3:PutObject" in cfn_yaml.as_list(s["Action"])]
    assert statement["Resource"] == [
        {"Fn::Sub": f"${{PayloadBucket.Arn}}/{provider}/*"},
        {"Fn::If": ["QuarantineOn", {"Fn::Sub": f"${{PayloadBucket.Arn}}/quarantine/{provider}/*"}, {"Ref": "AWS::NoValue"}]},
    ]


@pytest.mark.parametrize("binary", sorted(PROVIDER_ENV))
def test_receiver_may_only_send_to_the_fallback_queue(template, binary):
    logical_id, function = by_binary(template)[binary]
    sqs = [s for s in role_statements(template, function)
           if any(a.startswith("sqs:") for a in cfn_yaml.as_list(s["Action"]))]
    assert sqs == [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["FallbackQueue", "Arn"]}}], logical_id
    assert "SQS" not in cfn_yaml.event_types(function)


@pytest.mark.parametrize("binary", sorted(PROVIDER_ENV))
def test_receiver_times_out_before_faceio_gives_up(template, binary):
    logical_id, function = by_binary(template)[binary]
    timeout = cfn_yaml.function_timeout(template, function)
    assert isinstance(timeout, int) and 0 < timeout < FACEIO_GIVES_UP_AFTER_SECONDS, logical_id


def queue(template, logical_id):
    resource = template["Resources"][logical_id]
    assert resource["Type"] == "AWS::SQS::Queue"
    return resource


@pytest.mark.parametrize("logical_id", ["FallbackQueue", "FallbackDeadLetterQueue"])
def test_queue_is_encrypted_standard_retained_and_keeps_messages_14_days(template, logical_id):
    resource = queue(template, logical_id)
    props = cfn_yaml.resolve(template, resource["Properties"])  # KmsKeyArn empty; with a key: test_template_kms.py
    assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, "not encrypted at rest"
    assert props["MessageRetentionPeriod"] == FOURTEEN_DAYS
    assert not props.get("FifoQueue")
    assert resource["DeletionPolicy"] == "Retain" and resource["UpdateReplacePolicy"] == "Retain"


def test_fallback_queue_redrives_to_its_dead_letter_queue(template):
    props = queue(template, "FallbackQueue")["Properties"]
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["FallbackDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert "RedrivePolicy" not in queue(template, "FallbackDeadLetterQueue")["Properties"]


def test_queue_visibility_timeout_covers_six_drain_timeouts(template):
    """Lambda's rule for an SQS event source: at least 6 x the function timeout plus the batching window."""
    drain = template["Resources"]["DrainFunction"]
    (event,) = drain["Properties"]["Events"].values()
    window = event["Properties"].get("MaximumBatchingWindowInSeconds", 0)
    visibility = queue(template, "FallbackQueue")["Properties"]["VisibilityTimeout"]
    assert visibility >= 6 * cfn_yaml.function_timeout(template, drain) + window


def test_queue_policy_denies_plain_http_only(template):
    policies = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    assert len(policies) == 1
    (policy,) = policies
    assert policy["Queues"] == [{"Ref": "FallbackQueue"}, {"Ref": "FallbackDeadLetterQueue"}]
    assert policy["PolicyDocument"]["Statement"] == [{
        "Sid": "DenyPlainHttp",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": [{"Fn::GetAtt": ["FallbackQueue", "Arn"]}, {"Fn::GetAtt": ["FallbackDeadLetterQueue", "Arn"]}],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]


def test_drain_function(template, cargo_metadata):
    logical_id, function = by_binary(template)["webhook-drain"]
    assert logical_id == "DrainFunction"
    props = function["Properties"]
    assert props["CodeUri"] == "."
    # The drain's crate is functions/drain.
    packages = [p for p in cargo_metadata["packages"] if p["id"] in cargo_metadata["workspace_members"]
                and any(t["name"] == "webhook-drain" and "bin" in t["kind"] for t in p["targets"])]
    assert len(packages) == 1, "no single workspace package builds the binary webhook-drain"
    assert Path(packages[0]["manifest_path"]).parent == cfn_yaml.REPO_ROOT / "functions" / "drain"


def test_drain_reads_the_fallback_queue_with_partial_batch_failures(template):
    function = template["Resources"]["DrainFunction"]
    props = function["Properties"]
    assert cfn_yaml.function_environment(template, function) == GLOBAL_ENV
    assert template["Globals"]["Function"]["Timeout"] < props["Timeout"] <= 900
    assert cfn_yaml.ref_target(props["Role"]) == "DrainRole"
    assert template["Resources"][cfn_yaml.ref_target(props["LoggingConfig"]["LogGroup"])]["Type"] == "AWS::Logs::LogGroup"
    (event,) = props["Events"].values()
    assert event["Type"] == "SQS"
    source = event["Properties"]
    assert source["Queue"] == {"Fn::GetAtt": ["FallbackQueue", "Arn"]}
    assert source["BatchSize"] == 10
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 0 < source["MaximumBatchingWindowInSeconds"] <= 5
    assert source.get("Enabled", True) is True


def test_dead_letter_queue_alarm(template):
    alarms = [r["Properties"] for r in template["Resources"].values()
              if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("Namespace") == "AWS/SQS"]
    (alarm,) = [a for a in alarms
                if a["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["FallbackDeadLetterQueue", "QueueName"]}}]]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Statistic"] == "Maximum"
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert "dead-letter queue" in alarm["AlarmDescription"] and "drain" in alarm["AlarmDescription"]
    assert alarm["OKActions"] == {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def accepts(parameter: dict, value: str) -> bool:
    """Whether CloudFormation would accept `value` for the parameter (the constraints used here)."""
    return not cfn_yaml.value_problems("", parameter, value)


@pytest.mark.parametrize("env", ["default", "staging"])
def test_samconfig_environment(template, env):
    config = tomllib.loads((cfn_yaml.REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    deploy = config[env]["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert "confirm_changeset" in deploy
    # In the global section, so that build (which compiles for Architecture) and deploy agree.
    shared = config[env]["global"]["parameters"]
    assert "stack_name" in shared
    assert "parameter_overrides" not in deploy and "parameter_overrides" not in config[env].get("build", {}).get("parameters", {})
    overrides = dict(item.split("=", 1) for item in shared["parameter_overrides"])
    parameters = template["Parameters"]
    assert set(overrides) <= set(parameters), set(overrides) - set(parameters)
    for name, value in overrides.items():
        assert accepts(parameters[name], value), f"{env}: {name}={value!r} is not accepted by the template"
    required = {n for n, p in parameters.items() if "Default" not in p}
    assert required <= set(overrides), f"{env}: no value for {required - set(overrides)}"


def test_parameter_defaults_are_accepted(template):
    for name, parameter in template["Parameters"].items():
        if "Default" in parameter:
            assert accepts(parameter, str(parameter["Default"])), name
