"""Read template.yaml (CloudFormation / SAM YAML with short-form intrinsics) as plain Python data.

`!Ref X` becomes {"Ref": "X"}, `!GetAtt A.B` becomes {"Fn::GetAtt": ["A", "B"]}, `!Condition C`
becomes {"Condition": "C"} and every other `!Name v` becomes {"Fn::Name": v}, i.e. the long form
CloudFormation itself uses, so tests can compare against JSON-shaped data.

`load()` expands the template's Fn::ForEach loops (AWS::LanguageExtensions) for given parameter
values, as CloudFormation does before anything else; `resolve()` evaluates the intrinsic functions
the tests need (Ref, Sub, Join, Split, Select, If, conditions, the Rules functions) for those
values and a made-up stack (PSEUDO_PARAMETERS).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
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


FOR_EACH = "Fn::ForEach::"
# The stack the tests resolve the template in.
PSEUDO_PARAMETERS = {
    "AWS::StackName": "teststack",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}
NO_VALUE = object()  # what !Ref AWS::NoValue resolves to; dropped from lists and maps


def load_raw(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as written, Fn::ForEach loops included."""
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader


def load(path: Path = TEMPLATE_PATH, parameters: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The template as CloudFormation deploys it with these parameter values (the others at their
    defaults): the values become the parameters' defaults, and every Fn::ForEach is expanded,
    without what a loop makes under a condition that is false. Everything else stays as written,
    intrinsic functions included."""
    return expand(load_raw(path), parameters or {})


def expand(raw: dict[str, Any], parameters: Mapping[str, str]) -> dict[str, Any]:
    """load() of a template read with load_raw() (a copy; `raw` stays as it is)."""
    template = copy.deepcopy(raw)
    for name, value in parameters.items():
        template["Parameters"][name]["Default"] = value
    for section in ("Conditions", "Resources", "Outputs"):
        if section in template:
            template[section] = _expand_loops(template, template[section], section != "Conditions")
    return template


def _expand_loops(template: dict[str, Any], entries: dict[str, Any], conditional: bool) -> dict[str, Any]:
    """`entries` with each Fn::ForEach::<loop> replaced by what it makes: its body once per item of
    its collection, ${identifier} and {"Ref": identifier} replaced by the item and &{identifier} by
    the item without its non-alphanumeric characters. A made entry under a false condition is left
    out (`conditional`: Resources and Outputs). Two entries of one key are an error, as in
    CloudFormation."""
    out: dict[str, Any] = {}

    def add(key: str, value: Any) -> None:
        if key in out:
            raise ValueError(f"Fn::ForEach makes {key} twice")
        out[key] = value

    for key, value in entries.items():
        if not key.startswith(FOR_EACH):
            add(key, value)
            continue
        identifier, collection, body = value
        for item in _collection(template, collection):
            made = _expand_loops(template, _replace_identifier(body, identifier, item), conditional)
            for made_key, made_value in made.items():
                condition = made_value.get("Condition") if conditional and isinstance(made_value, dict) else None
                if condition is None or condition_holds(template, condition):
                    add(made_key, made_value)
    return out


def _collection(template: dict[str, Any], collection: Any) -> list[str]:
    if isinstance(collection, list):
        return [str(item) for item in collection]
    if isinstance(collection, dict) and set(collection) == {"Ref"}:
        value = parameter_value(template, collection["Ref"])
        if isinstance(value, list):
            return value
    raise ValueError(f"Fn::ForEach collection {collection!r} is neither a list nor a list parameter")


def _replace_identifier(value: Any, identifier: str, item: str) -> Any:
    if isinstance(value, str):
        alphanumeric = re.sub(r"[^A-Za-z0-9]", "", item)
        return value.replace(f"${{{identifier}}}", item).replace(f"&{{{identifier}}}", alphanumeric)
    if isinstance(value, list):
        return [_replace_identifier(v, identifier, item) for v in value]
    if isinstance(value, dict):
        if value == {"Ref": identifier}:
            return item
        return {_replace_identifier(k, identifier, item): _replace_identifier(v, identifier, item)
                for k, v in value.items()}
    return value


def is_list_type(parameter: dict[str, Any]) -> bool:
    return parameter["Type"] == "CommaDelimitedList" or parameter["Type"].startswith("List<")


def parameter_value(template: dict[str, Any], name: str) -> str | list[str]:
    """What !Ref <parameter> gives: its default (load() puts the given values there); a list
    parameter's as its items, split at the commas."""
    parameter = template["Parameters"][name]
    if "Default" not in parameter:
        raise KeyError(f"parameter {name} has no value")
    value = str(parameter["Default"])
    return value.split(",") if is_list_type(parameter) else value


def value_problems(name: str, parameter: dict[str, Any], value: str) -> list[str]:
    """Why CloudFormation would refuse `value` for the parameter (the constraints this template
    uses), empty if it accepts it. A list parameter's AllowedPattern and AllowedValues apply to each
    of its items."""
    items = value.split(",") if is_list_type(parameter) else [value]
    found = []
    for item in items:
        if "AllowedValues" in parameter and item not in [str(v) for v in parameter["AllowedValues"]]:
            found.append(f"{name}: {item!r} is not one of {parameter['AllowedValues']}")
        if "AllowedPattern" in parameter and not re.fullmatch(parameter["AllowedPattern"], item):
            found.append(f"{name}: {item!r} does not match {parameter['AllowedPattern']}")
    if len(value) < parameter.get("MinLength", 0):
        found.append(f"{name}: shorter than {parameter['MinLength']}")
    if parameter["Type"] == "Number":
        number = float(value)
        if not parameter.get("MinValue", float("-inf")) <= number <= parameter.get("MaxValue", float("inf")):
            found.append(f"{name}: {value} out of range")
    return found


def deploy_problems(template: dict[str, Any], parameters: Mapping[str, str]) -> list[str]:
    """Why CloudFormation would refuse to deploy the template (as written, loops unexpanded) with
    these parameter values: each value's constraints, then the Rules' assertions."""
    found = [problem for name, value in parameters.items()
             for problem in value_problems(name, template["Parameters"][name], value)]
    if found:
        return found
    values = copy.deepcopy(template)
    for name, value in parameters.items():
        values["Parameters"][name]["Default"] = value
    for rule_name, rule in values.get("Rules", {}).items():
        if "RuleCondition" in rule and not resolve(values, rule["RuleCondition"]):
            continue
        for assertion in rule["Assertions"]:
            if resolve(values, assertion["Assert"]) is not True:
                found.append(f"{rule_name}: {assertion.get('AssertDescription', assertion['Assert'])}")
    return found


def condition_holds(template: dict[str, Any], name: str) -> bool:
    return resolve(template, template["Conditions"][name]) is True


def _secret_arn(template: dict[str, Any], logical_id: str, pseudo: Mapping[str, str]) -> str:
    """What Ref gives for a secret: its ARN, i.e. its name, a hyphen and 6 characters of Secrets
    Manager's choosing (here derived from the name)."""
    name = resolve(template, template["Resources"][logical_id]["Properties"]["Name"], pseudo)
    suffix = hashlib.sha256(name.encode()).hexdigest()[:6]
    return (f"arn:{pseudo['AWS::Partition']}:secretsmanager:{pseudo['AWS::Region']}:"
            f"{pseudo['AWS::AccountId']}:secret:{name}-{suffix}")


def _ref(template: dict[str, Any], name: str, pseudo: Mapping[str, str]) -> Any:
    if name == "AWS::NoValue":
        return NO_VALUE
    if name in pseudo:
        return pseudo[name]
    if name in template.get("Parameters", {}):
        return parameter_value(template, name)
    resource = template["Resources"][name]
    if resource["Type"] == "AWS::SecretsManager::Secret":
        return _secret_arn(template, name, pseudo)
    return f"<{name}>"  # a name or id CloudFormation makes up


def _sub(template: dict[str, Any], args: Any, pseudo: Mapping[str, str]) -> str:
    text, variables = (args, {}) if isinstance(args, str) else args
    variables = {k: resolve(template, v, pseudo) for k, v in variables.items()}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return str(variables[name])
        if "." in name and not name.startswith("AWS::"):
            return "<" + name + ">"  # ${Resource.Attribute}
        return str(_ref(template, name, pseudo))

    return re.sub(r"\$\{([^}]+)\}", value, text)


def resolve(template: dict[str, Any], value: Any, pseudo: Mapping[str, str] = PSEUDO_PARAMETERS) -> Any:
    """`value` with its intrinsic functions evaluated for the parameters' defaults (load() puts the
    given values there) in the stack `pseudo` describes. Attributes (GetAtt, ${X.Attr}) and ids
    CloudFormation makes up come out as "<...>"; !Ref AWS::NoValue as NO_VALUE, left out of lists
    and maps."""
    def again(v: Any) -> Any:
        return resolve(template, v, pseudo)

    if isinstance(value, list):
        return [r for r in map(again, value) if r is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, args), = value.items()
        if key == "Ref":
            return _ref(template, args, pseudo)
        if key == "Condition":
            return condition_holds(template, args)
        if key == "Fn::Sub":
            return _sub(template, args, pseudo)
        if key == "Fn::Join":
            return args[0].join(str(v) for v in again(args[1]))
        if key == "Fn::Split":
            return again(args[1]).split(args[0])
        if key == "Fn::Select":
            return again(args[1])[int(again(args[0]))]
        if key == "Fn::If":
            return again(args[1] if condition_holds(template, args[0]) else args[2])
        if key == "Fn::GetAtt":
            return f"<{args[0]}.{args[1]}>"
        if key == "Fn::FindInMap":
            mapping, top, second = (again(a) for a in args)
            return template["Mappings"][mapping][top][second]
        if key == "Fn::Equals":
            left, right = again(args)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not again(args[0])
        if key == "Fn::And":
            return all(again(args))
        if key == "Fn::Or":
            return any(again(args))
        # The functions of Rules assertions.
        if key == "Fn::Contains":
            items, item = again(args)
            return item in items
        if key == "Fn::EachMemberEquals":
            items, item = again(args)
            return all(i == item for i in items)
        if key == "Fn::EachMemberIn":
            items, allowed = again(args)
            return all(i in allowed for i in items)
        if key.startswith("Fn::"):
            raise NotImplementedError(key)
    return {k: r for k, r in ((k, again(v)) for k, v in value.items()) if r is not NO_VALUE}


def iam_matches(pattern: str, arn: str) -> bool:
    """Whether an IAM Resource pattern matches an ARN (* any run of characters, ? one)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, arn) is not None


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
