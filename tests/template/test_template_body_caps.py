"""Each receiver caps the bodies it takes (MAX_BODY_BYTES) with a template parameter whose default
fits its provider, never above the 6 MiB the code defaults to (Lambda's own request limit), and
the README's configuration table documents every cap (issue 12, section 5).

Whether the worst request at each default cap stays under half of the function's memory is
measured, not asserted here: bench/memory.py (make bench-smoke, make bench) reads these defaults.
"""

from __future__ import annotations

import re

import pytest

import cfn_yaml

CONFIG_RS = cfn_yaml.REPO_ROOT / "shared" / "src" / "config.rs"
README = cfn_yaml.REPO_ROOT / "README.md"


def code_default_cap() -> int:
    """DEFAULT_MAX_BODY_BYTES as shared/src/config.rs states it (a product of integers)."""
    match = re.search(r"pub const DEFAULT_MAX_BODY_BYTES: u64 = ([0-9_ *]+);", CONFIG_RS.read_text())
    assert match, f"DEFAULT_MAX_BODY_BYTES not found in {CONFIG_RS}"
    value = 1
    for factor in match.group(1).replace("_", "").split("*"):
        value *= int(factor)
    return value


def cap_parameter(template, function) -> tuple[str, dict]:
    value = cfn_yaml.function_environment(template, function).get("MAX_BODY_BYTES")
    name = cfn_yaml.ref_target(value)
    assert name in template["Parameters"], f"MAX_BODY_BYTES is {value!r}, not a template parameter"
    return name, template["Parameters"][name]


def test_the_code_default_is_lambdas_request_limit():
    assert code_default_cap() == 6 * 1024 * 1024


@pytest.mark.parametrize("logical_id", sorted(cfn_yaml.receivers(cfn_yaml.load())))
def test_every_receiver_sets_its_own_cap_at_most_6_mib(template, logical_id):
    name, parameter = cap_parameter(template, template["Resources"][logical_id])
    limit = code_default_cap()
    assert parameter["Type"] == "Number", name
    assert 1 <= parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"] <= limit, name
    assert parameter["Description"], name


def test_each_receiver_has_a_cap_of_its_own(template):
    names = [cap_parameter(template, f)[0] for f in cfn_yaml.receivers(template).values()]
    assert len(set(names)) == len(names), names


def test_the_caps_fit_the_providers(template):
    """FACEIO sends a few hundred bytes, Amani and Alocity access control small JSON documents,
    the Selfie a photo: the Selfie's cap is the largest, FACEIO's the smallest, and only the
    Selfie's reaches past the payload bucket's threshold (PAYLOAD_OFFLOAD_BYTES, 256 KiB)."""
    caps = {cfn_yaml.provider(f): cap_parameter(template, f)[1]["Default"]
            for f in cfn_yaml.receivers(template).values()}
    offload = 256 * 1024
    assert caps["faceio"] == min(caps.values()) <= 64 * 1024
    assert caps["alocity-selfie"] == max(caps.values()) > offload
    assert all(cap <= offload for provider, cap in caps.items() if provider != "alocity-selfie"), caps


def test_the_drain_has_no_cap(template):
    # It reads queued records, not HTTP bodies: MAX_BODY_BYTES would mean nothing to it.
    for logical_id, function in cfn_yaml.rust_functions(template).items():
        if logical_id not in cfn_yaml.receivers(template):
            assert "MAX_BODY_BYTES" not in cfn_yaml.function_environment(template, function), logical_id


def test_the_readme_documents_every_cap_with_its_default(template):
    text = README.read_text()
    for function in cfn_yaml.receivers(template).values():
        name, parameter = cap_parameter(template, function)
        row = next((line for line in text.splitlines() if line.startswith("|") and f"`{name}`" in line), None)
        assert row, f"README has no configuration row for {name}"
        assert f"`{parameter['Default']}`" in row, f"README's row for {name} does not give its default: {row}"
