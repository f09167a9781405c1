#!/usr/bin/env python3
"""Deployment sizes: our functions' Lambda zips and the Python peer's package.

Ours: `target/lambda/<function>/bootstrap.zip` as written by
`cargo lambda build --release --output-format zip` (x86_64 here), zip and unzipped size.

Peer: what a deployment zip of bench/peer would carry: app.py plus the files pip installed for
every distribution in the peer venv except those the Lambda Python runtime already provides
(boto3 and its dependencies, and the runtime interface client awslambdaric with its own), and
pip/setuptools. Files are counted as pip installed them (RECORD), `__pycache__` included, as a
`pip install --target` build would ship them; the zip is built in memory (deflate, level 6).
Also reported: the same with boto3 and its dependencies bundled (a package pinning its own SDK).

Usage: python3 bench/startup/sizes.py --lambda-dir target/lambda --peer-venv .venv/peer --out F
Standard library only.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import registry  # noqa: E402
# Provided by the Lambda Python runtime: the AWS SDK with its dependencies, and the runtime
# interface client with its own.
AWS_SDK = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
RUNTIME_PROVIDED = AWS_SDK | {"awslambdaric", "simplejson", "snapshot-restore-py", "pip", "setuptools"}


def canonical(name: str) -> str:
    return name.lower().replace("_", "-")


def rust_zips(lambda_dir: Path) -> dict[str, dict[str, int]]:
    sizes = {}
    for function in registry.binaries():
        archive = lambda_dir / function / "bootstrap.zip"
        if not archive.is_file():
            continue
        with zipfile.ZipFile(archive) as zipped:
            unzipped = sum(info.file_size for info in zipped.infolist())
        sizes[function] = {"zip_bytes": archive.stat().st_size, "unzipped_bytes": unzipped}
    return sizes


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        raise SystemExit(f"no site-packages under {venv}: run scripts/tools.sh peer")
    return found[0]


def peer_package(venv: Path, with_sdk: bool = False) -> dict[str, object]:
    """The peer's deployment package; `with_sdk` adds boto3 and its dependencies, as a package
    that pins its own SDK version would carry them."""
    root = site_packages(venv)
    provided = RUNTIME_PROVIDED - AWS_SDK if with_sdk else RUNTIME_PROVIDED
    files: list[tuple[str, Path]] = [("app.py", HERE.parent / "peer" / "app.py")]
    counted, left_out = [], []
    for dist in metadata.distributions(path=[str(root)]):
        name = canonical(dist.metadata["Name"])
        if name in provided:
            left_out.append(f"{name} {dist.version}")
            continue
        counted.append(f"{name} {dist.version}")
        for entry in dist.files or []:
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                files.append((str(entry), path))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for arcname, path in files:
            archive.write(path, arcname)
    return {
        "zip_bytes": len(buffer.getvalue()),
        "unzipped_bytes": sum(path.stat().st_size for _, path in files),
        "files": len(files),
        "counted": sorted(counted),
        "left_out": sorted(left_out),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lambda-dir", type=Path, default=REPO / "target" / "lambda")
    parser.add_argument("--peer-venv", type=Path, default=REPO / ".venv" / "peer")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = {
        "ours": rust_zips(args.lambda_dir),
        "peer": peer_package(args.peer_venv),
        "peer_with_sdk": peer_package(args.peer_venv, with_sdk=True),
    }
    if not result["ours"]:
        print(f"no bootstrap.zip under {args.lambda_dir}: run cargo lambda build --release "
              "--output-format zip", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
