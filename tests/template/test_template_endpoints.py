"""Several endpoints per provider (issue 14): the template as CloudFormation deploys it for given
endpoint lists, its Fn::ForEach loops expanded and its intrinsic functions evaluated for a made-up
stack (cfn_yaml.load, cfn_yaml.resolve).

For each configuration: one secret per endpoint named <stack>/webhooks/<provider>/<name> and none
without endpoints; each receiver's role may read exactly its default secret and its endpoints'
secrets (the drain's none); each function's environment names its endpoints and their settings;
the `{endpoint}` route and the outputs are there; the parameters accept the names the functions
accept and refuse the others. The checks are functions returning what is wrong, so that the last
tests can show each of them failing on a broken copy of the template.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import tomllib
from typing import Any

import pytest

import cfn_yaml
import test_template_iam as iam

STACK = cfn_yaml.PSEUDO_PARAMETERS["AWS::StackName"]
CAMEL = {"alocity-selfie": "AlocitySelfie", "alocity": "Alocity", "faceio": "Faceio", "amani": "Amani"}
# Per-endpoint settings: function variable -> the parameter it comes from (shared/src/endpoint.rs).
SETTINGS = {
    "alocity-selfie": {"TIMESTAMP_TOLERANCE_SECS_BY_ENDPOINT": "AlocitySelfieEndpointTolerances"},
    "alocity": {"TIMESTAMP_TOLERANCE_SECS_BY_ENDPOINT": "AlocityEndpointTolerances"},
    "faceio": {"FACEIO_APP_ID_BY_ENDPOINT": "FaceioEndpointAppIds"},
    "amani": {"AMANI_AUTH_MODE_BY_ENDPOINT": "AmaniEndpointAuthModes",
              "AMANI_TOKEN_HEADER_BY_ENDPOINT": "AmaniEndpointTokenHeaders"},
}
REQUIRED = {"FaceioAppId": "app-0"}
CONFIGS = {
    "none": {},
    "faceio-only": {"FaceioEndpointNames": "staging,eu-1", "FaceioEndpointAppIds": "staging:app-1,eu-1:app-2"},
    "every-provider": {
        "AlocitySelfieEndpointNames": "sandbox",
        "AlocityEndpointNames": "site-a,site-b,x",
        "FaceioEndpointNames": "staging",
        "AmaniEndpointNames": "sandbox,prod-2",
        "AlocitySelfieEndpointTolerances": "sandbox:600",
        "AlocityEndpointTolerances": "site-b:30",
        "FaceioEndpointAppIds": "staging:app-1",
        "AmaniEndpointAuthModes": "sandbox:token",
        "AmaniEndpointTokenHeaders": "sandbox:X-Token",
    },
}
SAM_PYTHON = cfn_yaml.REPO_ROOT / ".venv" / "sam" / "bin" / "python"


def names(config: dict[str, str], provider: str) -> list[str]:
    value = config.get(f"{CAMEL[provider]}EndpointNames", "")
    return value.split(",") if value else []


def deployed(config: dict[str, str], raw: dict[str, Any] | None = None) -> dict[str, Any]:
    return cfn_yaml.expand(raw or cfn_yaml.load_raw(), {**REQUIRED, **config})


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def by_provider(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """provider -> (logical id, function) of its receiver."""
    return {cfn_yaml.provider(f): (k, f) for k, f in cfn_yaml.receivers(template).items()}


def secret_arns(template: dict[str, Any]) -> dict[str, str]:
    """Name -> ARN of every secret the stack makes."""
    return {cfn_yaml.resolve(template, r["Properties"]["Name"]): cfn_yaml.resolve(template, {"Ref": k})
            for k, r in of_type(template, "AWS::SecretsManager::Secret").items()}


# ---- the checks ---------------------------------------------------------------------------------

def secret_problems(template: dict[str, Any], config: dict[str, str]) -> list[str]:
    """The stack's secrets are the four default ones and one per configured endpoint, made like
    its provider's default secret (a generated placeholder, the same checkov skips)."""
    found = []
    expected = {f"{STACK}/webhooks/{p}" for p in CAMEL} | {
        f"{STACK}/webhooks/{p}/{n}" for p in CAMEL for n in names(config, p)}
    made = set(secret_arns(template))
    if made != expected:
        found.append(f"secrets {sorted(made)} != {sorted(expected)}")
    for provider, camel in CAMEL.items():
        default = template["Resources"][f"{camel}Secret"]
        for name in names(config, provider):
            logical_id = f"{camel}EndpointSecret{name.replace('-', '')}"
            secret = template["Resources"].get(logical_id)
            if secret is None:
                found.append(f"no {logical_id} for endpoint {provider}/{name}")
                continue
            if secret.get("Metadata") != default.get("Metadata"):
                found.append(f"{logical_id}: Metadata (checkov skips) differs from {camel}Secret's")
            props = secret["Properties"]
            if props.get("GenerateSecretString") != default["Properties"]["GenerateSecretString"]:
                found.append(f"{logical_id}: not a generated placeholder like {camel}Secret")
            if name not in cfn_yaml.resolve(template, props.get("Description", "")):
                found.append(f"{logical_id}: its description does not name the endpoint")
    return found


