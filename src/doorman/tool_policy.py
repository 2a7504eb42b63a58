"""Tool policy per tier: which tools a caller may declare, checked before any upstream call.

``tiers.<name>.tools: {allow: [...], deny: [...], require_approval: [...]}`` — names or
shell-style patterns (``fs_*``). A declared tool that is denied, or not on a non-empty allow list,
is refused with 400 ``tool_not_allowed`` naming it: the model never learns the tool exists, so it
cannot call it. A call the model makes to a tool matching ``require_approval`` is withheld from
the caller until a person approves it (see :mod:`doorman.approvals`).
"""

from __future__ import annotations

import unicodedata
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from doorman.errors import BadRequest

if TYPE_CHECKING:
    from doorman.exchange import Exchange
    from doorman.server.state import Gateway


def folded(name: str) -> str:
    """``name`` as the safety lists compare it: NFKC (fullwidth letters are letters), without
    invisible format characters (zero-width spaces), case-folded, trimmed. A model or a caller
    writing ``Shell_Exec`` or ``shell\u200b_exec`` still names the tool ``shell_*`` covers, and
    client code that looks tools up loosely would run it."""
    text = unicodedata.normalize("NFKC", name)
    return "".join(c for c in text if unicodedata.category(c) != "Cf").casefold().strip()


def matches(name: str, pattern: str) -> bool:
    """``deny`` and ``require_approval`` matching: loose (see :func:`folded`), so that a
    variant spelling is refused or withheld, never let through. ``allow`` stays exact."""
    return fnmatchcase(folded(name), folded(pattern))


class ToolPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow: list[str] | None = Field(None, description="only these tools (patterns); null: any")
    deny: list[str] = Field(default_factory=list, description="never these tools (patterns)")
    require_approval: list[str] = Field(
        default_factory=list,
        description="calls to these tools (patterns) are withheld until a person approves them",
    )

    @model_validator(mode="after")
    def _approval_needs_allowed(self) -> ToolPolicy:
        """A pattern needing approval must name tools the tier may declare at all: otherwise
        the setting reads as a safeguard but can never apply (the tool is refused outright)."""
        problems = []
        for i, pattern in enumerate(self.require_approval):
            if not pattern.strip():
                problems.append(f"require_approval.{i}: empty pattern")
            elif any(matches(pattern, d) for d in self.deny):
                problems.append(
                    f"require_approval.{i}: '{pattern}' is denied for this tier; a tool that "
                    "needs approval must be allowed"
                )
            elif self.allow is not None and not any(
                fnmatchcase(pattern, a) or fnmatchcase(a, pattern) for a in self.allow
            ):
                problems.append(
                    f"require_approval.{i}: '{pattern}' matches no tool on this tier's allow "
                    "list; a tool that needs approval must be allowed"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def needs_approval(self, name: str) -> bool:
        """True when a call to ``name`` must wait for a person's approval."""
        return any(matches(name, pattern) for pattern in self.require_approval)

    def may_need_approval(self, body: dict[str, Any]) -> bool:
        """True when the request declares a tool whose calls would need approval."""
        return bool(self.require_approval) and any(
            self.needs_approval(name) for _, name in declared_tools(body)
        )

    def refusal(self, name: str) -> str | None:
        """Why ``name`` may not be declared, or None when it may."""
        if any(matches(name, pattern) for pattern in self.deny):
            return "is denied for this tier"
        if self.allow is not None and not any(fnmatchcase(name, p) for p in self.allow):
            return "is not on this tier's list of allowed tools"
        return None


def declared_tools(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, name) of every tool a request declares, in either wire format."""
    out: list[tuple[str, str]] = []
    for i, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict):
            continue
        fn = tool.get("function")
        custom = tool.get("custom")  # OpenAI's custom tools (free-form input)
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            out.append((f"tools[{i}].function.name", fn["name"]))
        elif isinstance(custom, dict) and isinstance(custom.get("name"), str):
            out.append((f"tools[{i}].custom.name", custom["name"]))
        elif isinstance(tool.get("name"), str):
            out.append((f"tools[{i}].name", tool["name"]))
    for i, fn in enumerate(body.get("functions") or []):  # OpenAI's legacy form
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            out.append((f"functions[{i}].name", fn["name"]))
    return out


class EnforceToolPolicy:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def __call__(self, ex: Exchange) -> None:
        policy = ex.tier.tools if ex.tier is not None else None
        if policy is None:
            return
        for path, name in declared_tools(ex.body):
            why = policy.refusal(name)
            if why is not None:
                raise BadRequest(f"The tool '{name}' {why}.", code="tool_not_allowed", param=path)
