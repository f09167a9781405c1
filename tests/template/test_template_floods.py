"""Floods stay where they land (issue 15, item 2): each provider's routes have their own throttle,
and each receiver can have reserved concurrency.

API Gateway's throttling and Lambda's concurrency cannot run here, so nothing emulates them: the
tests read the template as written (cfn_yaml), resolve it for given parameter values, and read
what SAM's own transform makes of it (tests/template/sam_expand.py --transform: the stage's
RouteSettings by route key, the Lambda functions). The checks are functions returning what is
wrong, so that the last tests can show each of them failing on a broken copy.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from typing import Any

import pytest

import cfn_yaml

SAM_PYTHON = cfn_yaml.REPO_ROOT / ".venv" / "sam" / "bin" / "python"
SAM_EXPAND = cfn_yaml.REPO_ROOT / "tests" / "template" / "sam_expand.py"
ROUTE_THROTTLE = ("ThrottlingRateLimit", "ThrottlingBurstLimit")
DEFAULT_RATE, DEFAULT_BURST = 20, 40
# A value per provider and setting, all different, so that a route bound to another provider's
# parameter shows up in what SAM makes.
DISTINCT = {"alocity-selfie": (11, 12), "alocity": (13, 14), "faceio": (15, 16), "amani": (17, 18)}
RESERVED = {"faceio": 25}  # one receiver reserved, the others left at 0


def camel(provider: str) -> str:
    """alocity-selfie -> AlocitySelfie: the prefix of the provider's parameters."""
    return "".join(part.capitalize() for part in provider.split("-"))


def receivers_by_provider(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {cfn_yaml.provider(f): (k, f) for k, f in cfn_yaml.receivers(template).items()}


def http_events(function: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: e for name, e in function["Properties"]["Events"].items() if e["Type"] == "HttpApi"}


def route_key(event: dict[str, Any]) -> str:
    """The stage's key for an event's route (API Gateway's route key: "POST /webhooks/faceio")."""
    return f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}"


# ---- the checks ---------------------------------------------------------------------------------

def throttle_problems(template: dict[str, Any]) -> list[str]:
    """As written: every route of every receiver has RouteSettings with exactly its provider's
    <Camel>ThrottlingRateLimit and <Camel>ThrottlingBurstLimit, numbers with a floor of 1; the
    stage default is kept for a route without its own settings."""
    found = []
    for provider, (logical_id, function) in receivers_by_provider(template).items():
        expected = {setting: {"Ref": f"{camel(provider)}{setting}"} for setting in ROUTE_THROTTLE}
        for name, event in http_events(function).items():
            settings = event["Properties"].get("RouteSettings")
            if settings is None:
                found.append(f"{logical_id}.{name} ({route_key(event)}): no RouteSettings, only the stage default")
            elif settings != expected:
                found.append(f"{logical_id}.{name} ({route_key(event)}): RouteSettings {settings}, expected {expected}")
        for setting in ROUTE_THROTTLE:
            parameter = template["Parameters"].get(f"{camel(provider)}{setting}")
            if parameter is None:
                found.append(f"no parameter {camel(provider)}{setting}")
            elif parameter["Type"] != "Number" or parameter.get("MinValue", 0) < 1:
                found.append(f"{camel(provider)}{setting}: {parameter}")
    api = template["Resources"]["WebhookApi"]["Properties"]
    if api.get("DefaultRouteSettings") != {s: {"Ref": f"Api{s}"} for s in ROUTE_THROTTLE}:
        found.append(f"WebhookApi: DefaultRouteSettings {api.get('DefaultRouteSettings')}")
    if "RouteSettings" in api:
        found.append("WebhookApi: RouteSettings on the API; they belong on each route's event")
    return found


