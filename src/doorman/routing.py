"""Model routing: a virtual model name (``auto``) picks a configured model per request.

``routes:`` maps each virtual model to rules tried in order; the first whose conditions all
hold names the model that serves the request. A rule without conditions matches everything
and must come last (``doorman check-config`` rejects rules after it, and a route that does not
end in one). Conditions::

    routes:
      auto:
        - when: {task: [summarize, classify]}   # x-doorman-task header or metadata.task
          model: sim-small
        - when: {min_input_tokens: 4000}         # long prompts
          model: sim-large
        - when: {tools: true}                    # the request declares tools
          model: sim-large
        - when: {images: true, tier: [pro]}      # image parts, and the caller's tier
          model: sim-large
        - model: sim-small                       # the default

The served model goes to ``x-doorman-routed-to`` and the ledger (next to the requested name).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from doorman.cost.tokens import count_messages

if TYPE_CHECKING:
    from doorman.config import Settings
    from doorman.exchange import Exchange


class RouteWhen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: list[str] | None = Field(None, description="any of these task labels")
    tier: list[str] | None = Field(None, description="any of these tiers")
    min_input_tokens: int | None = Field(None, ge=0)
    max_input_tokens: int | None = Field(None, ge=0)
    tools: bool | None = Field(None, description="true: declares tools; false: none")
    images: bool | None = Field(None, description="true: has image parts; false: none")

    @property
    def needs_tokens(self) -> bool:
        return self.min_input_tokens is not None or self.max_input_tokens is not None


class RouteRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    when: RouteWhen | None = None
    model: str

    @property
    def catch_all(self) -> bool:
        return self.when is None or not self.when.model_dump(exclude_none=True)


def route_problems(
    routes: dict[str, list[RouteRule]], models: set[str], aliases: set[str]
) -> list[str]:
    """Config errors: unknown targets, name clashes, unreachable rules, no default."""
    problems: list[str] = []
    for name, rules in routes.items():
        where = f"routes.{name}"
        if name in models or name in aliases:
            problems.append(f"{where}: '{name}' is already a model or alias")
        if not rules:
            problems.append(f"{where}: a route needs at least one rule")
            continue
        for i, rule in enumerate(rules):
            if rule.model not in models and rule.model not in aliases:
                problems.append(f"{where}.{i}.model: unknown model '{rule.model}'")
            if rule.catch_all and i < len(rules) - 1:
                problems.append(
                    f"{where}.{i + 1}: can never match; rule {i} has no conditions and "
                    "matches every request"
                )
                break
        if not rules[-1].catch_all:
            problems.append(f"{where}: the last rule must be a default (a rule without 'when')")
    return problems


def has_images(body: dict[str, Any]) -> bool:
    for msg in body.get("messages") or []:
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") in ("image_url", "image", "input_image"):
                    return True
    return False


def input_tokens(body: dict[str, Any], wire: str) -> int:
    system = body.get("system") if wire == "anthropic" else None
    return count_messages(body.get("messages") or [], "", system=system)


def choose(
    rules: list[RouteRule], body: dict[str, Any], *, wire: str, task: str | None, tier: str
) -> str:
    """The model of the first matching rule (the last rule always matches)."""
    tokens: int | None = None
    for rule in rules:
        w = rule.when
        if w is None:
            return rule.model
        if w.task is not None and task not in w.task:
            continue
        if w.tier is not None and tier not in w.tier:
            continue
        if w.tools is not None and bool(body.get("tools")) != w.tools:
            continue
        if w.images is not None and has_images(body) != w.images:
            continue
        if w.needs_tokens:
            if tokens is None:
                tokens = input_tokens(body, wire)
            if w.min_input_tokens is not None and tokens < w.min_input_tokens:
                continue
            if w.max_input_tokens is not None and tokens > w.max_input_tokens:
                continue
        return rule.model
    return rules[-1].model


def routed_model(settings: Settings, ex: Exchange) -> str | None:
    """The configured model a virtual model name routes this request to (None: not a route).

    Runs where the model name is resolved, so tier and key model permissions apply to the
    served model (or to the virtual name, when that is what a tier allows).
    """
    rules = settings.routes.get(ex.requested_model)
    if rules is None:
        return None
    task = ex.task
    if task is None:
        metadata = ex.body.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("task"), str):
            task = metadata["task"][:64]
    target = choose(rules, ex.body, wire=ex.wire, task=task, tier=ex.tier_name)
    served = settings.resolve_model(target)
    ex.routed_to = served
    return served
