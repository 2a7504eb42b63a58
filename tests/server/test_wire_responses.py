"""Responses on the wire, read from a raw socket: keep-alive, pipelining, HEAD and close.

Full answers are written as one piece (head and body together, server/protocol.py); a client
must still see exactly uvicorn's framing: lengths that match, a kept-alive connection that
serves the next request, ``connection: close`` honoured, no body on HEAD.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Gateway, start_gateway


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = start_gateway(Path(tmp_path_factory.mktemp("wire")))
    yield gateway
    gateway.stop()


def _read_response(
    sock: socket.socket, buffer: bytearray, head_only: bool = False
) -> tuple[str, dict[str, str], bytes]:
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a response head"
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        assert name == name.lower() and name.strip() == name
        headers[name] = value.strip()
    length = 0 if head_only else int(headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside a body"
        rest += chunk
    buffer[:] = rest[length:]
    return lines[0], headers, rest[:length]


def _chat_request(key: str, *, close: bool = False) -> bytes:
    body = json.dumps({"model": "sim-small", "max_tokens": 3,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()  # fmt: skip
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer " + key.encode()
        + b"\r\ncontent-type: application/json\r\ncontent-length: " + str(len(body)).encode()
        + (b"\r\nconnection: close" if close else b"") + b"\r\n\r\n" + body
    )  # fmt: skip


def test_pipelined_answers_refusals_and_close_keep_their_framing(gw: Gateway) -> None:
    key = gw.create_key("wire", "pro")["key"]
    sock = socket.create_connection(("127.0.0.1", gw.proc.port), timeout=30)
    buffer = bytearray()
    try:
        # Two requests and a refusal sent at once (pipelined) on one connection.
        sock.sendall(_chat_request(key) + _chat_request("dm-wrong") + _chat_request(key))
        statuses = []
        for _ in range(3):
            status, headers, body = _read_response(sock, buffer)
            statuses.append(status)
            assert headers["content-type"] == "application/json"
            assert headers["x-request-id"]
            assert json.loads(body)  # the whole body, no more, no less
        assert statuses == ["HTTP/1.1 200 OK", "HTTP/1.1 401 Unauthorized", "HTTP/1.1 200 OK"]
        sock.sendall(b"HEAD /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        status, headers, body = _read_response(sock, buffer, head_only=True)
        assert status.startswith("HTTP/1.1 ") and body == b""
        sock.sendall(_chat_request(key, close=True))
        status, headers, body = _read_response(sock, buffer)
        assert status == "HTTP/1.1 200 OK" and headers["connection"] == "close"
        assert json.loads(body)["choices"]
        assert sock.recv(65536) == b""  # and the server closed it
    finally:
        sock.close()