def near_misses(provider: str, name: str) -> list[str]:
    """Secret names a grant for <stack>/webhooks/<provider>/<name> must not reach."""
    return [f"{STACK}/webhooks/{provider}/{name}x", f"{STACK}/webhooks/{provider}/{name}-x",
            f"{STACK}/webhooks/{provider}/{name}/x", f"{STACK}-other/webhooks/{provider}/{name}",
            f"{STACK}/webhooks/{provider}/x{name}", f"{STACK}/webhooks/{provider}-x/{name}"]


def grant_problems(template: dict[str, Any], config: dict[str, str]) -> list[str]:
    """Each receiver's role may GetSecretValue exactly on its default secret and its endpoints'
    secrets: of the stack's secrets (and of some made-up names next to them) its grants match
    those and no other. The drain may read no secret."""
    found = []
    arns = secret_arns(template)
    made_up = {n: cfn_yaml._secret_arn({"Resources": {"S": {"Properties": {"Name": n}}}}, "S", cfn_yaml.PSEUDO_PARAMETERS)
               for p in CAMEL for e in [*names(config, p), "staging", "default"] for n in near_misses(p, e)}
    candidates = {**arns, **{n: a for n, a in made_up.items() if n not in arns}}
    functions = cfn_yaml.rust_functions(template)
    for logical_id, function in functions.items():
        patterns = [cfn_yaml.resolve(template, r) for action, resources in iam.granted(template, function).items()
                    if action.startswith("secretsmanager:") for r in resources]
        reachable = {n for n, arn in candidates.items() if any(cfn_yaml.iam_matches(p, arn) for p in patterns)}
        provider = cfn_yaml.provider(function)
        expected = set() if provider is None else (
            {f"{STACK}/webhooks/{provider}"} | {f"{STACK}/webhooks/{provider}/{n}" for n in names(config, provider)})
        if reachable != expected:
            found.append(f"{logical_id} can read {sorted(reachable)}, expected {sorted(expected)}")
        actions = {a for a in iam.granted(template, function) if a.startswith("secretsmanager:")}
        if provider and actions != {"secretsmanager:GetSecretValue"}:
            found.append(f"{logical_id}: secret actions {sorted(actions)}")
    return found


