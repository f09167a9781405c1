"""env.json, the file for `sam local invoke/start-api --env-vars env.json`, gives every function a
concrete value for every variable the template gives it, points all of them at an emulator a
Docker container can reach, and names what scripts/local_aws.py creates (issue 12, section 2).
It configures the endpoint default only: the endpoint lists and per-endpoint settings are empty,
as the template's defaults are.

`sam local` resolves a `!Ref` to a resource as the resource's logical id (`EVENTS_TABLE` would be
"EventsTable"), and only sets the variables a function declares in template.yaml, so every
declared variable needs its value here. The last test asks SAM CLI's own code what a container
would get (tests/template/sam_local_env.py), which is as far as this can be checked without
Docker.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import re
import subprocess
from typing import Any
from urllib.parse import urlparse

import pytest

import cfn_yaml

ENV_JSON = cfn_yaml.REPO_ROOT / "env.json"
DEV_SH = cfn_yaml.REPO_ROOT / "scripts" / "dev.sh"
LOCAL_AWS = cfn_yaml.REPO_ROOT / "scripts" / "local_aws.py"
SAM_PYTHON = cfn_yaml.REPO_ROOT / ".venv" / "sam" / "bin" / "python"
# Docker Desktop's name for the host; on Linux `--add-host host.docker.internal:host-gateway`.
DOCKER_HOST_NAME = "host.docker.internal"
# moto's default account, in the queue URLs it hands out.
MOTO_ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def env_json() -> dict[str, dict[str, Any]]:
    return json.loads(ENV_JSON.read_text())


@pytest.fixture(scope="module")
def local_aws():
    spec = importlib.util.spec_from_file_location("local_aws", LOCAL_AWS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def effective(env_json: dict[str, dict[str, Any]], logical_id: str, declared: dict[str, Any]) -> dict[str, Any]:
    """What SAM sets from env.json for one function: "Parameters" for every function, then the
    function's own entry, and only for the variables the function declares."""
    overrides = {**env_json.get("Parameters", {}), **env_json.get(logical_id, {})}
    return {name: overrides[name] for name in declared if name in overrides}


def dev_moto_port() -> int:
    match = re.search(r'^MOTO_PORT="\$\{MOTO_PORT:-(\d+)\}"', DEV_SH.read_text(), re.MULTILINE)
    assert match, "scripts/dev.sh no longer sets MOTO_PORT's default"
    return int(match.group(1))


def reachable_from_a_container(url: str) -> bool:
    """The host is Docker's name for the host, or a private address (the docker bridge), never
    loopback (inside a container that is the container itself) nor a public AWS endpoint."""
    host = urlparse(url).hostname or ""
    if host == DOCKER_HOST_NAME:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private and not address.is_loopback and not address.is_link_local


def test_env_json_names_only_the_functions_and_parameters(template, env_json):
    functions = set(cfn_yaml.rust_functions(template))
    assert set(env_json) - {"Parameters"} == functions, "one entry per function (its logical id), no other"
    for key, values in env_json.items():
        assert isinstance(values, dict), key
        assert all(isinstance(value, str) for value in values.values()), f"{key}: every value is a string"


@pytest.mark.parametrize("logical_id", sorted(cfn_yaml.rust_functions(cfn_yaml.load())))
def test_every_variable_of_every_function_has_a_concrete_value(template, env_json, logical_id):
    declared = cfn_yaml.function_environment(template, template["Resources"][logical_id])
    values = effective(env_json, logical_id, declared)
    assert set(values) == set(declared), f"{logical_id}: no value for {sorted(set(declared) - set(values))}"
    names = set(template["Resources"]) | set(template["Parameters"])
    for name, value in values.items():
        if not value:
            # Only where the template's own value is empty by default: the endpoint list and the
            # per-endpoint settings, with no endpoint besides default.
            assert cfn_yaml.resolve(template, declared[name]) == "", f"{logical_id} {name}: empty"
            continue
        assert value.strip(), f"{logical_id} {name}: blank"
        assert value not in names, f"{logical_id} {name}: {value!r} is a logical id, not a value"
        assert not re.search(r"\$\{|!Ref|Fn::|arn:aws", value), f"{logical_id} {name}: {value!r} is not resolved"


