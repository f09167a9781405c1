"""template.yaml has the shape issues 4 and 11 ask for, agrees with the code's binaries and config,
and samconfig.toml only passes values the template accepts."""

from __future__ import annotations

import re
import tomllib

import pytest

import cfn_yaml

ROUTES = {
    "/webhooks/alocity-selfie": "alocity-selfie-webhook",
    "/webhooks/alocity": "alocity-webhook",
    "/webhooks/faceio": "faceio-webhook",
    "/webhooks/amani": "amani-webhook",
}
# Environment each function gets from the template (besides Globals), per the project spec.
PROVIDER_ENV = {
    "alocity-selfie-webhook": {"TIMESTAMP_TOLERANCE_SECS": "TimestampToleranceSeconds"},
    "alocity-webhook": {"TIMESTAMP_TOLERANCE_SECS": "TimestampToleranceSeconds"},
    "faceio-webhook": {"FACEIO_APP_ID": "FaceioAppId"},
    "amani-webhook": {"AMANI_AUTH_MODE": "AmaniAuthMode", "AMANI_TOKEN_HEADER": "AmaniTokenHeader"},
}
FACEIO_GIVES_UP_AFTER_SECONDS = 6
# Every receiver gets these (issue 11): the fallback queue and the quarantine settings.
RECEIVER_ENV = {
    "FALLBACK_QUEUE_URL": {"Ref": "FallbackQueue"},
    "QUARANTINE": {"Ref": "QuarantineEnabled"},
    "QUARANTINE_PER_MINUTE": {"Ref": "QuarantinePerMinute"},
}
GLOBAL_ENV = {
    "EVENTS_TABLE": {"Ref": "EventsTable"},
    "PAYLOAD_BUCKET": {"Ref": "PayloadBucket"},
    "RETENTION_DAYS": {"Ref": "RetentionDays"},
    "RUST_LOG": {"Ref": "LogLevel"},
}


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


def test_one_http_api_with_one_post_route_per_provider(template):
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
    assert routes == ROUTES


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
    expected = {
        **GLOBAL_ENV,
        **RECEIVER_ENV,
        "WEBHOOK_SECRET_ID": env["WEBHOOK_SECRET_ID"],
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
    assert any(a["MetricName"] == "RejectedRequests" for a in alarms)
    for alarm in alarms:
        assert alarm["AlarmActions"] == {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def test_rejected_requests_metric_filter_counts_401s(template):
    filters = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Logs::MetricFilter"]
    assert len(filters) == 1
    assert filters[0]["FilterPattern"] == "{ $.status = 401 }"
    access_log = template["Resources"]["WebhookApi"]["Properties"]["AccessLogSettings"]["Format"]
    assert '"status":$context.status' in access_log  # a number, so the filter's numeric compare matches


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
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
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


def accepts(parameter: dict, value: str) -> bool:
    """Whether CloudFormation would accept `value` for the parameter (the constraints used here)."""
    if "AllowedValues" in parameter and value not in [str(v) for v in parameter["AllowedValues"]]:
        return False
    if "AllowedPattern" in parameter and not re.fullmatch(parameter["AllowedPattern"], value):
        return False
    if len(value) < parameter.get("MinLength", 0):
        return False
    if parameter["Type"] == "Number":
        number = float(value)
        if number < parameter.get("MinValue", float("-inf")) or number > parameter.get("MaxValue", float("inf")):
            return False
    return True


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
