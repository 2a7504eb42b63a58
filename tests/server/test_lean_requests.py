"""Proxy POSTs the HTTP protocol answers itself (server/lean.py), read from raw sockets.

Each test is a shape of request a client really sends: a chunked body, ``Expect:
100-continue``, a body over the cap (declared or not), a hang-up halfway through the upload or
the stream, HTTP/1.0, a wrong method. The answer must be what the ASGI path gives: the right
status in the caller's wire format, exact framing, a connection that serves the next request,
nothing run for an upload that never finished, and a stream that is billed when abandoned.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator

import pytest

from harness import Gateway, Proc, serving, sim_config, simulating

MAX_BODY = 4096


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    yield from simulating(tmp_path_factory, "lean-sim")


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, sim: Proc) -> Iterator[Gateway]:
    config = sim_config(sim, pro={"requests_per_minute": 10_000})
    config["server"] = {"max_body_bytes": MAX_BODY}
    yield from serving(tmp_path_factory, config)


@pytest.fixture(scope="module")
def key(gw: Gateway) -> str:
    return str(gw.create_key("lean", "pro")["key"])


def _body(**extra: object) -> bytes:
    body = {"model": "sim-small", "max_tokens": 3, "messages": [{"role": "user", "content": "hi"}]}
    return json.dumps({**body, **extra}).encode()


def _head(key: str, path: str = "/v1/chat/completions", *extra: str, length: int | None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "host: x", f"authorization: Bearer {key}",
             "content-type: application/json", *extra]  # fmt: skip
    if length is not None:
        lines.append(f"content-length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Reader:
    """Responses off one socket, framed the way a client frames them (length or chunks)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "the server closed the connection early"
        self.buffer += chunk

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._more()
        found, _, self.buffer = self.buffer.partition(marker)
        return found

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._more()
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found

    def head(self) -> tuple[int, dict[str, str]]:
        lines = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        return int(lines[0].split()[1]), headers

    def response(self) -> tuple[int, dict[str, str], bytes]:
        status, headers = self.head()
        if headers.get("transfer-encoding") == "chunked":
            parts = []
            while True:
                size = int(self._until(b"\r\n"), 16)
                parts.append(self._exactly(size))
                self._exactly(2)
                if size == 0:
                    return status, headers, b"".join(parts)
        return status, headers, self._exactly(int(headers["content-length"]))

    def closed(self) -> bool:
        return self.buffer == b"" and self.sock.recv(65536) == b""


@pytest.fixture
def conn(gw: Gateway) -> Iterator[tuple[socket.socket, Reader]]:
    sock = socket.create_connection(("127.0.0.1", gw.proc.port), timeout=30)
    try:
        yield sock, Reader(sock)
    finally:
        sock.close()


def test_chunked_upload_and_expect_continue_are_answered_on_one_connection(
    conn: tuple[socket.socket, Reader], key: str
) -> None:
    sock, reader = conn
    body = _body()
    half = len(body) // 2
    chunked = b"%x\r\n%b\r\n%x\r\n%b\r\n0\r\n\r\n" % (
        half,
        body[:half],
        len(body) - half,
        body[half:],
    )
    sock.sendall(
        _head(key, "/v1/chat/completions", "transfer-encoding: chunked", length=None) + chunked
    )
    status, headers, answer = reader.response()
    assert status == 200 and json.loads(answer)["choices"][0]["message"]["content"]
    assert headers["x-doorman-cost-usd"]

    sock.sendall(_head(key, "/v1/chat/completions", "expect: 100-continue", length=len(body)))
    status, _ = reader.head()
    assert status == 100  # the client may now send the body
    sock.sendall(body)
    status, _, answer = reader.response()
    assert status == 200 and json.loads(answer)["choices"]


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_over_the_cap_is_refused_in_the_callers_format_and_the_connection_goes_on(
    conn: tuple[socket.socket, Reader], key: str, declared: bool
) -> None:
    sock, reader = conn
    big = _body(padding="x" * (MAX_BODY * 2))
    if declared:
        sock.sendall(_head(key, "/v1/messages", length=len(big)) + big)
    else:
        framed = b"".join(b"%x\r\n%b\r\n" % (len(big[i:i + 1000]), big[i:i + 1000])
                          for i in range(0, len(big), 1000)) + b"0\r\n\r\n"  # fmt: skip
        sock.sendall(_head(key, "/v1/messages", "transfer-encoding: chunked", length=None) + framed)
    status, headers, answer = reader.response()
    assert status == 413
    error = json.loads(answer)
    assert error["type"] == "error" and error["error"]["type"]  # Anthropic's error shape
    assert str(MAX_BODY) in error["error"]["message"]
    assert headers["x-request-id"]
    body = _body()
    sock.sendall(_head(key, length=len(body)) + body)  # the same connection serves the next one
    status, _, answer = reader.response()
    assert status == 200 and json.loads(answer)["choices"]


