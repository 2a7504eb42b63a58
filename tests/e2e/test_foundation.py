"""Issue 2 end to end: what a new user of Doorman notices first.

Config validation from the command line, the zero-config gateway, the simulated provider as its
own server, upstream failures as the official SDKs see them, provider-key hygiene, and the one
structured log line per request. Every process is real (``doorman serve``, ``doorman sim``).
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from harness import Gateway, Proc, run_cli, sim_config, start_gateway, start_serve, start_sim
from services import free_port

MSG = [{"role": "user", "content": "Say something short."}]

# ----------------------------------------------------------------------------- check-config

BAD_CONFIG = """
providers:
  p1: {kind: openai, base_url: "http://127.0.0.1:9/v1"}
models:
  m1: {provider: nowhere, price: {input: 1.0, output: 2.0}}
tiers:
  pro: {requests_per_minute: -5}
  free:
    screening: {injection: {action: nuke}}
"""

BAD_PATHS = (
    "tiers.pro.requests_per_minute",
    "models.m1.provider",
    "tiers.free.screening.injection.action",
)

GOOD_CONFIG = """
database_url: sqlite+aiosqlite:///./doorman.db
redis_url: null
providers:
  openai: {kind: openai, base_url: "https://api.openai.com/v1", api_key_env: OPENAI_API_KEY}
  local:  {kind: openai, base_url: "http://127.0.0.1:8000/v1", api_key_env: LOCAL_KEY}
  claude: {kind: anthropic, base_url: "https://api.anthropic.com", api_key_env: ANTHROPIC_API_KEY}
models:
  gpt-4o-mini: {provider: openai, price: {input: 0.15, output: 0.60, cached_input: 0.075}}
  claude-3-5-haiku: {provider: claude, price: {input: 0.80, output: 4.00}, fallbacks: [gpt-4o-mini]}
tiers:
  free: {requests_per_minute: 10, tokens_per_minute: 20000, tokens_per_day: 10000, max_output_tokens: 500, daily_budget_usd: 1.0, max_concurrent: 2}
  pro:  {requests_per_minute: 60, tokens_per_minute: 200000, tokens_per_day: 100000, max_output_tokens: 4000, daily_budget_usd: 50.0, max_concurrent: 10}
"""


def _problem_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith("- ")]


def test_check_config_reports_every_problem_with_its_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_CONFIG)
    out = run_cli(tmp_path, "check-config", str(bad), check=False)
    assert out.returncode == 2, out
    text = out.stdout + out.stderr
    problems = _problem_lines(text)
    for path in BAD_PATHS:
        assert any(p.startswith(f"- {path}:") for p in problems), (path, text)
    assert "nowhere" in text  # the unknown provider is named
    assert "nuke" in text or "'block'" in text  # the bad action, or what is allowed instead

    good = tmp_path / "good.yaml"
    good.write_text(GOOD_CONFIG)
    # The secrets the file names must be set too (issue 19: checked before serving).
    secrets = {"OPENAI_API_KEY": "sk-o", "LOCAL_KEY": "sk-l", "ANTHROPIC_API_KEY": "sk-a"}
    ok = run_cli(tmp_path, "check-config", str(good), env=secrets, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK" in ok.stdout


def test_serve_refuses_a_bad_config_with_the_same_messages(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_CONFIG)
    checked = run_cli(tmp_path, "check-config", str(bad), check=False)
    port = free_port()
    # A server that wrongly starts would run until the timeout and fail the test.
    served = run_cli(
        tmp_path, "serve", "--config", str(bad), "--port", str(port), check=False, timeout=30
    )
    assert served.returncode != 0
    assert sorted(_problem_lines(served.stdout + served.stderr)) == sorted(
        _problem_lines(checked.stdout + checked.stderr)
    )
    assert len(_problem_lines(served.stdout + served.stderr)) >= len(BAD_PATHS)
    assert not (tmp_path / "doorman.db").exists()  # nothing half-started


# ----------------------------------------------------------------------------- zero config


@pytest.fixture(scope="module")
def default_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    """``doorman serve --port P`` with no config in an empty directory: the README's first step."""
    workdir = tmp_path_factory.mktemp("zero-config")
    assert not any(workdir.iterdir())
    port = free_port()
    proc = start_serve(workdir, port, "--port", str(port))
    yield proc
    proc.stop()