def environment_problems(template: dict[str, Any], config: dict[str, str]) -> list[str]:
    """Each receiver gets its endpoint names, the prefix their secrets' names follow (so that
    <prefix><name> is the secret made for it) and its per-endpoint settings."""
    found = []
    made = set(secret_arns(template))
    for provider, (logical_id, function) in by_provider(template).items():
        env = {k: cfn_yaml.resolve(template, v) for k, v in cfn_yaml.function_environment(template, function).items()}
        if env.get("WEBHOOK_ENDPOINTS") != ",".join(names(config, provider)):
            found.append(f"{logical_id}: WEBHOOK_ENDPOINTS={env.get('WEBHOOK_ENDPOINTS')!r}")
        prefix = env.get("WEBHOOK_ENDPOINT_SECRET_PREFIX")
        if prefix != f"{STACK}/webhooks/{provider}/":
            found.append(f"{logical_id}: WEBHOOK_ENDPOINT_SECRET_PREFIX={prefix!r}")
        found += [f"{logical_id}: no secret {prefix}{n}" for n in names(config, provider) if f"{prefix}{n}" not in made]
        for variable, parameter in SETTINGS[provider].items():
            if env.get(variable) != config.get(parameter, ""):
                found.append(f"{logical_id}: {variable}={env.get(variable)!r}, expected {parameter}'s value")
    return found


def route_problems(template: dict[str, Any]) -> list[str]:
    """Each receiver has POST /webhooks/<provider> (the endpoint default) and POST
    /webhooks/<provider>/{endpoint} on the one HTTP API, payload 2.0."""
    found = []
    for provider, (logical_id, function) in by_provider(template).items():
        routes = sorted(e["Properties"]["Path"] for e in function["Properties"]["Events"].values() if e["Type"] == "HttpApi")
        if routes != [f"/webhooks/{provider}", f"/webhooks/{provider}/{{endpoint}}"]:
            found.append(f"{logical_id}: routes {routes}")
        for event in function["Properties"]["Events"].values():
            props = event["Properties"]
            if (props["Method"], props["PayloadFormatVersion"], props["ApiId"]) != ("POST", "2.0", {"Ref": "WebhookApi"}):
                found.append(f"{logical_id}: {props}")
    return found


def output_problems(template: dict[str, Any], config: dict[str, str]) -> list[str]:
    """<Camel>Endpoints: the names, comma-separated, only when there are any (an output without
    them means only default); <Camel>WebhookUrl and <Camel>SecretArn as before."""
    found = []
    for provider, camel in CAMEL.items():
        output = template["Outputs"].get(f"{camel}Endpoints")
        if output is None:
            found.append(f"no output {camel}Endpoints")
            continue
        shown = cfn_yaml.condition_holds(template, output["Condition"]) if "Condition" in output else True
        value = cfn_yaml.resolve(template, output["Value"]) if shown else None
        expected = ",".join(names(config, provider)) or None
        if value != expected:
            found.append(f"{camel}Endpoints = {value!r}, expected {expected!r}")
        url = cfn_yaml.resolve(template, template["Outputs"][f"{camel}WebhookUrl"]["Value"])
        if not url.endswith(f"/webhooks/{provider}"):
            found.append(f"{camel}WebhookUrl = {url}")
        if template["Outputs"][f"{camel}SecretArn"]["Value"] != {"Ref": f"{camel}Secret"}:
            found.append(f"{camel}SecretArn changed")
    return found


# ---- the template as deployed -------------------------------------------------------------------

@pytest.mark.parametrize("config", CONFIGS, ids=list(CONFIGS))
def test_one_secret_per_endpoint(config):
    assert secret_problems(deployed(CONFIGS[config]), CONFIGS[config]) == []


@pytest.mark.parametrize("config", CONFIGS, ids=list(CONFIGS))
def test_each_role_reads_exactly_its_own_secrets(config):
    assert grant_problems(deployed(CONFIGS[config]), CONFIGS[config]) == []


@pytest.mark.parametrize("config", CONFIGS, ids=list(CONFIGS))
def test_roles_grant_only_what_the_code_calls(config):
    """test_template_iam's least-privilege checks, on the template with these endpoints."""
    template = deployed(CONFIGS[config])
    assert iam.policies_outside_the_function_roles(template) == {}
    for logical_id, function in cfn_yaml.rust_functions(template).items():
        assert iam.problems(template, logical_id, iam.expected_calls(function)) == [], logical_id


