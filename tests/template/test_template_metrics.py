"""The template's alarms and dashboard watch only metrics the code emits, as it emits them (issue 13).

The catalogue is `webhooks metrics --json` (shared/src/metrics.rs: each metric's unit, dimension
sets and emitters) and the providers are `webhooks providers --json` (the registry). Every metric
an alarm or a dashboard widget reads in our namespace must be in the catalogue, under one of the
dimension sets the catalogue lists for it, with real values: a provider of the registry, a reason
that provider's scheme can answer 401 with, a source that emits the metric. A typo in a metric
or a dimension would otherwise give an alarm that never fires and a widget that stays empty.

The CLI is WEBHOOKS_CLI when set, else target/debug/webhooks, built first when missing.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import cfn_yaml

# The reasons each provider's scheme can refuse a request with (401 {"error": reason}): the
# VerifyError variants its verification returns (its crate, or shared/src/verify/alocity.rs for
# the two Alocity products). test_the_reasons_are_the_codes holds this to the code.
REASONS = {
    "alocity-selfie": {"missing_header", "malformed_header", "stale_timestamp", "future_timestamp", "signature_mismatch"},
    "alocity": {"missing_header", "malformed_header", "stale_timestamp", "future_timestamp", "signature_mismatch"},
    "faceio": {"missing_header", "malformed_header", "token_mismatch", "wrong_app", "ambiguous_json"},
    "amani": {"missing_header", "malformed_header", "signature_mismatch", "token_mismatch"},
}
# Which alarm of a provider watches each reason (<Camel><kind>Alarm).
ALARM_OF_REASON = {
    "signature_mismatch": "SecretMismatch", "token_mismatch": "SecretMismatch",
    "missing_header": "MalformedRequests", "malformed_header": "MalformedRequests",
    "stale_timestamp": "ClockSkew", "future_timestamp": "ClockSkew",
    "wrong_app": "WrongApp", "ambiguous_json": "MalformedRequests",
}
VERIFY_RS = cfn_yaml.REPO_ROOT / "shared" / "src" / "verify" / "mod.rs"
PICTURE_SCRIPT = cfn_yaml.REPO_ROOT / "scripts" / "dashboard_picture.py"
ALARM_ACTIONS = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
# Placeholders of the dashboard's !Sub (cfn_yaml.dashboard_body keeps them in the JSON).
NAMESPACE_VARIABLE = "${Namespace}"


# ---- the catalogue and the registry, from the CLI --------------------------------------------

def webhooks_cli() -> str:
    given = os.environ.get("WEBHOOKS_CLI")
    if given:
        return given
    target = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    built = (target if target.is_absolute() else cfn_yaml.REPO_ROOT / target) / "debug" / "webhooks"
    if not built.is_file():
        done = subprocess.run(["cargo", "build", "-q", "--bin", "webhooks"], cwd=cfn_yaml.REPO_ROOT,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"cargo build --bin webhooks failed:\n{done.stderr[-4000:]}"
    return str(built)


@cache
def run_cli(*args: str) -> str:
    command = [webhooks_cli(), *args]
    done = subprocess.run(command, cwd=cfn_yaml.REPO_ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, f"{' '.join(command)} failed (rc={done.returncode}):\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def catalogue() -> dict[str, Any]:
    (line,) = [line for line in run_cli("metrics", "--json").splitlines() if line.strip()]
    return json.loads(line)


@pytest.fixture(scope="module")
def metrics(catalogue) -> dict[str, dict[str, Any]]:
    """Metric name -> its catalogue entry."""
    return {metric["name"]: metric for metric in catalogue["metrics"]}


@pytest.fixture(scope="module")
def providers() -> list[str]:
    return [json.loads(line)["name"] for line in run_cli("providers", "--json").splitlines() if line.strip()]


# ---- what the template reads ------------------------------------------------------------------

class Read(NamedTuple):
    """One metric an alarm or a widget reads."""
    where: str
    namespace: Any
    name: str
    dimensions: dict[str, Any]
    stat: str | None


def our_namespace(template: dict[str, Any]) -> Any:
    """The namespace the functions publish in: METRICS_NAMESPACE of the Globals."""
    return template["Globals"]["Function"]["Environment"]["Variables"]["METRICS_NAMESPACE"]


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def alarm_reads(logical_id: str, alarm: dict[str, Any]) -> list[Read]:
    """The metrics an alarm reads: its single metric, or each MetricStat of its metric math."""
    if "MetricName" in alarm:
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        return [Read(logical_id, alarm["Namespace"], alarm["MetricName"], dims,
                     alarm.get("Statistic", alarm.get("ExtendedStatistic")))]
    reads = []
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            reads.append(Read(f"{logical_id}.{query['Id']}", metric["Namespace"], metric["MetricName"], dims,
                              query["MetricStat"]["Stat"]))
    return reads


def dashboard(template: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    (logical_id, resource), = cfn_yaml.dashboards(template).items()
    body, variables = cfn_yaml.dashboard_body(resource)
    return logical_id, body, variables


def widget_reads(widget: dict[str, Any]) -> list[Read]:
    """The metrics a widget plots, each row written out in full (no "." shorthand)."""
    props = widget.get("properties", {})
    reads = []
    for row in props.get("metrics", []):
        options = row[-1] if isinstance(row[-1], dict) else {}
        names = row[:-1] if options else row
        assert "." not in names and len(names) % 2 == 0, f"{props.get('title')}: write each row out in full: {row}"
        namespace, name, *pairs = names
        reads.append(Read(props.get("title", "?"), namespace, name, dict(zip(pairs[::2], pairs[1::2])),
                          options.get("stat", props.get("stat"))))
    return reads


def dashboard_reads(template: dict[str, Any]) -> list[Read]:
    _, body, _ = dashboard(template)
    return [read for widget in body["widgets"] for read in widget_reads(widget)]


def problems(read: Read, metrics: dict[str, dict[str, Any]], providers: list[str]) -> list[str]:
    """What is wrong with one metric read in our namespace, as readable lines."""
    found = []
    entry = metrics.get(read.name)
    if entry is None:
        return [f"{read.where}: {read.name} is no metric the code emits ({sorted(metrics)})"]
    if sorted(read.dimensions) not in [sorted(s) for s in entry["dimensions"]]:
        found.append(f"{read.where}: {read.name} by {sorted(read.dimensions)} is not published; "
                     f"its dimension sets are {entry['dimensions']}")
    provider = read.dimensions.get("provider")
    if provider not in providers:
        found.append(f"{read.where}: provider {provider!r} is not one of {providers}")
    if "reason" in read.dimensions and read.dimensions["reason"] not in REASONS.get(provider, set()):
        found.append(f"{read.where}: {provider} never refuses with reason {read.dimensions['reason']!r} "
                     f"(it can: {sorted(REASONS.get(provider, set()))})")
    if "source" in read.dimensions:
        sources = set(entry["emitted_by"]) - {"receiver"}
        if read.dimensions["source"] not in sources:
            found.append(f"{read.where}: {read.name} has no source {read.dimensions['source']!r} (emitted by {entry['emitted_by']})")
    if read.stat is None:
        found.append(f"{read.where}: {read.name} without a statistic")
    elif entry["unit"] == "Count" and read.stat != "Sum":
        found.append(f"{read.where}: {read.name} counts; read its Sum, not {read.stat}")
    return found


def all_problems(template, reads: list[Read], metrics, providers) -> list[str]:
    ours = our_namespace(template)
    found = []
    for read in reads:
        if read.namespace in (ours, NAMESPACE_VARIABLE):
            found.extend(problems(read, metrics, providers))
        elif not (isinstance(read.namespace, str) and read.namespace.startswith("AWS/")):
            found.append(f"{read.where}: namespace {read.namespace!r} is neither an AWS one nor METRICS_NAMESPACE")
    return found


def camel_of(template: dict[str, Any]) -> dict[str, str]:
    """Provider -> the prefix of its resources' logical ids (AlocitySelfieFunction -> AlocitySelfie)."""
    return {cfn_yaml.provider(f): logical_id.removesuffix("Function") for logical_id, f in cfn_yaml.receivers(template).items()}