def stage_problems(transformed: dict[str, Any], values: dict[str, tuple[int, int]]) -> list[str]:
    """What SAM made: the stage's RouteSettings have exactly one entry per route of the API (none
    left on the stage default, none naming a route that does not exist, which API Gateway refuses
    at deploy), each with its provider's values."""
    resources = transformed["Resources"]
    (api,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    (stage,) = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    routes = {f"{method.upper()} {path}" for path, methods in api["Properties"]["Body"]["paths"].items()
              for method in methods}
    settings = stage["Properties"].get("RouteSettings", {})
    found = []
    if missing := routes - set(settings):
        found.append(f"routes on the stage default only: {sorted(missing)}")
    if unknown := set(settings) - routes:
        found.append(f"route settings for no route: {sorted(unknown)}")
    for key, setting in settings.items():
        provider = key.split("/")[2] if key.count("/") >= 2 else None
        if provider not in values:
            found.append(f"{key}: no provider's route")
            continue
        got = tuple(str(setting.get(s)) for s in ROUTE_THROTTLE)
        if got != tuple(str(v) for v in values[provider]):
            found.append(f"{key}: {dict(zip(ROUTE_THROTTLE, got))}, expected {provider}'s {values[provider]}")
    return found


def reserved_concurrency_problems(template: dict[str, Any]) -> list[str]:
    """As written: each receiver has <Camel>ReservedConcurrency (Number, default 0, at least 0) and
    passes it to ReservedConcurrentExecutions only under Has<Camel>ReservedConcurrency (0: none)."""
    found = []
    for provider, (logical_id, function) in receivers_by_provider(template).items():
        name = f"{camel(provider)}ReservedConcurrency"
        parameter = template["Parameters"].get(name)
        if parameter is None:
            found.append(f"no parameter {name}")
            continue
        if (parameter["Type"], parameter.get("Default"), parameter.get("MinValue")) != ("Number", 0, 0):
            found.append(f"{name}: Type {parameter['Type']}, Default {parameter.get('Default')}, MinValue {parameter.get('MinValue')}")
        condition = f"Has{camel(provider)}ReservedConcurrency"
        if template["Conditions"].get(condition) != {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, 0]}]}:
            found.append(f"{condition}: {template['Conditions'].get(condition)}")
        expected = {"Fn::If": [condition, {"Ref": name}, {"Ref": "AWS::NoValue"}]}
        if function["Properties"].get("ReservedConcurrentExecutions") != expected:
            found.append(f"{logical_id}: ReservedConcurrentExecutions "
                         f"{function['Properties'].get('ReservedConcurrentExecutions')}, expected {expected}")
    return found