def test_zero_config_gateway_serves_the_builtin_sim_models(default_gateway: Proc) -> None:
    workdir = default_gateway.log_path.parent
    assert (workdir / "doorman.db").is_file()  # SQLite in the working directory
    created = run_cli(workdir, "keys", "create", "--user", "u", "--tier", "free", "--json")
    key = json.loads(created.stdout)
    assert key["tier"] == "free" and key["key"]

    client = openai.OpenAI(base_url=f"{default_gateway.url}/v1", api_key=key["key"], max_retries=0)
    ids = {m.id for m in client.models.list()}
    assert {"sim-small", "sim-large"} <= ids
    completion = client.chat.completions.create(model="sim-small", messages=MSG, max_tokens=8)  # type: ignore[arg-type]
    assert completion.choices[0].message.content
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens == 8


def test_zero_config_anthropic_stream_yields_text_and_usage(default_gateway: Proc) -> None:
    workdir = default_gateway.log_path.parent
    key = json.loads(
        run_cli(workdir, "keys", "create", "--user", "v", "--tier", "free", "--json").stdout
    )["key"]
    claude = anthropic.Anthropic(base_url=default_gateway.url, api_key=key, max_retries=0)
    # Longer than output screening's hold-back window (160 characters), which delays the start.
    with claude.messages.stream(model="sim-claude", max_tokens=80, messages=MSG) as stream:  # type: ignore[arg-type]
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 1  # streamed, not one block
    assert final.content[0].type == "text" and "".join(pieces) == final.content[0].text
    assert final.usage.output_tokens == 80 and final.usage.input_tokens > 0


# ----------------------------------------------------------------------------- the sim alone


def _sim_chat(sim: Proc, max_tokens: int, wire: str = "openai") -> httpx.Response:
    path = "/v1/messages" if wire == "anthropic" else "/v1/chat/completions"
    return httpx.post(
        f"{sim.url}{path}",
        json={"model": "any-model", "messages": MSG, "max_tokens": max_tokens},
        timeout=10,
    )


def test_sim_error_rate_answers_5xx_and_counts_faults(tmp_path: Path) -> None:
    sim = start_sim(tmp_path, "--error-rate", "1.0")
    try:
        replies = [_sim_chat(sim, 5) for _ in range(6)] + [_sim_chat(sim, 5, "anthropic")]
        assert {r.status_code for r in replies} <= {500, 503}
        assert all(r.json()["error"]["message"] for r in replies[:-1])  # OpenAI error shape
        assert replies[-1].json()["type"] == "error"  # Anthropic error shape
        stats = httpx.get(f"{sim.url}/sim/stats").json()
        assert stats["requests"] == 7
        assert stats["faults"] == {"error": 7}
        assert stats["ok"] == 0
    finally:
        sim.stop()


def test_sim_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    sim = start_sim(tmp_path, "--rate-limit-rate", "1.0", "--retry-after", "2")
    try:
        for wire in ("openai", "anthropic"):
            r = _sim_chat(sim, 5, wire)
            assert r.status_code == 429
            assert float(r.headers["retry-after"]) == 2
        stats = httpx.get(f"{sim.url}/sim/stats").json()
        assert stats["requests"] == 2 and stats["faults"] == {"rate_limit": 2}
    finally:
        sim.stop()