@pytest.mark.parametrize("logical_id", sorted(cfn_yaml.rust_functions(cfn_yaml.load())))
def test_parameter_values_are_ones_the_template_accepts(template, env_json, logical_id):
    declared = cfn_yaml.function_environment(template, template["Resources"][logical_id])
    values = effective(env_json, logical_id, declared)
    for name, source in declared.items():
        parameter = template["Parameters"].get(cfn_yaml.ref_target(source) or "")
        if parameter is None:
            continue
        value = values[name]
        if "AllowedValues" in parameter:
            assert value in [str(v) for v in parameter["AllowedValues"]], (logical_id, name, value)
        if "AllowedPattern" in parameter:
            assert re.fullmatch(parameter["AllowedPattern"], value), (logical_id, name, value)
        if parameter["Type"] == "Number":
            assert parameter.get("MinValue", float("-inf")) <= int(value) <= parameter.get("MaxValue", float("inf"))


def test_every_endpoint_is_one_a_container_can_reach(template, env_json):
    urls = {(key, name): value for key, values in env_json.items() for name, value in values.items()
            if re.match(r"^[a-z]+://", value)}
    assert urls, "env.json names no endpoint"
    for (key, name), url in urls.items():
        assert reachable_from_a_container(url), f"{key} {name}: {url} is not reachable from a container"
        assert urlparse(url).port == dev_moto_port(), f"{key} {name}: not the port `make dev` starts moto on"
    for logical_id, function in cfn_yaml.rust_functions(template).items():
        declared = cfn_yaml.function_environment(template, function)
        assert "AWS_ENDPOINT_URL" in declared, f"{logical_id} must declare AWS_ENDPOINT_URL for env.json to set it"
        assert effective(env_json, logical_id, declared)["AWS_ENDPOINT_URL"], logical_id


def test_make_dev_can_listen_where_containers_reach_it():
    # `DEV_BIND=0.0.0.0 make dev`: moto on every interface, the docker bridge included.
    text = DEV_SH.read_text()
    assert 'DEV_BIND="${DEV_BIND:-127.0.0.1}"' in text
    assert '-H "${DEV_BIND}" -p "${MOTO_PORT}"' in text


def test_names_are_the_local_stacks(template, env_json, local_aws):
    shared = env_json["Parameters"]
    assert shared["EVENTS_TABLE"] == local_aws.DEFAULT_TABLE
    assert shared["PAYLOAD_BUCKET"] == local_aws.DEFAULT_BUCKET
    queue = urlparse(shared["FALLBACK_QUEUE_URL"])
    assert queue.path == f"/{MOTO_ACCOUNT}/{local_aws.DEFAULT_QUEUE}"
    assert queue.port == urlparse(shared["AWS_ENDPOINT_URL"]).port


def test_each_function_reads_its_providers_local_secret(template, env_json, local_aws):
    secrets = local_aws.dev_secrets()  # the registry's secret ids (webhooks providers --json)
    for logical_id, function in cfn_yaml.receivers(template).items():
        secret_id = env_json[logical_id]["WEBHOOK_SECRET_ID"]
        assert secret_id in secrets, f"{logical_id}: {secret_id} is not a secret the local stack creates"
        assert secret_id.endswith("/" + cfn_yaml.provider(function)), (logical_id, secret_id)


def test_provider_settings_are_the_local_stacks(template, env_json):
    import sys

    sys.path.insert(0, str(cfn_yaml.REPO_ROOT / "scripts"))
    import registry

    for provider in registry.providers():
        logical_id = next(k for k, f in cfn_yaml.receivers(template).items()
                          if f["Metadata"]["BuildProperties"]["Binary"] == provider["binary"])
        for name, value in provider["dev_env"].items():
            assert env_json[logical_id].get(name) == value, (logical_id, name)


def test_sam_cli_gives_each_container_these_values(template, env_json, tmp_path):
    """SAM CLI's own resolution (template provider, Globals, `!Ref AWS::NoValue`, env.json's
    "Parameters" and per-function entries), run with a clean environment and dummy credentials,
    as the README's walkthrough runs `sam local`."""
    if not SAM_PYTHON.exists():
        pytest.skip(f"{SAM_PYTHON} missing: run scripts/sam_checks.sh tools")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "SAM_CLI_TELEMETRY": "0",
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    done = subprocess.run([str(SAM_PYTHON), str(cfn_yaml.REPO_ROOT / "tests" / "template" / "sam_local_env.py")],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    resolved = json.loads(done.stdout)
    assert set(resolved) == set(cfn_yaml.rust_functions(template))
    for logical_id, function in cfn_yaml.rust_functions(template).items():
        declared = cfn_yaml.function_environment(template, function)
        got = resolved[logical_id]
        assert {name: got.get(name) for name in declared} == effective(env_json, logical_id, declared), logical_id
        assert got["AWS_ACCESS_KEY_ID"] == "test" and "AWS_SESSION_TOKEN" not in got, logical_id
