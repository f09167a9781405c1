"""Read template.yaml (CloudFormation / SAM YAML with short-form intrinsics) as plain Python data.

`!Ref X` becomes {"Ref": "X"}, `!GetAtt A.B` becomes {"Fn::GetAtt": ["A", "B"]}, `!Condition C`
becomes {"Condition": "C"} and every other `!Name v` becomes {"Fn::Name": v}, i.e. the long form
CloudFormation itself uses, so tests can compare against JSON-shaped data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form intrinsic function tags."""


def _construct_intrinsic(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def ref_target(value: Any) -> str | None:
    """Logical id named by {"Ref": id} or {"Fn::GetAtt": [id, attr]}, else None."""
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


def rust_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id -> resource for every AWS::Serverless::Function built with cargo lambda."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        and resource.get("Metadata", {}).get("BuildMethod") == "rust-cargolambda"
    }


def alternatives(value: Any) -> list[Any]:
    """The values `value` can take: both branches of an {"Fn::If": [...]} (recursively), without
    AWS::NoValue; otherwise just [value]."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, when_true, when_false = value["Fn::If"]
        return alternatives(when_true) + alternatives(when_false)
    return [] if value == {"Ref": "AWS::NoValue"} else [value]


def event_types(function: dict[str, Any]) -> set[str]:
    """Types of the function's SAM events (HttpApi, SQS, ...)."""
    return {event["Type"] for event in function["Properties"].get("Events", {}).values()}


def receivers(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Rust functions behind the HTTP API (one per provider)."""
    return {k: f for k, f in rust_functions(template).items() if "HttpApi" in event_types(f)}


def provider(function: dict[str, Any]) -> str | None:
    """The provider a receiver serves: its binary's name without "-webhook" (the prefix its
    bodies and quarantined deliveries are written under); None for any other function."""
    binary = function["Metadata"]["BuildProperties"]["Binary"]
    return binary.removesuffix("-webhook") if binary.endswith("-webhook") else None


def sqs_event_queues(function: dict[str, Any]) -> list[str]:
    """Logical ids of the queues the function has an SQS event source on."""
    return [ref_target(event["Properties"]["Queue"])
            for event in function["Properties"].get("Events", {}).values() if event["Type"] == "SQS"]


def function_timeout(template: dict[str, Any], function: dict[str, Any]) -> Any:
    """The function's Timeout, its own or the Globals'."""
    return function["Properties"].get("Timeout", template.get("Globals", {}).get("Function", {}).get("Timeout"))


def function_environment(template: dict[str, Any], function: dict[str, Any]) -> dict[str, Any]:
    """The function's environment variables with the Globals merged in (SAM's merge rule)."""
    merged: dict[str, Any] = {}
    globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    merged.update(globals_env.get("Variables", {}))
    merged.update(function["Properties"].get("Environment", {}).get("Variables", {}))
    return merged


def dashboards(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id -> resource for every AWS::CloudWatch::Dashboard."""
    return {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Dashboard"}


def dashboard_body(dashboard: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A dashboard's body as JSON, and the variables of the !Sub that builds it (name -> value).
    The ${...} placeholders stay in the JSON's strings, as written."""
    body = dashboard["Properties"]["DashboardBody"]
    if isinstance(body, dict) and "Fn::Sub" in body:
        sub = body["Fn::Sub"]
        text, variables = (sub, {}) if isinstance(sub, str) else sub
    else:
        text, variables = body, {}
    return json.loads(text), variables


if __name__ == "__main__":
    # Used by scripts/sam_checks.sh: print the logical ids of the Rust functions, one a line.
    for name in rust_functions(load()):
        print(name)
