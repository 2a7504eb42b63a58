"""Configuration: one YAML file plus environment variables, validated by pydantic.

Secrets (provider keys, master key, pepper) never come from the YAML: the YAML names the
environment variable (``api_key_env``) and :func:`read_secret` resolves it from the
environment, a ``.env`` file, or a ``NAME_FILE`` secret file.
"""

from __future__ import annotations

import copy
import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from doorman.answer.settings import AnswerSettings, anchor_schema_files
from doorman.approvals.settings import ApprovalSettings
from doorman.audio.settings import AudioSettings, TierAudioSettings
from doorman.auth.settings import AuthSettings, ConsoleSettings
from doorman.cache.settings import ResponseCacheSettings, TierCache
from doorman.limits.settings import LimitsSettings
from doorman.observe.settings import AlertSettings, AnomalySettings
from doorman.routing import RouteRule, route_problems
from doorman.screen.settings import ScreeningSettings, effective_settings
from doorman.secrets import read_secret
from doorman.tool_policy import ToolPolicy
from doorman.upstream.settings import ReliabilitySettings


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a config file must never be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ServerSettings(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_messages: int = Field(256, ge=1)
    max_json_depth: int = Field(32, ge=2)
    max_header_bytes: int = Field(
        8192, ge=256, description="request line + headers, in bytes; larger heads get 431"
    )
    header_timeout_s: float = Field(
        10.0, gt=0, description="time allowed to receive a request's line and headers"
    )
    body_timeout_s: float = Field(
        60.0, gt=0, description="time allowed to receive a request body once its headers are in"
    )
    keepalive_timeout_s: float = Field(5.0, gt=0, description="idle keep-alive connections close")
    max_connections: int = Field(
        4096, ge=16, description="open connections per worker; more are refused at once"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="CIDRs of reverse proxies whose X-Forwarded-For is believed; none by default",
    )
    request_timeout_s: float = Field(600.0, gt=0, description="total deadline of one request")
    log_level: str = "info"
    log_bodies: bool = False
    metrics_token_env: str | None = Field(
        None,
        description="name of a secret (env, NAME_FILE or .env) holding the bearer token that "
        "GET /metrics then requires; unset, /metrics is open (bind it to your scrapers only)",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        out = []
        for i, item in enumerate(value):
            try:
                out.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError:
                raise ValueError(
                    f"item {i}: '{item}' is not an IP address or CIDR (e.g. 10.0.0.0/8)"
                ) from None
        return out


class ProviderSettings(Strict):
    """One upstream deployment target. ``sim`` is the built-in simulated provider."""

    kind: Literal["openai", "anthropic", "sim"]
    base_url: str | None = None
    api_key_env: str | None = None
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(120.0, gt=0)
    total_timeout_s: float = Field(600.0, gt=0)
    max_connections: int = Field(200, ge=1)
    max_concurrent: int | None = Field(None, ge=1)
    headers: dict[str, str] = Field(default_factory=dict)
    anthropic_version: str = "2023-06-01"

    @model_validator(mode="after")
    def _needs_url(self) -> ProviderSettings:
        if self.kind != "sim" and not self.base_url:
            raise ValueError(f"base_url is required for kind '{self.kind}'")
        return self

    def api_key(self) -> str | None:
        return read_secret(self.api_key_env) if self.api_key_env else None


class Price(Strict):
    """USD per 1M tokens; ``per_audio_minute`` is USD per minute of audio (transcription)."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(None, ge=0)
    cache_write: float | None = Field(
        None, ge=0, description="prompt-cache writes (Anthropic); unset: the input price"
    )
    per_audio_minute: float | None = Field(None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _audio_only(cls, data: Any) -> Any:
        # A transcription model is priced by the minute alone: token prices default to 0.
        if isinstance(data, dict) and data.get("per_audio_minute") is not None:
            data = {"input": 0.0, "output": 0.0, **data}
        return data


class DegradedPolicy(Strict):
    """What a caller gets when every deployment of a model is down."""

    mode: Literal["message", "error"] = "error"
    message: str = (
        "The assistant is temporarily unavailable. Please try again shortly; "
        "no action has been taken."
    )


class ModelSettings(Strict):
    provider: str
    upstream_model: str | None = Field(None, description="name sent to the provider")
    price: Price | None = None
    fallbacks: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    context_window: int | None = Field(None, ge=1)
    max_output_tokens: int | None = Field(None, ge=1)
    count_safety_factor: float | None = Field(
        None,
        ge=1,
        le=10,
        description="multiplies counted text tokens when this model's tokenizer is not "
        "available here (overrides limits.count_safety_factor and the built-in table)",
    )
    degraded: DegradedPolicy | None = None
    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1)
    max_concurrent: int | None = Field(None, ge=1)
    output: AnswerSettings | None = Field(
        None, description="output contract / topic check of this model's answers"
    )

    @field_validator("price", mode="before")
    @classmethod
    def _free(cls, value: Any) -> Any:
        # `price: free` is the explicit way to say a model costs nothing (a local model);
        # leaving the price out is a check-config error unless a built-in price applies.
        if isinstance(value, str):
            if value.strip().lower() != "free":
                raise ValueError("must be {input: ..., output: ...} (USD per 1M tokens) or 'free'")
            return {"input": 0.0, "output": 0.0}
        return value


class TierSettings(Strict):
    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1)
    tokens_per_day: int | None = Field(None, ge=1)
    max_output_tokens: int = Field(4096, ge=1)
    max_input_tokens: int | None = Field(None, ge=1)
    daily_budget_usd: float | None = Field(None, ge=0)
    monthly_budget_usd: float | None = Field(None, ge=0)
    max_concurrent: int | None = Field(None, ge=1)
    max_messages: int | None = Field(None, ge=1)
    max_chars: int | None = Field(None, ge=1)
    require_signature: bool = False
    key_expiry_days: int = Field(90, ge=1)
    shrink_max_tokens: bool = False
    min_max_tokens: int = Field(16, ge=1)
    priority: int = Field(0, description="higher is served first from queues")
    models: list[str] | None = Field(None, description="allowed models; null means all")
    screening: dict[str, Any] | None = Field(None, description="overrides of `screening`")
    degraded: DegradedPolicy | None = None
    anomaly_action: Literal["alert", "suspend"] = "alert"
    tools: ToolPolicy | None = Field(None, description="tools this tier may declare")
    cache: TierCache = Field(default_factory=TierCache, description="response cache")
    audio: TierAudioSettings = Field(default_factory=TierAudioSettings)
    output: AnswerSettings | None = Field(
        None, description="output contract / topic check (replaces the model's `output`)"
    )


DEFAULT_TIERS: dict[str, TierSettings] = {
    "free": TierSettings(
        requests_per_minute=10,
        tokens_per_minute=20_000,
        tokens_per_day=10_000,
        max_output_tokens=500,
        daily_budget_usd=1.0,
        max_concurrent=2,
        max_messages=50,
        max_chars=20_000,
        key_expiry_days=30,
        audio=TierAudioSettings(max_audio_seconds=60, seconds_per_minute=120, seconds_per_day=1800),
    ),
    "pro": TierSettings(
        requests_per_minute=60,
        tokens_per_minute=200_000,
        tokens_per_day=100_000,
        max_output_tokens=4000,
        daily_budget_usd=50.0,
        max_concurrent=10,
        priority=1,
    ),
    "enterprise": TierSettings(
        requests_per_minute=600,
        tokens_per_minute=2_000_000,
        tokens_per_day=10_000_000,
        max_output_tokens=8000,
        daily_budget_usd=1000.0,
        max_concurrent=100,
        priority=2,
    ),
}

DEFAULT_PROVIDERS: dict[str, ProviderSettings] = {"sim": ProviderSettings(kind="sim")}

DEFAULT_MODELS: dict[str, ModelSettings] = {
    # Priced like the real models they stand in for, so budgets behave realistically.
    "sim-small": ModelSettings(
        provider="sim", price=Price(input=0.15, output=0.60, cached_input=0.075)
    ),
    "sim-large": ModelSettings(
        provider="sim",
        price=Price(input=2.50, output=10.00, cached_input=1.25),
        fallbacks=["sim-small"],
    ),
    "sim-embed": ModelSettings(
        provider="sim", price=Price(input=0.02, output=0.0)  # like text-embedding-3-small
    ),
    "sim-claude": ModelSettings(
        provider="sim", price=Price(input=0.80, output=4.00, cached_input=0.08)
    ),
    # Priced like whisper-1.
    "sim-whisper": ModelSettings(
        provider="sim", price=Price(input=0.0, output=0.0, per_audio_minute=0.006)
    ),
}


class Settings(Strict):
    server: ServerSettings = Field(default_factory=ServerSettings)
    database_url: str = "sqlite+aiosqlite:///./doorman.db"
    redis_url: str | None = None
    timezone: str = "UTC"
    providers: dict[str, ProviderSettings] = Field(default_factory=lambda: dict(DEFAULT_PROVIDERS))
    models: dict[str, ModelSettings] = Field(default_factory=lambda: dict(DEFAULT_MODELS))
    tiers: dict[str, TierSettings] = Field(default_factory=lambda: dict(DEFAULT_TIERS))
    default_tier: str = "free"
    auth: AuthSettings = Field(default_factory=AuthSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    reliability: ReliabilitySettings = Field(default_factory=ReliabilitySettings)
    screening: ScreeningSettings = Field(default_factory=ScreeningSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    anomaly: AnomalySettings = Field(default_factory=AnomalySettings)
    ledger_enabled: bool = True
    state_dir: str | None = Field(
        None,
        description="directory of generated state (the pepper, a new master key's one-time "
        "file); default: next to the SQLite file, else next to the config file "
        "(env DOORMAN_STATE_DIR wins)",
    )
    response_cache: ResponseCacheSettings = Field(default_factory=ResponseCacheSettings)
    routes: dict[str, list[RouteRule]] = Field(
        default_factory=dict, description="virtual model -> routing rules (see doorman.routing)"
    )
    audio: AudioSettings = Field(default_factory=AudioSettings)
    approvals: ApprovalSettings = Field(
        default_factory=ApprovalSettings, description="tool calls withheld for approval"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}'") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_db(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("tiers")
    @classmethod
    def _ship_default_tiers(cls, value: dict[str, TierSettings]) -> dict[str, TierSettings]:
        # Tiers named in the file replace the defaults of the same name; the others stay.
        return {**DEFAULT_TIERS, **value}

    @model_validator(mode="after")
    def _cross_references(self) -> Settings:
        problems: list[str] = []
        names = set(self.models)
        seen_alias: dict[str, str] = {}
        builtin_models = "models" not in self.model_fields_set
        if builtin_models and any(m.provider not in self.providers for m in self.models.values()):
            # The user wrote `providers:` only: do not complain about sim-* models they never
            # wrote; say what is missing instead.
            problems.append(
                "models: no models are configured. The built-in models "
                f"({', '.join(self.models)}) run on the built-in provider 'sim', which your "
                "`providers:` section replaces; add a `models:` section naming models of your "
                "providers, e.g. gpt-4o-mini: {provider: <name>}"
            )
        for name, model in self.models.items():
            if builtin_models and model.provider not in self.providers:
                continue
            if model.provider not in self.providers:
                problems.append(f"models.{name}.provider: unknown provider '{model.provider}'")
            for i, fb in enumerate(model.fallbacks):
                if fb not in names:
                    problems.append(f"models.{name}.fallbacks.{i}: unknown model '{fb}'")
                elif fb == name:
                    problems.append(
                        f"models.{name}.fallbacks.{i}: a model cannot fall back to itself"
                    )
            for alias in model.aliases:
                if alias in names or alias in seen_alias:
                    problems.append(f"models.{name}.aliases: '{alias}' is already a model or alias")
                seen_alias[alias] = name
        problems.extend(_fallback_cycles(self.models))
        for tname, tier in self.tiers.items():
            for i, m in enumerate(tier.models or []):
                if m not in names and m not in seen_alias and m not in self.routes:
                    problems.append(f"tiers.{tname}.models.{i}: unknown model '{m}'")
        for tname, tier in self.tiers.items():
            try:
                effective_settings(self.screening, tier.screening)
            except ValidationError as exc:
                for err in exc.errors():
                    where = ".".join(str(p) for p in err["loc"])
                    problems.append(f"tiers.{tname}.screening.{where}: {err['msg']}")
        problems += route_problems(self.routes, names, set(seen_alias))
        problems += self._judge_models(names | set(seen_alias))
        if self.response_cache.backend == "redis" and self.redis_url is None:
            problems.append("response_cache.backend: 'redis' needs redis_url")
        if self.default_tier not in self.tiers:
            problems.append(f"default_tier: unknown tier '{self.default_tier}'")
        if self.server.workers > 1 and self.limits.backend == "memory":
            problems.append(
                "limits.backend: 'memory' cannot be shared by several workers; use redis"
            )
        if self.server.workers > 1 and self.redis_url is None:
            problems.append(
                "server.workers: more than one worker needs redis_url; in-process limits "
                "would be multiplied by the worker count"
            )
        if problems:
            raise ValueError("\n".join(problems))  # one problem per line
        return self

    def _judge_models(self, known: set[str]) -> list[str]:
        """Judges (topic checks, the injection judge) must name a configured model."""
        problems: list[str] = []
        outputs = [(f"models.{n}", m.output) for n, m in self.models.items()]
        outputs += [(f"tiers.{n}", t.output) for n, t in self.tiers.items()]
        for where, output in outputs:
            check = output.topic_check if output is not None else None
            if check is not None and check.model not in known:
                problems.append(f"{where}.output.topic_check.model: unknown model '{check.model}'")
        screens = [("screening", self.screening)]
        for tname, tier in self.tiers.items():
            if tier.screening:
                try:
                    screens.append((f"tiers.{tname}.screening", effective_settings(self.screening, tier.screening)))
                except ValidationError:
                    continue  # reported above
        for where, screen in screens:
            for name in ("injection", "indirect_injection", "system_injection"):
                judge = getattr(screen, name).judge
                if judge is not None and judge.model not in known:
                    problems.append(f"{where}.{name}.judge.model: unknown model '{judge.model}'")
        return list(dict.fromkeys(problems))

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def model_index(self) -> dict[str, str]:
        """Every name a client may use (model or alias) -> the configured model name."""
        index = {name: name for name in self.models}
        for name, model in self.models.items():
            for alias in model.aliases:
                index[alias] = name
        return index

    def resolve_model(self, requested: str) -> str | None:
        return self.model_index.get(requested)


def _fallback_cycles(models: dict[str, ModelSettings]) -> list[str]:
    """Fallback chains that come back to where they started, each reported once with its path.

    Fallbacks are followed transitively (a -> b -> c), so a cycle would send one request round
    and round the same providers until its deadline.
    """
    problems: list[str] = []
    reported: set[frozenset[str]] = set()

    def walk(name: str, path: list[str]) -> None:
        for fb in models[name].fallbacks:
            if fb not in models or fb == name:
                continue  # reported as unknown / self-fallback above
            if fb in path:
                cycle = [*path[path.index(fb) :], fb]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    problems.append(
                        f"models.{cycle[0]}.fallbacks: fallback cycle {' -> '.join(cycle)}"
                    )
                continue
            walk(fb, [*path, fb])

    for name in models:
        walk(name, [name])
    return problems


class ConfigError(Exception):
    """A configuration file that must not start a server; ``problems`` are 'path: message'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _format_validation_error(
    exc: ValidationError, errors: list[Any] | None = None
) -> list[str]:
    problems: list[str] = []
    for err in exc.errors() if errors is None else errors:
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if "\n" in msg and err["type"] == "value_error":
            problems.extend(f"{loc}: {m}" if loc and ":" not in m else m for m in msg.split("\n"))
        else:
            problems.append(f"{loc}: {msg}" if loc else msg)
    return problems


_ENV_OVERRIDES = {
    "DOORMAN_DATABASE_URL": "database_url",
    "DOORMAN_REDIS_URL": "redis_url",
    "DOORMAN_TIMEZONE": "timezone",
}


def parse_settings(data: dict[str, Any] | None, base_dir: Path | None = None) -> Settings:
    """Validate a config mapping (plus env overrides) or raise ConfigError listing every problem.

    ``base_dir`` (the config file's directory) anchors the file's relative paths, so every
    command finds the same database and state whatever its working directory.
    """
    data = dict(data or {})
    for env, key in _ENV_OVERRIDES.items():
        value = read_secret(env)
        if value:
            data[key] = value
    if base_dir is not None:
        from doorman.state import anchor_paths

        anchor_paths(data, base_dir)
        anchor_schema_files(data, base_dir)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_every_problem(data, exc)) from None


def _every_problem(data: dict[str, Any], exc: ValidationError) -> list[str]:
    """Field errors plus the cross-reference problems pydantic skipped because of them.

    pydantic runs the whole-config checks (unknown provider, fallback, tier model, tier
    screening, ...) only once every field is valid. To report everything in one go, the
    invalid values are dropped (a leaf first, its parent if that is not enough) and the rest
    validated again; cross-reference problems about a dropped entry are left out.
    """
    problems = _format_validation_error(exc)
    pruned = copy.deepcopy(data)
    dropped: set[str] = set()
    errors = exc.errors()
    for _ in range(6):
        for err in errors:
            _drop(pruned, [str(p) for p in err["loc"]], dropped)
        try:
            Settings.model_validate(pruned)
            break
        except ValidationError as again:
            errors = [e for e in again.errors() if e["loc"]]
            whole = [e for e in again.errors() if not e["loc"]]
            for problem in _format_validation_error(again, whole):
                if problem not in problems and not any(f"'{n}'" in problem for n in dropped):
                    problems.append(problem)
            if not errors:
                break
    return problems


def _drop(data: dict[str, Any], loc: list[str], dropped: set[str]) -> None:
    """Remove the value at ``loc``, or the nearest enclosing one that is still there."""
    for depth in range(len(loc), 0, -1):
        holder: Any = data
        for part in loc[: depth - 1]:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and loc[depth - 1] in holder:
            del holder[loc[depth - 1]]
            if depth <= 2:
                dropped.add(loc[depth - 1])
            return


def load_settings(path: str | Path | None) -> Settings:
    """Read the YAML file (or embedded defaults when ``path`` is None)."""
    if path is None:
        return parse_settings({})
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read file ({exc.strerror})"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{p}: not valid YAML ({exc})"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{p}: the top level must be a mapping"])
    return parse_settings(data, p.parent)
