"""Tool policy per tier: which tools a caller may declare, checked before any upstream call.

``tiers.<name>.tools: {allow: [...], deny: [...]}`` — names or shell-style patterns
(``fs_*``). A declared tool that is denied, or not on a non-empty allow list, is refused with
400 ``tool_not_allowed`` naming it: the model never learns the tool exists, so it cannot call it.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from doorman.errors import BadRequest

if TYPE_CHECKING:
    from doorman.exchange import Exchange
    from doorman.server.state import Gateway


class ToolPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow: list[str] | None = Field(None, description="only these tools (patterns); null: any")
    deny: list[str] = Field(default_factory=list, description="never these tools (patterns)")

    def refusal(self, name: str) -> str | None:
        """Why ``name`` may not be declared, or None when it may."""
        if any(fnmatchcase(name, pattern) for pattern in self.deny):
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
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            out.append((f"tools[{i}].function.name", fn["name"]))
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