# ---- the catalogue and the registry are what these checks assume ------------------------------

def test_the_catalogue_names_the_namespace_the_functions_get(template, catalogue, metrics):
    assert catalogue["namespace_env"] == "METRICS_NAMESPACE"
    for logical_id, function in cfn_yaml.rust_functions(template).items():
        env = cfn_yaml.function_environment(template, function)
        assert env[catalogue["namespace_env"]] == our_namespace(template), logical_id
    assert {"Rejected", "Stored", "StaleSecretServed", "Conflict", "Quarantined"} <= set(metrics)
    for name, entry in metrics.items():
        assert entry["unit"] in {"Count", "Milliseconds", "Bytes"}, name
        assert entry["dimensions"] and all(s[0] == "provider" for s in entry["dimensions"]), name
        assert set(entry["emitted_by"]) <= {"receiver", "drain", "promote"}, name


def test_the_providers_are_the_receivers(template, providers):
    assert set(providers) == {cfn_yaml.provider(f) for f in cfn_yaml.receivers(template).values()}
    assert set(providers) == set(REASONS), "give each provider its refusal reasons in REASONS"


def test_the_reasons_are_the_codes():
    """REASONS uses exactly the reason codes of VerifyError, and each provider crate's own scheme
    returns no variant REASONS leaves out for it."""
    source = VERIFY_RS.read_text(encoding="utf-8")
    reason_fn = re.search(r"impl VerifyError \{.*?pub fn reason\(self\) -> &'static str \{(.*?)\n    \}", source, re.DOTALL)
    assert reason_fn, f"VerifyError::reason not found in {VERIFY_RS}"
    codes = dict(re.findall(r'Self::(\w+)(?:\(_\))? => "(\w+)"', reason_fn.group(1)))
    assert set(codes.values()) == set().union(*REASONS.values())
    assert set(codes.values()) == set(ALARM_OF_REASON)
    for provider, reasons in REASONS.items():
        crate = cfn_yaml.REPO_ROOT / "functions" / provider / "src"
        used = {codes[v] for path in crate.rglob("*.rs")
                for v in re.findall(r"VerifyError::(\w+)", path.read_text(encoding="utf-8")) if v in codes}
        assert used <= reasons, f"{provider}'s crate returns {sorted(used - reasons)}, missing from REASONS"


