"""Find the AWS API operations a Rust function calls, as IAM actions: in its source and in its binary.

For a binary of the workspace this walks its crate and the workspace crates it depends on
(`cargo metadata`), takes the AWS SDK crates they depend on directly (aws-sdk-*), lists each SDK's
operations (one module per operation under the SDK's src/operation/), and looks for fluent calls
of those operations, `client.put_item()` style, in the crates' src/ (comments, string literals and
`#[cfg(test)]` modules removed). An operation of service S is only counted in a file that names
the SDK crate (`aws_sdk_S`), so that an unrelated `.query()` (e.g. on a URI) is not taken for
DynamoDB's Query. The source scan over-approximates: a shared-crate function that this binary never
calls still counts.

The binary scan is exact: the release build (LTO, dead code removed) keeps an operation's request
serialiser only if the function can reach it, and that serialiser holds the operation's wire name
as a string (`x-amz-target: DynamoDB_20120810.PutItem` for the JSON protocols; otherwise the
operation's `Service.Operation` span name). So the markers found in `.aws-sam/build/<Fn>/bootstrap`
are the operations the deployed function can call.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

# SDK operations whose IAM action is not simply "<service>:<OperationName>".
IRREGULAR_ACTIONS: dict[str, set[str]] = {
    "dynamodb:TransactWriteItems": {
        "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem",
    },
    "dynamodb:TransactGetItems": {"dynamodb:GetItem"},
    "dynamodb:ExecuteStatement": {
        "dynamodb:PartiQLSelect", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete",
    },
    "dynamodb:BatchExecuteStatement": {
        "dynamodb:PartiQLSelect", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete",
    },
    "dynamodb:ExecuteTransaction": {
        "dynamodb:PartiQLSelect", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete",
    },
    "secretsmanager:BatchGetSecretValue": {
        "secretsmanager:BatchGetSecretValue", "secretsmanager:GetSecretValue",
    },
    # SQS has no IAM actions of its own for the batch operations (Service Authorization
    # Reference, Amazon SQS): each is authorised as its single-message action.
    "sqs:SendMessageBatch": {"sqs:SendMessage"},
    "sqs:DeleteMessageBatch": {"sqs:DeleteMessage"},
    "sqs:ChangeMessageVisibilityBatch": {"sqs:ChangeMessageVisibility"},
    # S3 (Service Authorization Reference, Amazon S3): HEAD of an object is authorised as
    # s3:GetObject, listing as s3:ListBucket (on the bucket), a multi-object delete per object.
    "s3:HeadObject": {"s3:GetObject"},
    "s3:ListObjectsV2": {"s3:ListBucket"},
    "s3:ListObjects": {"s3:ListBucket"},
    "s3:DeleteObjects": {"s3:DeleteObject"},
}

# Operations an SDK client links for its own use, never called by our code: the S3 client's
# identity resolver for S3 Express One Zone directory buckets calls CreateSession (IAM action
# s3express:CreateSession) for those buckets only. Ours is a general-purpose bucket
# (AWS::S3::Bucket; test_template_shape.py), so no grant is needed.
SDK_INTERNAL_OPERATIONS: set[str] = {"s3:CreateSession"}

_CHAR_LITERAL = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'")
_RAW_STRING_START = re.compile(r"b?r(#*)\"")
_CFG_TEST_MOD = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{")
_FLUENT_CALL = re.compile(r"\.\s*([a-z][a-z0-9_]*)\s*\(\s*\)")


def strip_rust(source: str) -> str:
    """Source without comments and with every string/char literal emptied; code kept in place."""
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        prev_is_ident = i > 0 and (source[i - 1].isalnum() or source[i - 1] == "_")
        if source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end == -1 else end
        elif source.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if source.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif source.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif not prev_is_ident and (m := _RAW_STRING_START.match(source, i)):
            closing = '"' + m.group(1)
            end = source.find(closing, m.end())
            i = n if end == -1 else end + len(closing)
            out.append('""')
        elif ch == '"':
            i += 1
            while i < n and source[i] != '"':
                i += 2 if source[i] == "\\" else 1
            i += 1
            out.append('""')
        elif ch == "'" and (m := _CHAR_LITERAL.match(source, i)):
            out.append("' '")
            i = m.end()
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def drop_test_modules(code: str) -> str:
    """Remove `#[cfg(test)] mod name { ... }` blocks from stripped code."""
    while m := _CFG_TEST_MOD.search(code):
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        code = code[: m.start()] + code[i:]
    return code


def pascal_case(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def iam_actions(service: str, operation: str) -> set[str]:
    action = f"{service}:{pascal_case(operation)}"
    return IRREGULAR_ACTIONS.get(action, {action})


def sdk_operations(sdk_manifest: Path) -> set[str]:
    """Operation names (snake case) of an AWS SDK for Rust crate."""
    operation_dir = sdk_manifest.parent / "src" / "operation"
    return {p.name for p in operation_dir.iterdir() if p.is_dir()}


def calls_in_source(code: str, sdks: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(service, operation) pairs called in one file's stripped code."""
    found = set()
    for crate, operations in sdks.items():
        service = crate.removeprefix("aws-sdk-")
        if crate.replace("-", "_") not in code:
            continue
        for op in _FLUENT_CALL.findall(code):
            if op in operations:
                found.add((service, op))
    return found


