"""What `sam local invoke/start-api --env-vars env.json` puts in each function's environment,
worked out by SAM CLI's own code (its template provider and its environment merge), without
Docker. Run with the SAM venv's python (scripts/sam_checks.sh installs .venv/sam):

    .venv/sam/bin/python tests/template/sam_local_env.py [--env-vars env.json] [--template template.yaml]

Prints one JSON object: logical id -> the variables the container would get. SAM also reads the
shell's environment for declared variables, so the caller should run this with a clean one
(tests/template/test_template_env_json.py does). Nothing here talks to AWS or Docker.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def language_extensions(config_dir: Path) -> bool:
    """Whether `sam local start-api` expands AWS::LanguageExtensions (Fn::ForEach) itself: its
    --language-extensions option as samconfig.toml's [default] sets it."""
    from samcli.lib.config.samconfig import SamConfig

    parameters = SamConfig(str(config_dir)).get_all(["local", "start-api"], "parameters", "default")
    return bool(parameters.get("language_extensions", False))


def resolved_environments(template: Path, env_vars: Path) -> dict[str, dict[str, str]]:
    from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    stacks, _ = SamLocalStackProvider.get_stacks(
        str(template), language_extensions_enabled=language_extensions(template.parent))
    provider = SamFunctionProvider(stacks)
    runner = LocalLambdaRunner(local_runtime=None, function_provider=provider, cwd=str(template.parent),
                               real_path=str(template.parent), env_vars_values=json.loads(env_vars.read_text()))
    # The same call `sam local` makes before it starts a function's container.
    return {function.name: runner._make_env_vars(function).resolve()  # noqa: SLF001 - pinned SAM CLI
            for function in provider.get_all()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=REPO / "template.yaml")
    parser.add_argument("--env-vars", type=Path, default=REPO / "env.json")
    args = parser.parse_args(argv)
    print(json.dumps(resolved_environments(args.template, args.env_vars), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