# ---- alarms -----------------------------------------------------------------------------------

def test_every_alarm_reads_metrics_the_code_emits(template, metrics, providers):
    reads = [read for logical_id, alarm in alarms(template).items() for read in alarm_reads(logical_id, alarm)]
    assert sum(read.namespace == our_namespace(template) for read in reads) >= 20
    report = all_problems(template, reads, metrics, providers)
    assert not report, "\n".join(report)


def test_no_log_metric_filter_is_left(template):
    """The access log's 401 filter (no provider, no reason) gave way to the Rejected metric."""
    filters = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Logs::MetricFilter"]
    assert not filters
    assert "RejectedRequestsAlarm" not in template["Resources"]


def test_every_alarm_names_its_cause_and_notifies(template):
    for logical_id, alarm in alarms(template).items():
        description = alarm["AlarmDescription"]
        assert 100 <= len(description) <= 1024, f"{logical_id}: {len(description)} characters (CloudWatch: 1024 at most)"
        assert alarm["AlarmActions"] == ALARM_ACTIONS and alarm["OKActions"] == ALARM_ACTIONS, logical_id
        assert alarm["TreatMissingData"] == "notBreaching", logical_id
        reads = [r for r in alarm_reads(logical_id, alarm) if r.namespace == our_namespace(template)]
        if not reads:
            continue
        # The notification says which counter fired, for which provider and reason.
        named = {r.name for r in reads} | {r.dimensions["reason"] for r in reads if "reason" in r.dimensions}
        if len({r.dimensions["provider"] for r in reads}) == 1:
            named.add(reads[0].dimensions["provider"])
        missing = {word for word in named if word not in description}
        assert not missing, f"{logical_id}: the description does not name {sorted(missing)}"


