"""One sim process and one gateway process shared by the end-to-end tests of a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness import Gateway, Proc, serving, sim_config, start_sim


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    proc = start_sim(tmp_path_factory.mktemp("sim"))
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def gateway(sim: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = sim_config(
        sim,
        tiny={"requests_per_minute": 3, "max_output_tokens": 50, "max_messages": 4},
        pro={"requests_per_minute": 1000, "tokens_per_minute": 10_000_000, "max_output_tokens": 4000},
    )
    config["server"] = {"max_body_bytes": 64 * 1024, "max_json_depth": 12}
    yield from serving(tmp_path_factory, config)


@pytest.fixture(scope="module")
def api_key(gateway: Gateway) -> str:
    return str(gateway.create_key("alice", "pro")["key"])