def workspace_closure(metadata: dict[str, Any], binary: str) -> list[dict[str, Any]]:
    """The workspace package that builds `binary` plus the workspace packages it depends on."""
    members = {p["name"]: p for p in metadata["packages"] if p["id"] in metadata["workspace_members"]}
    roots = [p for p in members.values()
             if any(t["name"] == binary and "bin" in t["kind"] for t in p["targets"])]
    assert len(roots) == 1, f"no single workspace package builds the binary {binary!r}"
    seen: dict[str, dict[str, Any]] = {}
    stack = roots
    while stack:
        package = stack.pop()
        if package["name"] in seen:
            continue
        seen[package["name"]] = package
        for dep in package["dependencies"]:
            if dep.get("kind") is None and dep["name"] in members:
                stack.append(members[dep["name"]])
    return list(seen.values())


def sdk_crates(metadata: dict[str, Any], packages: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
    """SDK crate name -> its operations, for the aws-sdk-* crates the packages depend on directly."""
    wanted = {dep["name"] for package in packages for dep in package["dependencies"]
              if dep.get("kind") is None and dep["name"].startswith("aws-sdk-")}
    sdks: dict[str, set[str]] = {}
    for package in metadata["packages"]:
        if package["name"] in wanted:
            sdks.setdefault(package["name"], set()).update(sdk_operations(Path(package["manifest_path"])))
    missing = wanted - sdks.keys()
    assert not missing, f"SDK crates not resolved by cargo metadata: {missing}"
    return sdks


def aws_actions_called(metadata: dict[str, Any], binary: str) -> tuple[set[str], dict[str, set[str]]]:
    """IAM actions the binary's code calls, and where each was found (action -> files)."""
    packages = workspace_closure(metadata, binary)
    sdks = sdk_crates(metadata, packages)
    actions: set[str] = set()
    where: dict[str, set[str]] = {}
    for package in packages:
        src = Path(package["manifest_path"]).parent / "src"
        for path in sorted(src.rglob("*.rs")):
            code = drop_test_modules(strip_rust(path.read_text(encoding="utf-8")))
            for service, op in calls_in_source(code, sdks):
                for action in iam_actions(service, op):
                    actions.add(action)
                    where.setdefault(action, set()).add(str(path))
    return actions, where


_TARGET_HEADER = re.compile(r'"x-amz-target"\s*\)\s*,\s*"([^"]+)"')
_SPAN_NAME = re.compile(r'debug_span!\(\s*"([^"]+)"')


def operation_markers(sdk_manifest: Path) -> dict[bytes, str]:
    """Wire-name string -> operation, for each operation of an SDK crate."""
    markers: dict[bytes, str] = {}
    for operation in sdk_operations(sdk_manifest):
        source = (sdk_manifest.parent / "src" / "operation" / f"{operation}.rs").read_text(encoding="utf-8")
        found = _TARGET_HEADER.search(source) or _SPAN_NAME.search(source)
        assert found, f"{sdk_manifest.parent.name}: no wire name found for operation {operation}"
        markers[found.group(1).encode()] = operation
    return markers


def operations_in_binary(binary: bytes, markers: dict[bytes, str]) -> set[str]:
    """Operations whose marker occurs in the binary (the longest marker wins at a position, so that
    DescribeTableReplicaAutoScaling is not also read as DescribeTable)."""
    at: dict[int, bytes] = {}
    for marker in markers:
        start = binary.find(marker)
        while start != -1:
            if len(marker) > len(at.get(start, b"")):
                at[start] = marker
            start = binary.find(marker, start + 1)
    return {markers[marker] for marker in at.values()}


def aws_actions_in_binary(metadata: dict[str, Any], binary_name: str, bootstrap: Path) -> set[str]:
    """IAM actions of the AWS operations linked into a built bootstrap."""
    sdks = sdk_crates(metadata, workspace_closure(metadata, binary_name))
    data = bootstrap.read_bytes()
    actions: set[str] = set()
    for package in metadata["packages"]:
        if package["name"] in sdks:
            service = package["name"].removeprefix("aws-sdk-")
            for operation in operations_in_binary(data, operation_markers(Path(package["manifest_path"]))):
                if f"{service}:{pascal_case(operation)}" not in SDK_INTERNAL_OPERATIONS:
                    actions |= iam_actions(service, operation)
    return actions


def newest_source_mtime(metadata: dict[str, Any], binary_name: str) -> float:
    """Latest modification time of the Rust sources and manifests the binary is built from."""
    newest = 0.0
    for package in workspace_closure(metadata, binary_name):
        root = Path(package["manifest_path"]).parent
        for path in [root / "Cargo.toml", *root.joinpath("src").rglob("*.rs")]:
            newest = max(newest, path.stat().st_mtime)
    return newest
