"""Files and secrets at rest, and secrets in mid-stream errors.

The review found ``doorman.db`` created 0644 (ledger, audit log and key hashes readable by every
local user) and mid-stream upstream error events relayed unscrubbed.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from harness import Gateway, start_gateway

PROVIDER_KEY = "sk-upstream-" + "Q7w" * 12


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


class _BreakingUpstream(BaseHTTPRequestHandler):
    """An OpenAI-style provider that fails mid-stream, echoing the key it was sent."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        sent = self.headers.get("authorization", "")
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        delta = ('{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",'
                 '"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}')  # fmt: skip
        error = ('{"error":{"message":"Incorrect API key provided: ' + sent.removeprefix("Bearer ")
                 + ' (key ' + PROVIDER_KEY + ')","type":"invalid_request_error"}}')  # fmt: skip
        self.wfile.write(f"data: {delta}\n\ndata: {error}\n\n".encode())
        self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def breaking_upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BreakingUpstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def gw(breaking_upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = Path(tmp_path_factory.mktemp("at-rest"))
    os.chmod(workdir, 0o755)
    config = {
        "database_url": f"sqlite+aiosqlite:///{workdir}/state/doorman.db",
        "providers": {"breaking": {"kind": "openai", "base_url": breaking_upstream,
                                   "api_key_env": "BREAKING_KEY"}},
        "models": {"broken": {"provider": "breaking", "price": {"input": 1.0, "output": 1.0}}},
    }
    env = {"BREAKING_KEY": PROVIDER_KEY, "DOORMAN_PEPPER": ""}  # the pepper file is created
    gateway = start_gateway(workdir, config, env=env)
    yield gateway
    gateway.stop()


def test_database_wal_and_state_directory_are_private(gw: Gateway) -> None:
    key = gw.create_key("owner", "pro")["key"]
    body = {"model": "broken", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
    httpx.post(f"{gw.url}/v1/chat/completions", json=body,
               headers={"authorization": f"Bearer {key}"})  # fmt: skip  # something to write
    state = gw.workdir / "state"
    assert _mode(state) == 0o700
    files = [state / "doorman.db", state / "doorman.db-wal", state / "doorman.db-shm"]
    for path in files:
        assert path.exists(), path
        assert _mode(path) == 0o600, (path, oct(_mode(path)))
    dot = state / ".doorman"  # the generated state lives next to the SQLite file
    assert _mode(dot) == 0o700
    for path in dot.iterdir():
        assert _mode(path) == 0o600, path


def test_mid_stream_upstream_errors_reach_the_client_without_secrets(gw: Gateway) -> None:
    key = gw.create_key("streamer", "pro")["key"]
    body = {"model": "broken", "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 3, "stream": True}  # fmt: skip
    with httpx.stream("POST", f"{gw.url}/v1/chat/completions", json=body,
                      headers={"authorization": f"Bearer {key}"}) as r:  # fmt: skip
        text = "".join(r.iter_text())
    assert "Hel" in text  # the stream was relayed
    assert "Incorrect API key provided" in text  # and so was the error event
    assert PROVIDER_KEY not in text and PROVIDER_KEY[:20] not in text
    assert "[redacted]" in text
    assert PROVIDER_KEY not in gw.proc.log()


SIGNED_TIER = {"signed": {"require_signature": True, "requests_per_minute": 60}}


@pytest.mark.postgres
def test_signed_requests_without_a_shared_nonce_store_refuse_to_start(
    postgres_url: str, tmp_path: Path
) -> None:
    config = {"database_url": postgres_url, "tiers": SIGNED_TIER}
    with pytest.raises(RuntimeError) as refused:
        start_gateway(tmp_path / "replica", config).stop()
    message = str(refused.value)
    assert "gateway exited" in message
    assert "no shared nonce store" in message and "redis_url" in message
    # The operator who knows this is the only process says so, and it starts.
    config["auth"] = {"single_replica": True}
    start_gateway(tmp_path / "single", config).stop()