def test_metric_math_alarms_are_well_formed(template):
    for logical_id, alarm in alarms(template).items():
        if "Metrics" not in alarm:
            continue
        queries = alarm["Metrics"]
        assert "Period" not in alarm and "Namespace" not in alarm and "MetricName" not in alarm, logical_id
        assert len(queries) <= 10, f"{logical_id}: {len(queries)} queries (an alarm takes 10 at most)"
        ids = [q["Id"] for q in queries]
        assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[a-z][A-Za-z0-9_]*", i) for i in ids), logical_id
        (result,) = [q for q in queries if q.get("ReturnData", True)]
        stats = [q for q in queries if "MetricStat" in q]
        assert "Expression" in result and len(stats) == len(queries) - 1, logical_id
        assert all(q["ReturnData"] is False for q in stats), logical_id
        # The expression adds up every metric, each with its missing periods as 0.
        assert set(re.findall(r"FILL\((\w+), 0\)", result["Expression"])) == {q["Id"] for q in stats}, logical_id
        assert result["Expression"].startswith("SUM(["), logical_id
        assert len({q["MetricStat"]["Period"] for q in stats}) == 1, f"{logical_id}: metrics of different periods"


def test_every_refusal_reason_of_every_provider_has_its_alarm(template, providers):
    """<Camel>SecretMismatchAlarm, MalformedRequestsAlarm, ClockSkewAlarm, WrongAppAlarm: each
    reads Rejected of its provider for exactly the reasons of its kind the provider can emit."""
    names = camel_of(template)
    all_alarms = alarms(template)
    for provider in providers:
        kinds: dict[str, set[str]] = {}
        for reason in REASONS[provider]:
            kinds.setdefault(ALARM_OF_REASON[reason], set()).add(reason)
        for kind, reasons in kinds.items():
            logical_id = f"{names[provider]}{kind}Alarm"
            assert logical_id in all_alarms, f"no {logical_id} for {provider}'s {sorted(reasons)}"
            reads = alarm_reads(logical_id, all_alarms[logical_id])
            assert {(r.name, r.dimensions["provider"]) for r in reads} == {("Rejected", provider)}, logical_id
            assert {r.dimensions["reason"] for r in reads} == reasons, logical_id
            threshold = 1 if kind == "WrongApp" else {"Ref": "RejectedRequestsThreshold"}
            alarm = all_alarms[logical_id]
            assert alarm["Threshold"] == threshold, logical_id
            assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", logical_id
            assert period(alarm) == 300 and alarm["EvaluationPeriods"] == 1, logical_id
        extra = {k for k in all_alarms if k.startswith(names[provider]) and any(k.endswith(f"{kind}Alarm") for kind in
                                                                                set(ALARM_OF_REASON.values()) - set(kinds))}
        assert not extra, f"{provider} can emit none of the reasons {sorted(extra)} watch"


def period(alarm: dict[str, Any]) -> int:
    return alarm["Period"] if "Period" in alarm else next(q["MetricStat"]["Period"] for q in alarm["Metrics"] if "MetricStat" in q)


