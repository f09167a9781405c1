#!/usr/bin/env python3
"""A small fault-injecting TCP proxy for the end-to-end tests (standard library only).

    python3 scripts/fault_proxy.py --listen 127.0.0.1:4567 --upstream 127.0.0.1:4566 --control 127.0.0.1:4568

Traffic to --listen is forwarded byte for byte to --upstream (moto). A tiny HTTP control endpoint
on --control switches faults on and off, so a test can simulate an AWS outage without killing
moto (which keeps its state in memory):

    POST /cut?mode=refuse     stop listening: new connections get "connection refused" (default)
    POST /cut?mode=reset      accept new connections and reset them at once
    POST /cut?mode=blackhole  accept new connections and never answer (time-outs)
    POST /restore             forward again (connections left from the cut are aborted)
    GET  /status              {"state": "...", "open": N, "accepted": N, "forwarded": N}

Every cut also aborts the connections that are open at that moment. Only loopback addresses are
accepted for all three sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import signal
import socket
import struct
import sys
from urllib.parse import parse_qs, urlsplit

MODES = ("refuse", "reset", "blackhole")


def parse_addr(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise argparse.ArgumentTypeError(f"{value}: only loopback addresses are allowed")
    return host, int(port)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0) so the peer sees the connection die, not a clean EOF."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


class FaultProxy:
    def __init__(self, listen: tuple[str, int], upstream: tuple[str, int]):
        self.listen = listen
        self.upstream = upstream
        self.state = "up"  # "up" or one of MODES
        self.server: asyncio.base_events.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()
        self.accepted = 0
        self.forwarded = 0

    async def start_listening(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(
                self._on_client, self.listen[0], self.listen[1], reuse_address=True
            )

    async def stop_listening(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    def abort_all(self) -> None:
        for writer in list(self.open):
            _abort(writer)
        self.open.clear()

    async def cut(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        self.state = mode
        if mode == "refuse":
            await self.stop_listening()
        else:
            await self.start_listening()
        self.abort_all()

    async def restore(self) -> None:
        if self.state != "up":
            self.abort_all()  # e.g. black-holed connections: they never get an answer
        self.state = "up"
        await self.start_listening()

    def status(self) -> dict:
        return {
            "state": self.state,
            "open": len(self.open),
            "accepted": self.accepted,
            "forwarded": self.forwarded,
            "listen": f"{self.listen[0]}:{self.listen[1]}",
            "upstream": f"{self.upstream[0]}:{self.upstream[1]}",
        }

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.state == "reset":
            _abort(writer)
            return
        self.open.add(writer)
        if self.state == "blackhole":
            try:
                while await reader.read(65536):
                    pass
            except (ConnectionError, OSError):
                pass
            finally:
                self.open.discard(writer)
                writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self.open.discard(writer)
            _abort(writer)
            return
        self.forwarded += 1
        self.open.add(up_writer)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
                if dst.can_write_eof():
                    dst.write_eof()
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass

        try:
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self.open.discard(w)
                w.close()


async def control_handler(proxy: FaultProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    status, body = 200, {}
    try:
        request_line = (await reader.readline()).decode("latin-1").strip()
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass  # ignore headers; requests carry no body
        method, target, _ = (request_line.split(" ") + ["", ""])[:3]
        url = urlsplit(target)
        query = parse_qs(url.query)
        if method == "POST" and url.path == "/cut":
            await proxy.cut(query.get("mode", ["refuse"])[0])
        elif method == "POST" and url.path == "/restore":
            await proxy.restore()
        elif method == "GET" and url.path == "/status":
            pass
        else:
            status, body = 404, {"error": "not_found"}
        body = body or proxy.status()
    except ValueError as exc:
        status, body = 400, {"error": str(exc)}
    payload = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload
    )
    try:
        await writer.drain()
    finally:
        writer.close()


async def amain(args: argparse.Namespace) -> None:
    proxy = FaultProxy(args.listen, args.upstream)
    await proxy.start_listening()
    control = await asyncio.start_server(
        lambda r, w: control_handler(proxy, r, w), args.control[0], args.control[1], reuse_address=True
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"ready": True, **proxy.status(),
                      "control": f"{args.control[0]}:{args.control[1]}"}), flush=True)
    await stop.wait()
    control.close()
    await proxy.stop_listening()
    proxy.abort_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=parse_addr, required=True, help="HOST:PORT to accept on")
    parser.add_argument("--upstream", type=parse_addr, required=True, help="HOST:PORT to forward to")
    parser.add_argument("--control", type=parse_addr, required=True, help="HOST:PORT of the HTTP control endpoint")
    args = parser.parse_args(argv)
    asyncio.run(amain(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
