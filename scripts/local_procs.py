"""Local processes for the end-to-end suite (tests/e2e/conftest.py) and the start-up harness
(bench/startup/harness.py): free loopback ports, waiting for a port, and the processes a run
starts, each in its own session and process group, logging to `<log_dir>/<name>.log`, stopped by
pid and process group, descendants included. Standard library only; `start_moto` waits through
local_aws, which needs boto3 only when called.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import local_aws

REPO = Path(__file__).resolve().parents[1]


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2:].split()[1])
        if ppid == pid:
            kids.append(int(entry))
    return kids


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for kid in _children(todo.pop()):
            out.append(kid)
            todo.append(kid)
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


class Processes:
    """Every process a run starts; stopped by pid and process group, descendants included."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None,
              cwd: Path = REPO) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs.append((name, proc))
        return proc

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, proc: subprocess.Popen, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `grace` s, to its group, itself and its descendants; it is
        then no longer one of `procs` (so `stop_all` never signals its pid again)."""
        pids = [proc.pid] + descendants(proc.pid)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                proc.poll()
                if not any(_alive(p) for p in pids):
                    break
                time.sleep(0.1)
            else:
                continue
            break
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.procs[:] = [(name, p) for name, p in self.procs if p is not proc]

    def stop_all(self) -> None:
        while self.procs:
            _, proc = self.procs.pop()
            self.stop(proc)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args[0]} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def start_moto(processes: Processes, name: str, server: Path, env: dict[str, str] | None = None,
               timeout: float = 60.0) -> tuple[subprocess.Popen, str]:
    """`moto_server` on a free loopback port, once it answers an AWS call: (process, endpoint)."""
    port = free_port()
    proc = processes.spawn(name, [str(server), "-H", "127.0.0.1", "-p", str(port)], env)
    wait_port(port, timeout, proc)
    endpoint = f"http://127.0.0.1:{port}"
    local_aws.wait_for_endpoint(endpoint, timeout)
    return proc, endpoint