# Alarms over every provider: logical id -> (metrics it adds up, period, threshold, operator).
SUMS = {
    "StaleSecretServedAlarm": ({"StaleSecretServed"}, 60, 0, "GreaterThanThreshold"),
    "ConflictsAlarm": ({"Conflict"}, 300, 0, "GreaterThanThreshold"),
    "QuarantineGrowingAlarm": ({"Quarantined"}, 900, 0, "GreaterThanThreshold"),
    "UnstoredDeliveriesAlarm": ({"StoreUnavailable", "SecretsUnavailable"}, 300, 1, "GreaterThanOrEqualToThreshold"),
}


@pytest.mark.parametrize("logical_id", sorted(SUMS))
def test_alarms_over_all_providers_read_each_of_them(template, providers, logical_id):
    names, seconds, threshold, operator = SUMS[logical_id]
    alarm = alarms(template)[logical_id]
    reads = alarm_reads(logical_id, alarm)
    # The provider dimension alone: on arrival, from the drain and from promote alike.
    assert sorted((r.name, tuple(sorted(r.dimensions.items()))) for r in reads) == sorted(
        (name, (("provider", p),)) for name in names for p in providers), logical_id
    assert period(alarm) == seconds and alarm["Threshold"] == threshold, logical_id
    assert alarm["ComparisonOperator"] == operator, logical_id


def test_stale_secret_alarm_needs_n_minutes_in_a_row(template):
    parameter = template["Parameters"]["StaleSecretAlarmMinutes"]
    assert parameter["Type"] == "Number" and parameter["Default"] == 15 and parameter["MinValue"] >= 1
    assert parameter["MaxValue"] * 60 <= 86400, "an alarm looks back one day at most"
    alarm = alarms(template)["StaleSecretServedAlarm"]
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == {"Ref": "StaleSecretAlarmMinutes"}
    assert period(alarm) == 60


def test_metrics_namespace_parameter(template):
    parameter = template["Parameters"]["MetricsNamespace"]
    assert parameter["Type"] == "String" and parameter["Default"] == ""
    for accepted in ("", "Webhooks/prod", "Team.Webhooks:eu-1"):
        assert re.fullmatch(parameter["AllowedPattern"], accepted), accepted
    for refused in ("AWS/Lambda", "Webhooks prod", "a" * 256, "Webhooks/$x"):
        assert not re.fullmatch(parameter["AllowedPattern"], refused), refused
    assert template["Conditions"]["HasMetricsNamespace"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "MetricsNamespace"}, ""]}]}
    assert our_namespace(template) == {"Fn::If": ["HasMetricsNamespace", {"Ref": "MetricsNamespace"},
                                                  {"Fn::Sub": "Webhooks/${AWS::StackName}"}]}
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = {name for group in groups for name in group["Parameters"]}
    assert {"MetricsNamespace", "StaleSecretAlarmMinutes", "Tracing", "RejectedRequestsThreshold"} <= grouped


# ---- dashboard --------------------------------------------------------------------------------

def test_every_dashboard_metric_is_one_the_code_emits(template, metrics, providers):
    reads = dashboard_reads(template)
    assert sum(read.namespace == NAMESPACE_VARIABLE for read in reads) >= 50
    report = all_problems(template, reads, metrics, providers)
    assert not report, "\n".join(report)


def test_dashboard_placeholders_are_bound(template):
    logical_id, body, variables = dashboard(template)
    resource = template["Resources"][logical_id]
    assert logical_id == "WebhooksDashboard"
    assert resource["Properties"]["DashboardName"] == {"Fn::Sub": "${AWS::StackName}-webhooks"}
    assert variables == {
        "Namespace": our_namespace(template),
        "FallbackQueueName": {"Fn::GetAtt": ["FallbackQueue", "QueueName"]},
        "DeadLetterQueueName": {"Fn::GetAtt": ["FallbackDeadLetterQueue", "QueueName"]},
    }
    text = resource["Properties"]["DashboardBody"]["Fn::Sub"][0]
    used = set(re.findall(r"\$\{([^}]+)\}", text))
    assert used == set(variables) | {"AWS::Region"}, used
    for widget in body["widgets"]:
        assert widget["properties"]["region"] == "${AWS::Region}", widget["properties"]["title"]
        assert "SEARCH" not in json.dumps(widget), "explicit metrics only, so that they can be checked"