@pytest.mark.parametrize("config", CONFIGS, ids=list(CONFIGS))
def test_functions_are_told_their_endpoints(config):
    assert environment_problems(deployed(CONFIGS[config]), CONFIGS[config]) == []


def test_an_endpoint_route_per_function():
    assert route_problems(deployed({})) == []


@pytest.mark.parametrize("config", CONFIGS, ids=list(CONFIGS))
def test_outputs(config):
    assert output_problems(deployed(CONFIGS[config]), CONFIGS[config]) == []


def test_no_endpoint_adds_nothing():
    """With the defaults the stack is what it was before endpoints: no loop makes anything."""
    raw = cfn_yaml.load_raw()
    loops = [k for k in raw["Resources"] if k.startswith(cfn_yaml.FOR_EACH)]
    assert len(loops) == 4
    assert set(deployed({})["Resources"]) == {k for k in raw["Resources"] if k not in loops}


# ---- the parameters -----------------------------------------------------------------------------

GOOD_NAMES = ["", "staging", "staging,eu-1", "a", "0", "a--b", "x" * 32, "sandbox,prod,eu-1,us-2",
              "defaults", "alocity"]
BAD_NAMES = {
    "default": "the endpoint /webhooks/<provider> already is default",
    "faceio": "an endpoint named after its provider",
    "staging,default": "default in a list",
    "Staging": "upper case",
    "staging, eu": "a space",
    " staging": "a space",
    "-a": "a leading hyphen",
    "a-": "a trailing hyphen",
    "a_b": "an underscore",
    "x" * 33: "33 characters",
    "staging,": "an empty name (trailing comma)",
    "a,,b": "an empty name",
}


@pytest.mark.parametrize("value", GOOD_NAMES)
def test_endpoint_names_the_functions_accept_are_accepted(value):
    assert cfn_yaml.deploy_problems(cfn_yaml.load_raw(), {"FaceioEndpointNames": value}) == []


@pytest.mark.parametrize("value", BAD_NAMES, ids=list(BAD_NAMES.values()))
def test_endpoint_names_the_functions_refuse_are_refused(value):
    assert cfn_yaml.deploy_problems(cfn_yaml.load_raw(), {"FaceioEndpointNames": value}) != []


@pytest.mark.parametrize("provider", CAMEL)
def test_every_provider_refuses_default_and_its_own_name(provider):
    raw = cfn_yaml.load_raw()
    parameter = f"{CAMEL[provider]}EndpointNames"
    for value in ("default", provider, "sandbox,"):
        assert cfn_yaml.deploy_problems(raw, {parameter: value}) != [], (parameter, value)
    assert cfn_yaml.deploy_problems(raw, {parameter: "sandbox,eu-1"}) == []


def test_two_empty_names_fail_when_the_loops_are_expanded():
    """"," passes the parameter checks (the rule cannot count empty names), but its two empty
    names make one logical id twice, which the transform refuses."""
    assert cfn_yaml.deploy_problems(cfn_yaml.load_raw(), {"FaceioEndpointNames": ","}) == []
    with pytest.raises(ValueError, match="twice"):
        deployed({"FaceioEndpointNames": ","})


def test_names_that_differ_only_in_hyphens_cannot_be_used_together():
    """Logical ids are the names without hyphens (&{Endpoint}): eu-1 and eu1 collide."""
    with pytest.raises(ValueError, match="FaceioEndpointSecreteu1 twice"):
        deployed({"FaceioEndpointNames": "eu-1,eu1"})


