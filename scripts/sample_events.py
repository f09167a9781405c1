#!/usr/bin/env python3
"""Writes the sample Lambda events under events/: one per provider and front door,
events/<provider>/<front door>.json, each a fresh delivery signed with the local stack's secret by
`webhooks send <provider> --emit-event FILE --front-door DOOR`.

They are what `sam local invoke -e` and `cargo lambda invoke --data-file` feed a function.
Token and body-signature events stay valid; a signature that carries its time is older than the
timestamp tolerance (300 s) minutes after this runs, so for those providers write a fresh event
right before use (the command above). The function crates' catalogue tests verify every file
here (webhook_core::testing::check_sample_events), at the time each file was signed.

    python3 scripts/sample_events.py            # (re)write events/
WEBHOOKS_CLI names a built `webhooks` binary to use instead of `cargo run`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import registry  # noqa: E402

FRONT_DOORS = ("http-api-v2", "function-url", "rest-api-v1", "alb", "alb-multi-value")


def main() -> int:
    cli = os.environ.get("WEBHOOKS_CLI")
    command = [cli] if cli else ["cargo", "run", "--quiet", "--bin", "webhooks", "--"]
    for provider in registry.providers():
        env = {**os.environ, "WEBHOOKS_SECRET": provider["dev_secret"]}
        for door in FRONT_DOORS:
            path = Path("events") / provider["name"] / f"{door}.json"
            done = subprocess.run(
                [*command, "send", provider["name"], "--emit-event", str(path), "--front-door", door],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            )
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return done.returncode
            print(done.stdout.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