def test_an_upload_abandoned_halfway_runs_nothing(gw: Gateway, sim: Proc, key: str) -> None:
    before = sim.sim_requests()
    abandoned = f"abandoned-{uuid.uuid4().hex}"
    body = _body()
    sock = socket.create_connection(("127.0.0.1", gw.proc.port), timeout=30)
    sock.sendall(_head(key, "/v1/chat/completions", f"x-request-id: {abandoned}", length=len(body))
                 + body[: len(body) // 2])  # fmt: skip
    sock.close()
    finished = f"finished-{uuid.uuid4().hex}"
    with socket.create_connection(("127.0.0.1", gw.proc.port), timeout=30) as other:
        other.sendall(_head(key, "/v1/chat/completions", f"x-request-id: {finished}",
                            length=len(body)) + body)  # fmt: skip
        status, _, _ = Reader(other).response()
    assert status == 200
    assert (
        gw.ledger_row(finished)["status"] == 200
    )  # rows land in order: the abandoned one would be there
    with pytest.raises(AssertionError, match="no ledger row"):
        gw.ledger_row(abandoned, wait_s=0)
    assert sim.sim_requests() == before + 1  # only the finished request reached the provider


def test_a_stream_abandoned_after_its_first_event_is_still_settled_and_billed(
    gw: Gateway, key: str
) -> None:
    request_id = f"stream-{uuid.uuid4().hex}"
    body = _body(stream=True, max_tokens=400)
    sock = socket.create_connection(("127.0.0.1", gw.proc.port), timeout=30)
    try:
        sock.sendall(_head(key, "/v1/chat/completions", f"x-request-id: {request_id}",
                           length=len(body)) + body)  # fmt: skip
        reader = Reader(sock)
        status, headers = reader.head()
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        assert headers["transfer-encoding"] == "chunked"
        while b"data:" not in reader.buffer:
            reader._more()
    finally:
        sock.close()
    row = gw.ledger_row(request_id)
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0 and row["cost_usd"] > 0
    assert row["stream"]


def test_http10_wrong_method_and_connection_close_keep_their_meaning(
    gw: Gateway, conn: tuple[socket.socket, Reader], key: str
) -> None:
    sock, reader = conn
    sock.sendall(b"GET /v1/chat/completions HTTP/1.1\r\nhost: x\r\n\r\n")
    status, _, answer = reader.response()
    assert status == 405 and json.loads(answer)["error"]["code"] == "method_not_allowed"
    body = _body()
    sock.sendall(_head(key, "/v1/chat/completions", "connection: close", length=len(body)) + body)
    status, headers, answer = reader.response()
    assert status == 200 and headers["connection"] == "close" and json.loads(answer)["choices"]
    assert reader.closed()

    with socket.create_connection(("127.0.0.1", gw.proc.port), timeout=30) as old:
        head = _head(key, length=len(body)).replace(b"HTTP/1.1", b"HTTP/1.0", 1)
        old.sendall(head + body)
        old_reader = Reader(old)
        status, _, answer = old_reader.response()
        assert status == 200 and json.loads(answer)["choices"]
        assert old_reader.closed()  # HTTP/1.0 without keep-alive: closed after the answer


def test_requests_pipelined_behind_a_slow_one_are_answered_in_order(
    conn: tuple[socket.socket, Reader], key: str
) -> None:
    sock, reader = conn
    ids = [f"pipe-{i}-{uuid.uuid4().hex}" for i in range(3)]
    stream = _body(stream=True, max_tokens=50)
    full = _body()
    sock.sendall(
        _head(key, "/v1/chat/completions", f"x-request-id: {ids[0]}", length=len(stream)) + stream
        + _head(key, "/v1/chat/completions", f"x-request-id: {ids[1]}", length=len(full)) + full
        + _head("dm-wrong", "/v1/messages", f"x-request-id: {ids[2]}", length=len(full)) + full
    )  # fmt: skip
    answers = [reader.response() for _ in ids]
    assert [h["x-request-id"] for _, h, _ in answers] == ids
    assert [s for s, _, _ in answers] == [200, 200, 401]
    assert b"data: [DONE]" in answers[0][2]
    assert json.loads(answers[1][2])["choices"]
    assert json.loads(answers[2][2])["type"] == "error"


def test_a_kept_alive_connection_serves_many_in_a_row(
    conn: tuple[socket.socket, Reader], key: str
) -> None:
    sock, reader = conn
    body = _body()
    for _ in range(20):
        sock.sendall(_head(key, length=len(body)) + body)
        status, headers, answer = reader.response()
        assert status == 200 and "connection" not in headers and json.loads(answer)["choices"]