def deployed_concurrency(raw: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """Provider -> its function's ReservedConcurrentExecutions as CloudFormation resolves it for
    these values (None: the property is absent, as !Ref AWS::NoValue leaves it)."""
    deployed = cfn_yaml.expand(raw, parameters)
    key = "ReservedConcurrentExecutions"
    return {provider: cfn_yaml.resolve(deployed, {key: function["Properties"][key]} if key in function["Properties"] else {}).get(key)
            for provider, (_, function) in receivers_by_provider(deployed).items()}


def sam_transform(parameters: dict[str, str], tmp_path) -> dict[str, Any]:
    """What SAM's transform makes of the template for these values (no AWS call)."""
    if not SAM_PYTHON.exists():
        pytest.skip(f"{SAM_PYTHON} missing: run scripts/sam_checks.sh tools")
    pseudo = [f"{k}={v}" for k, v in cfn_yaml.PSEUDO_PARAMETERS.items()]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "SAM_CLI_TELEMETRY": "0"}
    done = subprocess.run([str(SAM_PYTHON), str(SAM_EXPAND), "--transform",
                           *[f"{k}={v}" for k, v in parameters.items()], *pseudo],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


def distinct_values() -> dict[str, str]:
    values = {"FaceioAppId": "app-0"}
    for provider, (rate, burst) in DISTINCT.items():
        values[f"{camel(provider)}ThrottlingRateLimit"] = str(rate)
        values[f"{camel(provider)}ThrottlingBurstLimit"] = str(burst)
    for provider, reserved in RESERVED.items():
        values[f"{camel(provider)}ReservedConcurrency"] = str(reserved)
    return values


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    return sam_transform(distinct_values(), tmp_path_factory.mktemp("sam"))


# ---- the template -------------------------------------------------------------------------------

def test_every_route_has_its_providers_own_throttle(template):
    assert len(receivers_by_provider(template)) == 4
    assert throttle_problems(template) == []


def test_throttle_defaults_and_stage_default(template):
    """20 requests/s and a burst of 40 per route; the stage default (a route without its own
    settings) stays above them, so no route gets more by default than the stage figure. API
    Gateway applies a route's own settings instead of the stage default, and CloudFormation cannot
    compare two parameters, so this holds for the defaults only."""
    parameters = template["Parameters"]
    for provider in receivers_by_provider(template):
        rate = parameters[f"{camel(provider)}ThrottlingRateLimit"]["Default"]
        burst = parameters[f"{camel(provider)}ThrottlingBurstLimit"]["Default"]
        assert (rate, burst) == (DEFAULT_RATE, DEFAULT_BURST), provider
        assert rate <= parameters["ApiThrottlingRateLimit"]["Default"]
        assert burst <= parameters["ApiThrottlingBurstLimit"]["Default"]


def test_sam_gives_each_route_its_providers_throttle(transformed):
    """The stage SAM makes has one RouteSettings entry per route, keyed by route key, with its
    provider's values (all different here, so a crossed binding shows)."""
    assert stage_problems(transformed, DISTINCT) == []
    (stage,) = [r for r in transformed["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    assert len(stage["Properties"]["RouteSettings"]) == 8
    assert {str(v) for v in stage["Properties"]["DefaultRouteSettings"].values()} == {"50", "100"}


def test_reserved_concurrency_is_a_parameter_off_by_default(template):
    assert reserved_concurrency_problems(template) == []


def test_reserved_concurrency_set_is_on_that_function_only():
    raw = cfn_yaml.load_raw()
    assert deployed_concurrency(raw, {}) == {p: None for p in DISTINCT}, "0 (default): the property is absent"
    got = deployed_concurrency(raw, {f"{camel(p)}ReservedConcurrency": str(n) for p, n in RESERVED.items()})
    assert got == {p: str(RESERVED[p]) if p in RESERVED else None for p in DISTINCT}
    every = deployed_concurrency(raw, {f"{camel(p)}ReservedConcurrency": "7" for p in DISTINCT})
    assert every == {p: "7" for p in DISTINCT}


def test_sam_passes_reserved_concurrency_only_when_set(transformed):
    functions = {k: r["Properties"] for k, r in transformed["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    template = cfn_yaml.load()
    for provider, (logical_id, _) in receivers_by_provider(template).items():
        value = functions[logical_id].get("ReservedConcurrentExecutions")
        if provider in RESERVED:
            assert str(value) == str(RESERVED[provider]), logical_id
        else:
            assert value is None or value == {"Ref": "AWS::NoValue"}, (logical_id, value)


def test_the_checkov_skip_names_the_parameter(template):
    for provider, (logical_id, function) in receivers_by_provider(template).items():
        (skip,) = [s for s in function["Metadata"]["checkov"]["skip"] if s["id"] == "CKV_AWS_115"]
        assert "<Provider>ReservedConcurrency" in skip["comment"] and "parameter" in skip["comment"], logical_id


def test_flood_parameters_are_grouped(template):
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = {name for group in groups for name in group["Parameters"]}
    for provider in receivers_by_provider(template):
        names = {f"{camel(provider)}{s}" for s in ROUTE_THROTTLE} | {f"{camel(provider)}ReservedConcurrency"}
        assert names <= grouped, names - grouped


# ---- the checks above must be able to fail ------------------------------------------------------

def test_a_route_left_on_the_stage_default_is_reported():
    raw = copy.deepcopy(cfn_yaml.load_raw())
    del raw["Resources"]["AmaniFunction"]["Properties"]["Events"]["EndpointWebhook"]["Properties"]["RouteSettings"]
    problems = throttle_problems(cfn_yaml.expand(raw, {}))
    assert any("POST /webhooks/amani/{endpoint}" in line and "only the stage default" in line for line in problems), problems


def test_a_route_on_another_providers_throttle_is_reported():
    raw = copy.deepcopy(cfn_yaml.load_raw())
    events = raw["Resources"]["AlocityFunction"]["Properties"]["Events"]
    # YAML anchors made both events share one map: give this one its own, bound to Alocity Selfie's.
    events["Webhook"]["Properties"]["RouteSettings"] = {
        s: {"Ref": f"AlocitySelfie{s}"} for s in ROUTE_THROTTLE}
    problems = throttle_problems(cfn_yaml.expand(raw, {}))
    assert any(line.startswith("AlocityFunction.Webhook (POST /webhooks/alocity)") for line in problems), problems
    assert not any(line.startswith("AlocityFunction.EndpointWebhook") for line in problems), problems


def test_a_stage_missing_a_route_or_crossing_values_is_reported(transformed):
    broken = copy.deepcopy(transformed)
    (stage,) = [r for r in broken["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    settings = stage["Properties"]["RouteSettings"]
    del settings["POST /webhooks/faceio"]
    settings["POST /webhooks/alocity"] = settings["POST /webhooks/alocity-selfie"]
    settings["POST /webhooks/gone"] = settings["POST /webhooks/amani"]
    problems = stage_problems(broken, DISTINCT)
    assert any("stage default only" in line and "POST /webhooks/faceio" in line for line in problems), problems
    assert any(line.startswith("POST /webhooks/alocity:") for line in problems), problems
    assert any("for no route" in line and "POST /webhooks/gone" in line for line in problems), problems


def test_reserved_concurrency_always_on_or_missing_is_reported():
    raw = copy.deepcopy(cfn_yaml.load_raw())
    raw["Resources"]["FaceioFunction"]["Properties"]["ReservedConcurrentExecutions"] = {"Ref": "FaceioReservedConcurrency"}
    del raw["Resources"]["AmaniFunction"]["Properties"]["ReservedConcurrentExecutions"]
    problems = reserved_concurrency_problems(cfn_yaml.expand(raw, {}))
    assert any(line.startswith("FaceioFunction: ReservedConcurrentExecutions") for line in problems), problems
    assert any(line.startswith("AmaniFunction: ReservedConcurrentExecutions None") for line in problems), problems
    # Unconditional, the default 0 would reach Lambda, where 0 stops the function.
    assert deployed_concurrency(raw, {})["faceio"] == "0"
