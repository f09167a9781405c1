"""template.yaml with its Fn::ForEach loops expanded by SAM CLI's own AWS::LanguageExtensions
code (what `sam build` and `sam local` do with language_extensions = true), for the parameter
values given. Run with the SAM venv's python (scripts/sam_checks.sh installs .venv/sam):

    .venv/sam/bin/python tests/template/sam_expand.py [--samconfig] [--endpoints NAMES]
        [--loop-ids FILE] [--transform] [NAME=VALUE ...]

--samconfig starts from samconfig.toml's [default] parameter_overrides, --endpoints gives every
<Provider>EndpointNames parameter the value NAMES, and NAME=VALUE sets one parameter (the last
one given wins). Prints the expanded template as JSON; --loop-ids writes the logical ids the loops
made, one a line. scripts/sam_checks.sh runs checkov on it (checkov skips the loops of the
template as written); tests/template/test_template_endpoints.py compares it with cfn_yaml.load().
--transform prints instead what SAM's own transform (samtranslator, as `sam validate` and
CloudFormation run it) makes of the expanded template: the CloudFormation resources SAM deploys,
e.g. the HTTP API's stage with its route settings (tests/template/test_template_floods.py).
Nothing here talks to AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FOR_EACH = "Fn::ForEach::"


def expanded(raw: dict, parameters: dict[str, str]) -> dict:
    from samcli.lib.cfn_language_extensions.sam_integration import expand_language_extensions

    return expand_language_extensions(raw, parameters, enabled=True).expanded_template


def transformed(template: dict, parameters: dict[str, str]) -> dict:
    """What SAM's transform makes of an expanded template. Local code only: CodeUri is replaced by
    a made-up S3 location (as `sam validate` does), and the template uses no SAM policy templates
    or managed policy names, so the managed-policy list (an IAM call) is never loaded."""
    from samtranslator.translator.transform import transform

    # samtranslator reads the Region from a boto3 session (no call): the stack's, else any.
    os.environ.setdefault("AWS_DEFAULT_REGION", parameters.get("AWS::Region", "us-east-1"))
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    template = json.loads(json.dumps(template, default=str))
    transforms = template.get("Transform", [])
    template["Transform"] = [t for t in ([transforms] if isinstance(transforms, str) else transforms)
                             if t != "AWS::LanguageExtensions"]
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/key"

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            raise RuntimeError("the template names a managed policy: that would need IAM")

    return transform(template, dict(parameters), NoManagedPolicies())


def samconfig_overrides(path: Path) -> dict[str, str]:
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    overrides = config["default"]["global"]["parameters"].get("parameter_overrides", [])
    return dict(item.split("=", 1) for item in overrides)


def main(argv: list[str] | None = None) -> int:
    from samcli.yamlhelper import yaml_parse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=REPO / "template.yaml")
    parser.add_argument("--samconfig", action="store_true", help="start from samconfig.toml's [default] values")
    parser.add_argument("--endpoints", metavar="NAMES", help="the value of every <Provider>EndpointNames")
    parser.add_argument("--loop-ids", type=Path, metavar="FILE", help="write the logical ids the loops made")
    parser.add_argument("--transform", action="store_true", help="print what SAM's transform makes of it")
    parser.add_argument("parameters", nargs="*", metavar="NAME=VALUE")
    args = parser.parse_args(argv)

    raw = yaml_parse(args.template.read_text(encoding="utf-8"))
    parameters = samconfig_overrides(args.template.parent / "samconfig.toml") if args.samconfig else {}
    if args.endpoints is not None:
        parameters.update({name: args.endpoints for name in raw["Parameters"] if name.endswith("EndpointNames")})
    parameters.update(item.split("=", 1) for item in args.parameters)
    template = expanded(raw, parameters)
    if args.loop_ids:
        written = {key for key in raw["Resources"] if not key.startswith(FOR_EACH)}
        args.loop_ids.write_text("".join(f"{key}\n" for key in template["Resources"] if key not in written))
    if args.transform:
        template = transformed(template, parameters)
    print(json.dumps(template, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