def test_dashboard_widgets_fit_the_grid_and_do_not_overlap(template):
    _, body, _ = dashboard(template)
    cells: dict[tuple[int, int], str] = {}
    for widget in body["widgets"]:
        title = widget["properties"]["title"]
        assert widget["type"] == "metric" and title, widget
        assert 0 <= widget["x"] and widget["x"] + widget["width"] <= 24, title
        for x in range(widget["x"], widget["x"] + widget["width"]):
            for y in range(widget["y"], widget["y"] + widget["height"]):
                assert (x, y) not in cells, f"{title} overlaps {cells[(x, y)]}"
                cells[(x, y)] = title


def test_dashboard_has_a_row_per_provider_and_one_for_the_rest(template, providers):
    _, body, _ = dashboard(template)
    rows: dict[int, list[dict[str, Any]]] = {}
    for widget in body["widgets"]:
        rows.setdefault(widget["y"], []).append(widget)
    assert len(rows) == len(providers) + 1
    *provider_rows, last = [rows[y] for y in sorted(rows)]
    for provider, row in zip(providers, provider_rows):
        reads = [r for w in row for r in widget_reads(w)]
        assert {r.dimensions.get("provider") for r in reads} == {provider}, f"row of {provider}"
        shown = {(r.name, r.dimensions.get("reason"), r.stat) for r in reads}
        expected = {(name, None, "Sum") for name in ("Stored", "Duplicate", "Conflict", "Queued", "Quarantined",
                                                      "StoreUnavailable", "SecretsUnavailable", "BadRequest",
                                                      "MethodNotAllowed", "BodyTooLarge", "ColdStart", "Requests")}
        expected |= {("Rejected", reason, "Sum") for reason in REASONS[provider]}
        expected |= {("StoreLatencyMs", None, "p50"), ("StoreLatencyMs", None, "p99")}
        assert shown == expected, f"{provider}: missing {sorted(map(str, expected - shown))}, extra {sorted(map(str, shown - expected))}"
    reads = [r for w in last for r in widget_reads(w)]
    queues = {r.dimensions["QueueName"] for r in reads if r.namespace == "AWS/SQS"}
    assert queues == {"${FallbackQueueName}", "${DeadLetterQueueName}"}
    assert all(r.name == "ApproximateNumberOfMessagesVisible" for r in reads if r.namespace == "AWS/SQS")
    ours = {(r.name, r.dimensions.get("source"), r.dimensions["provider"]) for r in reads if r.namespace == NAMESPACE_VARIABLE}
    for name, source in [("Quarantined", None), ("Promoted", None), ("Stored", "drain"), ("DrainFailed", "drain"),
                         ("StaleSecretServed", None), ("SecretRefreshFailed", None)]:
        assert {p for n, s, p in ours if (n, s) == (name, source)} == set(providers), (name, source)


