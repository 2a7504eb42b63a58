"""The state of one request as it moves through the pipeline.

One mutable object per request, filled in stage by stage, so every stage and the final
bookkeeping (settle, ledger, metrics, log) read the same facts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from doorman.upstream.deployment import Deployment, Wire
from doorman.upstream.wire import Usage

if TYPE_CHECKING:
    from doorman.answer.stage import AnswerRun
    from doorman.audio.job import AudioJob
    from doorman.auth.authenticator import Principal
    from doorman.config import TierSettings
    from doorman.cost.billed import BilledInput
    from doorman.judge import GrayText, SideCall
    from doorman.schema import Request


@dataclass(slots=True)
class Exchange:
    request_id: str
    wire: Wire
    method: str
    path: str
    headers: dict[str, str]
    raw_body: bytes
    client_ip: str
    started: float = field(default_factory=time.perf_counter)
    started_wall: float = field(default_factory=time.time)

    body: dict[str, Any] = field(default_factory=dict)  # what is forwarded (unknown fields too)
    request: Request | None = None  # the typed request: what the gateway reads
    billed: BilledInput | None = None  # everything the provider bills as input
    stream: bool = False
    principal: Principal | None = None
    tier_name: str = ""
    tier: TierSettings | None = None
    requested_model: str = ""
    model: str = ""
    deployments: list[Deployment] = field(default_factory=list)
    task: str | None = None

    input_tokens: int = 0
    max_tokens: int = 0
    reservation: Any = None
    reserved_usd: float = 0.0
    limit_headers: dict[str, str] = field(default_factory=dict)

    served: Deployment | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    status: int = 200
    error_code: str | None = None
    attempts: int = 0
    flags: list[str] = field(default_factory=list)
    degraded: bool = False
    cache_hit: bool = False
    cache: Any = None  # doorman.cache.stage.CacheNote when the tier caches answers
    saved_usd: float = 0.0  # a cache hit: what the original call cost
    fast_digest: bytes | None = None  # the raw request's key on the cache-hit fast path
    screen_clean: bool = False  # screening ran (or is off) and found nothing, changed nothing
    routed_to: str | None = None  # the model a virtual model (routes:) picked
    output_guard: Any = None  # screen.output.OutputGuard when the tier screens answers
    canary: str | None = None  # per-request marker added to the system prompt
    approval_ids: list[str] = field(default_factory=list)  # tool calls withheld for approval
    upstream_started: float | None = None
    upstream_ms: float | None = None
    ttft_ms: float | None = None
    settled: bool = False
    audio: AudioJob | None = None  # transcriptions only: the clip, trimmed, and its seconds
    answer: AnswerRun | None = None  # the tier's output contract / topic check, when it has one
    gray_texts: list[GrayText] = field(default_factory=list)  # for the injection judge
    side_calls: list[SideCall] = field(default_factory=list)  # judges, contract retries: billed here

    @property
    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)
