#!/usr/bin/env python3
"""The providers the tools know, read from the registry: `webhooks providers --json`, whose source
is cli/src/registry.rs and each provider crate's catalogue. Nothing else in scripts/, the Makefile
or the end-to-end suite lists providers.

As a module: `providers()`, `binaries()`, `dev_env()`, `dev_secrets()`.
As a script (for the Makefile and shell scripts), one item per line:

    python3 scripts/registry.py binaries      # the function binaries (= their cargo packages)
    python3 scripts/registry.py dev-env       # NAME=VALUE settings of the local stack
    python3 scripts/registry.py dev-endpoint-env  # NAME=VALUE of its second endpoint (make dev)
    python3 scripts/registry.py settings      # every provider setting's variable NAME
    python3 scripts/registry.py json          # the registry, one JSON object per provider

The CLI is built on first use (`cargo run`), or WEBHOOKS_CLI names a `webhooks` binary already
built (e.g. target/debug/webhooks) to run instead; its output is cached for the life of the process.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COMMAND = ["cargo", "run", "--quiet", "-p", "webhooks-cli", "--bin", "webhooks", "--", "providers", "--json"]


@functools.cache
def providers() -> tuple[dict[str, Any], ...]:
    """Every provider, in the registry's order."""
    built = os.environ.get("WEBHOOKS_CLI")
    command = [built, "providers", "--json"] if built else COMMAND
    done = subprocess.run(command, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"registry: {' '.join(command)} failed (rc={done.returncode}):\n{done.stderr[-4000:]}")
    listed = tuple(json.loads(line) for line in done.stdout.splitlines() if line.strip())
    if not listed:
        raise SystemExit("registry: webhooks providers --json listed no provider")
    return listed


def by_name(name: str) -> dict[str, Any]:
    """The provider called `name`."""
    for provider in providers():
        if provider["name"] == name:
            return provider
    raise KeyError(f"no provider {name!r} in the registry")


def binaries() -> list[str]:
    """The function binaries, which are also their cargo packages."""
    return [provider["binary"] for provider in providers()]


def dev_env() -> dict[str, str]:
    """The settings every provider's function gets in the local stack."""
    env: dict[str, str] = {}
    for provider in providers():
        env.update(provider["dev_env"])
    return env


def dev_endpoint_env() -> dict[str, str]:
    """What gives every provider's function the local stack's second endpoint (its name in
    WEBHOOK_ENDPOINTS, its own settings as <VARIABLE>_BY_ENDPOINT), on top of `dev_env()`."""
    env: dict[str, str] = {}
    for provider in providers():
        env.update(provider["dev_endpoint"]["env"])
    return env


def dev_secrets(endpoints: bool = False) -> dict[str, str]:
    """Secret id -> the secret the local stack puts there: each provider's default one and, with
    `endpoints`, its second endpoint's."""
    secrets = {provider["secret_id"]: provider["dev_secret"] for provider in providers()}
    if endpoints:
        for provider in providers():
            secrets[provider["dev_endpoint"]["secret_id"]] = provider["dev_endpoint"]["dev_secret"]
    return secrets


def main(argv: list[str]) -> int:
    what = argv[1] if len(argv) == 2 else ""
    if what == "binaries":
        lines = binaries()
    elif what == "dev-env":
        lines = [f"{name}={value}" for name, value in dev_env().items()]
    elif what == "dev-endpoint-env":
        lines = [f"{name}={value}" for name, value in dev_endpoint_env().items()]
    elif what == "settings":
        lines = sorted({setting["env"] for provider in providers() for setting in provider["settings"]})
    elif what == "json":
        lines = [json.dumps(provider, sort_keys=True) for provider in providers()]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