SETTINGS_VALUES = {
    "FaceioEndpointAppIds": (["", "staging:app-1", "staging:a.b_c-D,eu-1:x"],
                             ["staging", "staging:", "default:app", "faceio:app", "staging:app 1", "staging:a,", "Staging:a"]),
    "AmaniEndpointAuthModes": (["", "sandbox:token", "a:signature,b:token"],
                               ["sandbox:hmac", "default:token", "amani:token", "sandbox:Token"]),
    "AmaniEndpointTokenHeaders": (["", "sandbox:X-Token", "a:Webhook-Token,b:x"],
                                  ["sandbox:X_Token", "sandbox:", "default:X"]),
    "AlocityEndpointTolerances": (["", "site-a:1", "a:60,b:3600", "a:999,b:1000,c:3599"],
                                  ["a:0", "a:3601", "a:01", "a:-5", "a:", "default:60", "alocity:60"]),
    "AlocitySelfieEndpointTolerances": (["", "sandbox:300"], ["sandbox:4000", "alocity-selfie:60"]),
}


@pytest.mark.parametrize("parameter", SETTINGS_VALUES)
def test_settings_lists(parameter):
    raw = cfn_yaml.load_raw()
    good, bad = SETTINGS_VALUES[parameter]
    for value in good:
        assert cfn_yaml.deploy_problems(raw, {parameter: value}) == [], value
    for value in bad:
        assert cfn_yaml.deploy_problems(raw, {parameter: value}) != [], value


