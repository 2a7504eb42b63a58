"""The built-in simulator's controls must not be reachable through the gateway's port.

An outside review turned every caller's 200 into a 503 with one unauthenticated
``POST /_sim/sim/configure {"error_rate": 1.0}`` on a zero-config gateway.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import openai
import pytest
from hostile_kit import new_key, zero_config

from harness import Proc

__all__ = ["zero_config"]

PROBES = [
    ("POST", "/_sim/sim/configure"),
    ("POST", "/sim/configure"),
    ("POST", "/_sim/sim/reset"),
    ("GET", "/_sim/sim/stats"),
    ("GET", "/sim/stats"),
    ("POST", "/_sim/v1/chat/completions"),
    ("POST", "/_sim/v1/messages"),
    ("GET", "/_sim/v1/models"),
]


@pytest.mark.parametrize(("method", "path"), PROBES)
def test_no_simulator_route_answers_on_the_gateway_port(
    zero_config: Proc, method: str, path: str
) -> None:
    body = {"error_rate": 1.0, "model": "sim-small", "messages": [{"role": "user", "content": "x"}]}
    r = httpx.request(method, zero_config.url + path, json=body if method == "POST" else None)
    assert r.status_code == 404, (path, r.status_code, r.text)
    assert r.json()["error"]["code"] == "unknown_route"


def test_callers_still_get_answers_after_an_attempt_to_break_the_simulator(
    zero_config: Proc,
) -> None:
    for path in ("/_sim/sim/configure", "/sim/configure"):
        httpx.post(zero_config.url + path, json={"error_rate": 1.0, "stall_rate": 1.0})
    client = openai.OpenAI(
        base_url=f"{zero_config.url}/v1", api_key=new_key(zero_config), max_retries=0
    )
    for _ in range(5):
        reply = client.chat.completions.create(
            model="sim-small", messages=[{"role": "user", "content": "Hello"}], max_tokens=5
        )
        assert reply.choices[0].message.content


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _listening_tcp_ports(pid: int) -> set[int]:
    inodes = _socket_inodes(pid)
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _listening_unix_paths(pid: int) -> list[str]:
    inodes = _socket_inodes(pid)
    paths = []
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        # fields: Num RefCount Protocol Flags Type St Inode [Path]; flags 00010000 = listening
        if len(fields) >= 8 and fields[6] in inodes and int(fields[3], 16) & 0x10000:
            paths.append(fields[7])
    return paths


def test_the_gateway_listens_on_its_own_port_only_and_the_sim_socket_is_private(
    zero_config: Proc,
) -> None:
    pid = zero_config.popen.pid
    assert _listening_tcp_ports(pid) == {zero_config.port}
    sim_sockets = _listening_unix_paths(pid)
    assert sim_sockets, "the built-in simulator should listen on a unix socket"
    for path in sim_sockets:
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
