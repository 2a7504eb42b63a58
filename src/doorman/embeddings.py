"""``POST /v1/embeddings`` through the same pipeline as chat.

Authenticated, screened for secrets and personal data (not for injection: embedding text is
indexed, not obeyed), limited and budgeted by its input tokens, priced, recorded in the ledger.
OpenAI format only; a model served by an Anthropic provider has no embeddings and gets a 400.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from doorman.cost.tokens import count_text
from doorman.errors import BadRequest, DoormanError, ModelNotFound
from doorman.exchange import Exchange
from doorman.pipeline import Authenticate, Pipeline, Reply, Route, Stage
from doorman.upstream.deployment import Deployment, Wire
from doorman.upstream.translate import Untranslatable
from doorman.upstream.wire import Usage, usage_from_body

if TYPE_CHECKING:
    from doorman.server.state import Gateway

_FIELD_HELP = {
    "input": "must be a string, an array of strings, or an array of token arrays",
    "model": "must be a non-empty string",
}
MAX_INPUTS = 2048  # OpenAI's limit on one request's list of inputs
_NO_INJECTION_SCREEN = {"injection": {"action": "off"}, "indirect_injection": {"action": "off"}}

EmbeddingInput = str | list[str] | list[int] | list[list[int]]


class EmbeddingsRequest(BaseModel):
    """The OpenAI embeddings request; unknown fields pass through to the provider."""

    model_config = ConfigDict(extra="allow", strict=True)

    model: str = Field(min_length=1)
    input: EmbeddingInput
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None


def _texts(value: EmbeddingInput) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if value and all(isinstance(v, str) for v in value):
        return [str(v) for v in value]
    return None  # token arrays


def count_input(value: EmbeddingInput, model: str) -> int:
    """Tokens the provider bills: text through the tokenizer, token arrays as given."""
    texts = _texts(value)
    if texts is not None:
        return sum(count_text(t, model) for t in texts)
    return sum(len(v) if isinstance(v, list) else 1 for v in value)


class ValidateEmbeddings:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        from doorman.validation import parse_json

        settings = self.gw.settings
        ex.body = parse_json(ex.raw_body, settings.server)
        try:
            request = EmbeddingsRequest.model_validate(ex.body)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = str(err["loc"][0]) if err["loc"] else "body"
            message = _FIELD_HELP.get(where, err["msg"])
            raise BadRequest(f"'{where}' {message}.", code="invalid_type", param=where) from None
        value = request.input
        if isinstance(value, list) and (not value or len(value) > MAX_INPUTS):
            raise BadRequest(
                f"'input' must hold 1 to {MAX_INPUTS} items.", code="invalid_value", param="input"
            )
        texts = _texts(value)
        if texts is not None and not any(t.strip() for t in texts):
            raise BadRequest("'input' has no text.", code="empty_prompt", param="input")
        assert ex.tier is not None
        if texts is not None and ex.tier.max_chars is not None:
            chars = sum(len(t) for t in texts)
            if chars > ex.tier.max_chars:
                raise BadRequest(
                    f"The input is too long for tier '{ex.tier_name}': {chars} characters > "
                    f"{ex.tier.max_chars}.",
                    code="prompt_too_long",
                    param="input",
                )
        ex.requested_model = request.model
        model = settings.resolve_model(request.model)
        if model is None:
            raise ModelNotFound(
                f"The model '{request.model}' does not exist or is not served by this gateway.",
                param="model",
            )
        allowed = ex.tier.models
        if allowed and model not in allowed and request.model not in allowed:
            from doorman.errors import PermissionDenied

            raise PermissionDenied(
                f"The model '{request.model}' is not allowed for tier '{ex.tier_name}'.",
                code="model_not_allowed",
                param="model",
            )
        ex.model = model


class ScreenEmbeddings:
    """Secrets and personal data in the texts, with the tier's policies (redact, block, flag)."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        screener = self.gw.screener
        texts = _texts(ex.body["input"])
        if screener is None or texts is None:
            return
        assert ex.tier is not None
        overrides = {**(ex.tier.screening or {}), **_NO_INJECTION_SCREEN}
        chat = {"messages": [{"role": "user", "content": t} for t in texts]}
        verdict = screener.screen_chat(chat, "openai", overrides)
        ex.flags.extend(verdict.flags)
        if verdict.error is not None:
            raise verdict.error
        if verdict.body is not chat:
            redacted = [m["content"] for m in verdict.body["messages"]]
            single = isinstance(ex.body["input"], str)
            ex.body = {**ex.body, "input": redacted[0] if single else redacted}


class AdmitEmbeddings:
    """Reserve the input tokens (and their price) in every scope; there is no output."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        assert ex.tier is not None
        ex.input_tokens = count_input(ex.body["input"], ex.model)
        cap = ex.tier.max_input_tokens
        if cap is not None and ex.input_tokens > cap:
            raise BadRequest(
                f"The input has {ex.input_tokens} tokens; tier '{ex.tier_name}' allows {cap}.",
                code="input_tokens_exceeded",
                param="input",
            )
        admission = await self.gw.admit(ex, 1)  # one token of slack, refunded at settlement
        ex.max_tokens = 0
        ex.reservation = admission.reservation
        ex.reserved_usd = admission.reserved_usd
        ex.limit_headers = admission.headers


class EmbeddingsPipeline(Pipeline):
    def __init__(self, gw: Gateway) -> None:
        super().__init__(gw)
        self.stages: list[Stage] = [
            Authenticate(gw),
            ValidateEmbeddings(gw),
            ScreenEmbeddings(gw),
            Route(gw),
            AdmitEmbeddings(gw),
        ]

    def upstream_body(self, ex: Exchange, dep: Deployment, wire: Wire) -> dict[str, Any]:
        if wire != "openai":
            raise Untranslatable("model", "embeddings need an OpenAI-compatible provider")
        return {**ex.body, "model": dep.upstream_model}

    async def forward(self, ex: Exchange) -> Reply:
        gw = self.gw
        deadline = time.monotonic() + gw.settings.server.request_timeout_s
        ex.upstream_started = time.perf_counter()

        def count_attempt(dep: Deployment) -> None:
            ex.attempts += 1

        try:
            reply = await gw.dispatcher.send(
                ex.deployments,
                "openai",
                lambda dep, wire: self.upstream_body(ex, dep, wire),
                stream=False,
                deadline=deadline,
                on_attempt=count_attempt,
                endpoint="embeddings",
            )
        except DoormanError as exc:
            final = gw.degraded_error(ex, exc)
            raise final from None if final is not exc else exc
        ex.served = reply.deployment
        if reply.deployment.model != ex.model:
            ex.flags.append("fallback")
        ex.upstream_ms = ex.ttft_ms = (time.perf_counter() - ex.upstream_started) * 1000
        body = reply.body or b""
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        usage = usage_from_body("openai", parsed) if isinstance(parsed, dict) else None
        ex.usage = usage or Usage(input_tokens=ex.input_tokens)
        ex.status = reply.status
        await self.finish(ex)
        return Reply(reply.status, self.response_headers(ex), body=body)
