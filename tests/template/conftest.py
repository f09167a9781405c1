"""Fixtures for the template tests (run by scripts/sam_checks.sh with .venv/lint's pytest)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

import cfn_yaml


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return cfn_yaml.load()


@pytest.fixture(scope="session")
def cargo_metadata() -> dict[str, Any]:
    """`cargo metadata` of the workspace (resolves the AWS SDK crates' sources)."""
    command = ["cargo", "metadata", "--format-version", "1", "--manifest-path",
               str(cfn_yaml.REPO_ROOT / "Cargo.toml")]
    result = subprocess.run(command + ["--offline"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        # Not resolved on this machine yet: let cargo fetch the crates (crates.io only).
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"cargo metadata failed:\n{result.stderr}"
    return json.loads(result.stdout)