def test_endpoint_parameters_are_grouped_and_default_to_none():
    raw = cfn_yaml.load_raw()
    endpoint_parameters = {f"{c}EndpointNames" for c in CAMEL.values()} | {
        p for settings in SETTINGS.values() for p in settings.values()}
    groups = {g["Label"]["default"]: g["Parameters"] for g in raw["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]}
    assert set(groups["Endpoints"]) == endpoint_parameters
    for name in endpoint_parameters:
        assert raw["Parameters"][name]["Default"] == "", name


# ---- SAM CLI reads the template the same way ----------------------------------------------------

def test_samconfig_turns_on_language_extensions_for_every_environment():
    """Without it `sam build` and `sam local` fail on the loops (SAM CLI >= 1.160 expands
    AWS::LanguageExtensions only when asked to)."""
    raw = cfn_yaml.load_raw()
    assert raw["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]
    config = tomllib.loads((cfn_yaml.REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    for env, sections in config.items():
        if isinstance(sections, dict):
            assert sections["global"]["parameters"].get("language_extensions") is True, env


def test_sam_cli_expands_the_loops_as_these_tests_do(tmp_path):
    """SAM CLI's own AWS::LanguageExtensions code (tests/template/sam_expand.py) makes the same
    resources, and the same secret names and grants, as cfn_yaml.load() for the same values."""
    if not SAM_PYTHON.exists():
        pytest.skip(f"{SAM_PYTHON} missing: run scripts/sam_checks.sh tools")
    config = {**REQUIRED, **CONFIGS["every-provider"]}
    pseudo = [f"{k}={v}" for k, v in cfn_yaml.PSEUDO_PARAMETERS.items()]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "SAM_CLI_TELEMETRY": "0"}
    done = subprocess.run([str(SAM_PYTHON), str(cfn_yaml.REPO_ROOT / "tests" / "template" / "sam_expand.py"),
                           *[f"{k}={v}" for k, v in config.items()], *pseudo],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    theirs = json.loads(done.stdout)["Resources"]
    ours = deployed(CONFIGS["every-provider"])
    assert set(theirs) == set(ours["Resources"])
    for logical_id, resource in ours["Resources"].items():
        if resource["Type"] == "AWS::SecretsManager::Secret":
            assert theirs[logical_id]["Properties"]["Name"] == cfn_yaml.resolve(ours, resource["Properties"]["Name"])
        if resource["Type"] == "AWS::IAM::Policy":
            statement = resource["Properties"]["PolicyDocument"]["Statement"][0]
            assert (theirs[logical_id]["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
                    == cfn_yaml.resolve(ours, statement["Resource"]))
            assert theirs[logical_id]["Properties"]["Roles"] == resource["Properties"]["Roles"]


# ---- the checks above must be able to fail ------------------------------------------------------

def loop_body(raw: dict[str, Any], camel: str) -> dict[str, Any]:
    return raw["Resources"][f"{cfn_yaml.FOR_EACH}{camel}EndpointSecrets"][2]


def test_a_loop_without_its_condition_is_reported():
    """Without the condition the empty default makes a secret named <stack>/webhooks/faceio/."""
    raw = copy.deepcopy(cfn_yaml.load_raw())
    for resource in loop_body(raw, "Faceio").values():
        del resource["Condition"]
    problems = secret_problems(deployed({}, raw), {})
    assert any(f"{STACK}/webhooks/faceio/" in line for line in problems), problems


def test_a_grant_wider_than_the_endpoints_secret_is_reported():
    raw = copy.deepcopy(cfn_yaml.load_raw())
    statement = loop_body(raw, "Faceio")["FaceioEndpointSecretGrant&{Endpoint}"]["Properties"]["PolicyDocument"]["Statement"][0]
    statement["Resource"]["Fn::Sub"] = statement["Resource"]["Fn::Sub"].replace("${Endpoint}-??????", "${Endpoint}*")
    config = CONFIGS["faceio-only"]
    problems = grant_problems(deployed(config, raw), config)
    assert any("FaceioFunction can read" in line and "staging-x" in line for line in problems), problems


def test_a_grant_to_another_providers_role_is_reported():
    raw = copy.deepcopy(cfn_yaml.load_raw())
    loop_body(raw, "Faceio")["FaceioEndpointSecretGrant&{Endpoint}"]["Properties"]["Roles"] = [{"Ref": "AmaniRole"}]
    config = CONFIGS["faceio-only"]
    problems = grant_problems(deployed(config, raw), config)
    assert any(line.startswith("FaceioFunction can read") for line in problems), problems
    assert any(line.startswith("AmaniFunction can read") for line in problems), problems


def test_a_function_told_the_wrong_list_is_reported():
    raw = copy.deepcopy(cfn_yaml.load_raw())
    env = raw["Resources"]["AmaniFunction"]["Properties"]["Environment"]["Variables"]
    env["WEBHOOK_ENDPOINTS"] = {"Fn::Join": [",", {"Ref": "FaceioEndpointNames"}]}
    env["AMANI_AUTH_MODE_BY_ENDPOINT"] = {"Ref": "AmaniEndpointTokenHeaders"}
    config = CONFIGS["every-provider"]
    problems = environment_problems(deployed(config, raw), config)
    assert any("AmaniFunction: WEBHOOK_ENDPOINTS" in line for line in problems), problems
    assert any("AmaniFunction: AMANI_AUTH_MODE_BY_ENDPOINT" in line for line in problems), problems


def test_a_missing_route_or_output_is_reported():
    raw = copy.deepcopy(cfn_yaml.load_raw())
    del raw["Resources"]["AlocityFunction"]["Properties"]["Events"]["EndpointWebhook"]
    del raw["Outputs"]["AmaniEndpoints"]
    assert any("AlocityFunction: routes" in line for line in route_problems(deployed({}, raw)))
    assert "no output AmaniEndpoints" in output_problems(deployed({}, raw), {})


def test_a_pattern_that_lets_default_through_is_reported():
    raw = copy.deepcopy(cfn_yaml.load_raw())
    raw["Parameters"]["FaceioEndpointNames"]["AllowedPattern"] = "^([a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?)?$"
    assert cfn_yaml.deploy_problems(raw, {"FaceioEndpointNames": "default"}) == []
    raw["Rules"] = {}
    assert cfn_yaml.deploy_problems(raw, {"FaceioEndpointNames": "staging,"}) == []