def picture_module():
    spec = importlib.util.spec_from_file_location("dashboard_picture", PICTURE_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_dashboard_picture_is_current(template):
    picture = picture_module()
    committed = picture.PICTURE.read_text(encoding="utf-8")
    assert picture.picture(template) == committed, "docs/dashboard.svg is stale: run scripts/dashboard_picture.py"
    _, body, _ = dashboard(template)
    for widget in body["widgets"]:
        assert f"{picture.escape(widget['properties']['title'].split()[0])}" in committed


# ---- X-Ray tracing ------------------------------------------------------------------------------

def test_tracing_parameter_wires_globals_and_every_role(template):
    parameter = template["Parameters"]["Tracing"]
    assert parameter["AllowedValues"] == ["Active", "PassThrough"] and parameter["Default"] == "PassThrough"
    assert template["Conditions"]["TracingActive"] == {"Fn::Equals": [{"Ref": "Tracing"}, "Active"]}
    assert template["Globals"]["Function"]["Tracing"] == {"Ref": "Tracing"}
    for logical_id, function in cfn_yaml.rust_functions(template).items():
        assert "Tracing" not in function["Properties"], f"{logical_id}: the Globals' Tracing, not its own"
        role = template["Resources"][cfn_yaml.ref_target(function["Properties"]["Role"])]
        # The role's conditional policies: this one, and use-kms-key (HasKmsKey, test_template_kms.py).
        traced = [p["Fn::If"] for p in role["Properties"]["Policies"]
                  if "Fn::If" in p and p["Fn::If"][0] == "TracingActive"]
        assert len(traced) == 1, logical_id
        ((_, policy, otherwise),) = traced
        assert otherwise == {"Ref": "AWS::NoValue"}, logical_id
        assert policy["PolicyDocument"]["Statement"] == [{
            "Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"}]
        others = [p for p in role["Properties"]["Policies"] if p.get("Fn::If", [None])[0] != "TracingActive"]
        assert "xray:" not in json.dumps(others), f"{logical_id}: X-Ray granted outside the TracingActive policy"


# ---- the checks above must be able to fail ------------------------------------------------------

def test_wrong_metrics_dimensions_and_values_are_reported(template, metrics, providers):
    ours = our_namespace(template)

    def report(name, dims, stat="Sum"):
        return all_problems(template, [Read("x", ours, name, dims, stat)], metrics, providers)

    assert report("Rejected", {"provider": "faceio", "reason": "token_mismatch"}) == []
    assert any("no metric the code emits" in line for line in report("Rejection", {"provider": "faceio"}))
    assert any("is not published" in line for line in report("Rejected", {"provider": "faceio", "source": "drain"}))
    assert any("is not published" in line for line in report("Requests", {"provider": "faceio", "reason": "wrong_app"}))
    assert any("is not published" in line for line in report("Stored", {}))
    assert any("not one of" in line for line in report("Stored", {"provider": "faceIO"}))
    assert any("never refuses with reason 'stale_timestamp'" in line
               for line in report("Rejected", {"provider": "faceio", "reason": "stale_timestamp"}))
    assert any("no source 'promote'" in line for line in report("DrainFailed", {"provider": "amani", "source": "promote"}))
    assert any("no source 'receiver'" in line for line in report("Stored", {"provider": "amani", "source": "receiver"}))
    assert any("read its Sum" in line for line in report("Conflict", {"provider": "amani"}, "Average"))
    foreign = all_problems(template, [Read("x", "Webhooks", "Stored", {"provider": "amani"}, "Sum")], metrics, providers)
    assert any("neither an AWS one" in line for line in foreign)


def test_a_broken_alarm_or_widget_is_reported(template, metrics, providers):
    broken = copy.deepcopy(template)
    alarm = alarms(broken)["FaceioSecretMismatchAlarm"]
    alarm["Dimensions"] = [{"Name": "provider", "Value": "faceio"}, {"Name": "reason", "Value": "signature_mismatch"}]
    reads = [read for logical_id, a in alarms(broken).items() for read in alarm_reads(logical_id, a)]
    assert any("FaceioSecretMismatchAlarm" in line and "signature_mismatch" in line
               for line in all_problems(broken, reads, metrics, providers))
    resource = broken["Resources"]["WebhooksDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    resource[0] = resource[0].replace('"DrainFailed", "provider", "amani", "source", "drain"',
                                      '"DrainFailed", "provider", "amani", "source", "receiver"')
    assert any("no source 'receiver'" in line for line in all_problems(broken, dashboard_reads(broken), metrics, providers))


def test_the_stack_outputs_the_namespace_the_functions_publish_to(template):
    # `webhooks quarantine promote --stack` reads it to publish where the functions do.
    assert template["Outputs"]["MetricsNamespace"]["Value"] == our_namespace(template)