def test_sim_reply_length_follows_max_tokens(sim: Proc) -> None:
    for wire, usage_key in (("openai", "completion_tokens"), ("anthropic", "output_tokens")):
        short, long = _sim_chat(sim, 5, wire).json(), _sim_chat(sim, 40, wire).json()
        assert short["usage"][usage_key] == 5
        assert long["usage"][usage_key] == 40
    short_text = _sim_chat(sim, 5).json()["choices"][0]["message"]["content"]
    long_text = _sim_chat(sim, 40).json()["choices"][0]["message"]["content"]
    assert len(long_text) > len(short_text)
    assert _sim_chat(sim, 5).json()["choices"][0]["message"]["content"] == short_text  # deterministic
    assert httpx.get(f"{sim.url}/sim/stats").json()["requests"] >= 7


# ----------------------------------------------------------------------------- a gateway over
# a healthy sim, a stalled sim, a rate-limited sim and an upstream that checks provider keys

ENV_KEY = "sk-doorman-e2e-ENVKEY-7f3a9c1e5b2d4f60a8e1"
FILE_KEY = "sk-ant-doorman-e2e-FILEKEY-2c9e4b7a1d3f5e80b6c2"
PROMPT_MARKER = "zebra-quokka-4417"


class _KeyEchoingUpstream(BaseHTTPRequestHandler):
    """An OpenAI/Anthropic-shaped upstream that records the credential it receives.

    The model name picks the answer: ``*-ok`` a normal reply; ``*-401``/``*-400``/``*-500`` an
    error whose message quotes the credential back, as some providers and proxies do.
    """

    seen: list[str]

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.loads(raw or b"{}")
        anthropic_wire = self.path.endswith("/messages")
        cred = self.headers.get("x-api-key" if anthropic_wire else "authorization") or ""
        type(self).seen.append(cred)
        model = str(body.get("model", ""))
        status = 200 if model.endswith("-ok") else int(model.rsplit("-", 1)[-1])
        data: dict[str, Any]
        if status != 200:
            message = f"Incorrect API key provided: {cred}. Check your credentials."
            if anthropic_wire:
                data = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
            else:
                data = {"error": {"message": message, "type": "invalid_request_error",
                                  "param": None, "code": "invalid_api_key"}}  # fmt: skip
        elif anthropic_wire:
            data = {
                "id": "msg_echo", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": "echo reply"}], "stop_reason": "end_turn",
                "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 2},
            }  # fmt: skip
        else:
            data = {
                "id": "chatcmpl-echo", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "echo reply"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
            }  # fmt: skip
        out = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def key_upstream() -> Iterator[tuple[str, list[str]]]:
    class Handler(_KeyEchoingUpstream):
        pass

    Handler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Handler.seen
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def bad_sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Proc]]:
    work = tmp_path_factory.mktemp("bad-sims")
    procs = {
        "stalled": start_sim(work, "--stall-rate", "1.0"),
        "limited": start_sim(work, "--rate-limit-rate", "1.0", "--retry-after", "2"),
    }
    yield procs
    procs["stalled"].stop(signal.SIGKILL)  # its handlers sleep for an hour
    procs["limited"].stop()


