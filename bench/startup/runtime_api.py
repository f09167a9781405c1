"""A Lambda Runtime API on 127.0.0.1, enough to run one function process the way Lambda does.

Endpoints (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):

    GET  /2018-06-01/runtime/invocation/next           blocks until an event is queued
    POST /2018-06-01/runtime/invocation/{id}/response  the handler's result (202)
    POST /2018-06-01/runtime/invocation/{id}/error     the handler failed (202)
    POST /2018-06-01/runtime/init/error                 initialisation failed (202)

`next` answers with the event as its body and the headers Lambda sends:
Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms, Lambda-Runtime-Invoked-Function-Arn,
Lambda-Runtime-Trace-Id. The server records when the first `next` arrived (the end of init) and,
per invocation, when the event was handed out and when its answer came back (the function's
duration as Lambda would bill it). Standard library only.
"""

from __future__ import annotations

import json
import queue
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

PREFIX = "/2018-06-01/runtime"
_INVOCATION_PATH = re.compile(rf"^{PREFIX}/invocation/([^/]+)/(response|error)$")
# How long one `next` call waits for an event before answering nothing and closing (the runtime
# client then polls again); keeps shutdown bounded.
NEXT_POLL_SECS = 1.0


@dataclass
class Invocation:
    """One event handed to the function and what came back."""

    request_id: str
    event: bytes
    deadline_ms: int
    handed_out_at: float | None = None  # time.perf_counter() when `next` returned it
    answered_at: float | None = None
    outcome: str | None = None  # "response" or "error"
    result: bytes = b""
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def duration_ms(self) -> float | None:
        if self.handed_out_at is None or self.answered_at is None:
            return None
        return (self.answered_at - self.handed_out_at) * 1000

    def response_json(self) -> Any:
        return json.loads(self.result) if self.result else None


class RuntimeApi:
    """The server, its queue of pending invocations and what it observed."""

    def __init__(self, function_arn: str, timeout_ms: int = 30_000) -> None:
        self.function_arn = function_arn
        self.timeout_ms = timeout_ms
        self.pending: queue.Queue[Invocation] = queue.Queue()
        self.invocations: dict[str, Invocation] = {}
        self.first_next_at: float | None = None
        self.init_error: bytes | None = None
        self.first_contact = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="runtime-api", daemon=True)

    @property
    def address(self) -> str:
        """`host:port`, the value of AWS_LAMBDA_RUNTIME_API."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> RuntimeApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def invoke(self, event: dict[str, Any], timeout: float, alive: Callable[[], bool] = lambda: True) -> Invocation:
        """Queues `event` and waits up to `timeout` s for the function's answer, giving up early
        when `alive()` turns false (the function process exited)."""
        invocation = Invocation(
            request_id=str(uuid.uuid4()),
            event=json.dumps(event).encode(),
            deadline_ms=int(time.time() * 1000) + self.timeout_ms,
        )
        with self._lock:
            self.invocations[invocation.request_id] = invocation
        self.pending.put(invocation)
        deadline = time.monotonic() + timeout
        while not invocation.done.wait(0.05):
            if not alive():
                raise RuntimeError(f"the function exited before answering invocation {invocation.request_id}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer to invocation {invocation.request_id} within {timeout:.0f} s")
        return invocation

    # Called from the server's threads.

    def _next(self) -> Invocation | None:
        with self._lock:
            if self.first_next_at is None:
                self.first_next_at = time.perf_counter()
                self.first_contact.set()
        while not self._stopping.is_set():
            try:
                return self.pending.get(timeout=NEXT_POLL_SECS)
            except queue.Empty:
                continue
        return None

    def _answer(self, request_id: str, outcome: str, body: bytes) -> bool:
        now = time.perf_counter()
        with self._lock:
            invocation = self.invocations.get(request_id)
        if invocation is None or invocation.done.is_set():
            return False
        invocation.answered_at = now
        invocation.outcome = outcome
        invocation.result = body
        invocation.done.set()
        return True

    def _init_error(self, body: bytes) -> None:
        self.init_error = body
        self.first_contact.set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A function process stopped mid-connection is how every run ends: not an error.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def _handler_for(api: RuntimeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real endpoint
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
        # holds the body back until the client's delayed ACK (40 ms) on every `next`.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass  # request lines would carry nothing useful; bodies are never logged

        def _read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            if self.path != f"{PREFIX}/invocation/next":
                self._send(404, b'{"errorMessage":"not found"}')
                return
            invocation = api._next()
            if invocation is None:  # shutting down
                self.close_connection = True
                self._send(503, b'{"errorMessage":"runtime api stopping"}')
                return
            headers = {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};"
                "Parent=0000000000000000;Sampled=0",
            }
            # Stamped before the write so an answer can never arrive before it.
            invocation.handed_out_at = time.perf_counter()
            self._send(200, invocation.event, headers)

        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            body = self._read_body()
            if self.path == f"{PREFIX}/init/error":
                api._init_error(body)
                self._send(202, b'{"status":"OK"}')
                return
            match = _INVOCATION_PATH.match(self.path)
            if match is None:
                self._send(404, b'{"errorMessage":"not found"}')
                return
            if api._answer(match.group(1), match.group(2), body):
                self._send(202, b'{"status":"OK"}')
            else:
                self._send(400, b'{"errorMessage":"unknown or already answered request id"}')

    return Handler