@pytest.fixture(scope="module")
def gw(
    sim: Proc,
    bad_sims: dict[str, Proc],
    key_upstream: tuple[str, list[str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    workdir = Path(tmp_path_factory.mktemp("foundation-gw"))
    secret_file = workdir / "provider-key.secret"
    secret_file.write_text(FILE_KEY + "\n")
    echo_url, _ = key_upstream
    config = sim_config(sim)
    price = {"input": 1.0, "output": 2.0}
    config["providers"].update(
        {
            "stalled": {"kind": "openai", "base_url": f"{bad_sims['stalled'].url}/v1"},
            "limited": {"kind": "openai", "base_url": f"{bad_sims['limited'].url}/v1"},
            "echo-env": {"kind": "openai", "base_url": f"{echo_url}/v1",
                         "api_key_env": "DM_E2E_PROVIDER_KEY"},
            "echo-file": {"kind": "anthropic", "base_url": echo_url,
                          "api_key_env": "DM_E2E_FILE_PROVIDER_KEY"},
        }
    )  # fmt: skip
    models = {
        "stalled-model": "stalled",
        "limited-model": "limited",
        **{f"env-{s}": "echo-env" for s in ("ok", "401", "400", "500")},
        **{f"file-{s}": "echo-file" for s in ("ok", "401", "400", "500")},
    }
    for name, provider in models.items():
        config["models"][name] = {"provider": provider, "price": price}
    config["server"] = {"request_timeout_s": 2}
    config["reliability"] = {
        "max_attempts": 2,
        "backoff_base_s": 0.05,
        "backoff_max_s": 0.1,
        "max_retry_after_s": 1,  # the sim's retry-after of 2 s is returned, not waited for
    }
    env = {"DM_E2E_PROVIDER_KEY": ENV_KEY, "DM_E2E_FILE_PROVIDER_KEY_FILE": str(secret_file)}
    gateway = start_gateway(workdir, config, env=env)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def gw_key(gw: Gateway) -> dict[str, Any]:
    return gw.create_key("founder", "enterprise")


def _openai(gw: Gateway, key: str, timeout: float = 30) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gw.url}/v1", api_key=key, max_retries=0, timeout=timeout)


def test_stalled_upstream_is_a_504_api_status_error(gw: Gateway, gw_key: dict[str, Any]) -> None:
    # request_timeout_s is 2: the SDK's own 15 s timeout only fires if the gateway hangs.
    with pytest.raises(openai.APIStatusError) as exc:
        _openai(gw, gw_key["key"], timeout=15).chat.completions.create(
            model="stalled-model", messages=MSG, max_tokens=5  # type: ignore[arg-type]
        )
    assert exc.value.status_code == 504
    assert exc.value.code == "upstream_timeout"


def test_upstream_429_is_a_rate_limit_error(
    gw: Gateway, gw_key: dict[str, Any], bad_sims: dict[str, Proc]
) -> None:
    limited = bad_sims["limited"]
    before = httpx.get(f"{limited.url}/sim/stats").json()["requests"]
    with pytest.raises(openai.RateLimitError) as exc:
        _openai(gw, gw_key["key"]).chat.completions.create(
            model="limited-model", messages=MSG, max_tokens=5  # type: ignore[arg-type]
        )
    assert float(exc.value.response.headers["retry-after"]) >= 1
    calls = httpx.get(f"{limited.url}/sim/stats").json()["requests"] - before
    assert 1 <= calls <= 2  # it reached the upstream; at most max_attempts tries


def _leaks(text: str, secret: str) -> bool:
    """The whole secret, or any 16-character piece of it, in ``text``."""
    return any(secret[i : i + 16] in text for i in range(len(secret) - 15))


def _call(gw: Gateway, key: str, model: str, wire: str) -> httpx.Response:
    if wire == "anthropic":
        return httpx.post(
            f"{gw.url}/v1/messages",
            headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
            json={"model": model, "messages": MSG, "max_tokens": 5},
            timeout=30,
        )
    return httpx.post(
        f"{gw.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": model, "messages": MSG, "max_tokens": 5},
        timeout=30,
    )


KEY_SOURCES = [
    pytest.param("env", ENV_KEY, "openai", f"Bearer {ENV_KEY}", id="api_key_env"),
    pytest.param("file", FILE_KEY, "anthropic", FILE_KEY, id="NAME_FILE"),
]


@pytest.mark.parametrize(("prefix", "secret", "wire", "sent"), KEY_SOURCES)
def test_provider_key_is_sent_upstream_but_never_shown(
    gw: Gateway,
    gw_key: dict[str, Any],
    key_upstream: tuple[str, list[str]],
    prefix: str,
    secret: str,
    wire: str,
    sent: str,
) -> None:
    _, seen = key_upstream
    ok = _call(gw, gw_key["key"], f"{prefix}-ok", wire)
    assert ok.status_code == 200, ok.text
    assert seen and seen[-1] == sent  # read from the environment / secret file and used
    refused = _call(gw, gw_key["key"], f"{prefix}-401", wire)
    assert refused.status_code >= 500  # the gateway's credentials, not the caller's
    for r in (ok, refused):
        assert not _leaks(r.text, secret) and not _leaks(str(r.headers), secret)
    assert not _leaks(gw.proc.log(), secret)


@pytest.mark.parametrize(("prefix", "secret", "wire", "sent"), KEY_SOURCES)
@pytest.mark.parametrize("status", [400, 500])
def test_upstream_error_quoting_the_provider_key_is_not_passed_on(
    gw: Gateway,
    gw_key: dict[str, Any],
    key_upstream: tuple[str, list[str]],
    prefix: str,
    secret: str,
    wire: str,
    sent: str,
    status: int,
) -> None:
    _, seen = key_upstream
    r = _call(gw, gw_key["key"], f"{prefix}-{status}", wire)
    assert seen and seen[-1] == sent
    assert r.status_code >= 400
    assert not _leaks(r.text, secret), r.text
    assert not _leaks(gw.proc.log(), secret)


# ----------------------------------------------------------------------------- request log


def _request_lines(gw: Gateway, request_id: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The ``request`` log events for ``request_id`` (waits briefly: logged after the reply)."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for line in gw.proc.log().splitlines():
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "request" and event.get("request_id") == request_id:
                found.append(event)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_one_structured_log_line_per_request(gw: Gateway, gw_key: dict[str, Any]) -> None:
    client = _openai(gw, gw_key["key"])
    prompt = [{"role": "user", "content": f"Tell me about the {PROMPT_MARKER} protocol."}]
    raw = client.chat.completions.with_raw_response.create(
        model="sim-small", messages=prompt, max_tokens=7,  # type: ignore[arg-type]
        extra_headers={"x-request-id": "test-123"},
    )
    usage = raw.parse().usage
    assert raw.headers["x-request-id"] == "test-123" and usage is not None
    lines = _request_lines(gw, "test-123")
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["key_id"] == gw_key["id"]
    assert line["model"] == "sim-small"
    assert line["status"] == 200
    assert line["input_tokens"] == usage.prompt_tokens
    assert line["output_tokens"] == usage.completion_tokens == 7
    assert isinstance(line["gateway_ms"], int | float) and line["gateway_ms"] > 0
    assert isinstance(line["upstream_ms"], int | float) and line["upstream_ms"] >= 0

    # A stream and a refused request get their line too.
    list(client.chat.completions.create(
        model="sim-small", messages=prompt, max_tokens=4, stream=True,  # type: ignore[arg-type]
        extra_headers={"x-request-id": "test-124"},
    ))  # fmt: skip
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="no-such-model", messages=prompt,  # type: ignore[arg-type]
            extra_headers={"x-request-id": "test-125"},
        )
    (streamed,) = _request_lines(gw, "test-124")
    assert streamed["status"] == 200 and streamed["output_tokens"] == 4
    (refused,) = _request_lines(gw, "test-125")
    assert refused["status"] == 404 and refused["key_id"] == gw_key["id"]

    log = gw.proc.log()
    assert PROMPT_MARKER not in log  # no bodies by default
    assert gw_key["key"] not in log  # the caller's secret is never logged either


def test_screening_log_lines_name_their_request(gw: Gateway, gw_key: dict[str, Any]) -> None:
    client = _openai(gw, gw_key["key"])
    client.chat.completions.create(
        model="sim-small", max_tokens=3,
        messages=[{"role": "user", "content": "Mail the summary to jane.doe@example.com please."}],
        extra_headers={"x-request-id": "test-126"},
    )  # fmt: skip
    deadline = time.monotonic() + 5
    found: list[dict[str, Any]] = []
    while not found and time.monotonic() < deadline:
        for line in gw.proc.log().splitlines():
            if line.startswith("{") and '"screening"' in line:
                event = json.loads(line)
                if event.get("event") == "screening" and event.get("request_id") == "test-126":
                    found.append(event)
        time.sleep(0.1)
    assert found, "no screening log line carries the request id"
    assert "jane.doe@example.com" not in gw.proc.log()  # the finding is logged, not the text
