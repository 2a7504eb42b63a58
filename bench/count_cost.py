"""What the full count costs per request, next to the count it replaced (same run, same box).

Before (commit 3f4b2ee): hand-written shape checks, then message text only through tiktoken.
Now: the body converted into its typed model (msgspec), every billed field gathered, tokenized
with the served model's encoding and safety factor. Both paths start from the parsed dict, so
JSON parsing (unchanged) is left out. The old ``validation.py`` is loaded from git history.
Every request's last user message is different; the system prompt and tools repeat.

    .venv/bin/python bench/count_cost.py [-n 20000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from doorman.config import ServerSettings, TierSettings
from doorman.cost.tokens import count_messages, count_profile
from doorman.validation import billed_input, check_tier_caps, validate_chat

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "3f4b2ee"
SERVER = ServerSettings()
TIER = TierSettings(max_chars=20_000, max_messages=50)

TYPICAL = {
    "model": "gpt-4o",
    "messages": [
        {"role": "system", "content": "You are a concise assistant for a travel booking site."},
        {"role": "user", "content": "Summarise the plot of Hamlet in two sentences."},
    ],
    "max_tokens": 16,
}
TOOLS = {
    **TYPICAL,
    "tools": [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}}],
}  # fmt: skip
CHAT = {
    **TYPICAL,
    "messages": [
        TYPICAL["messages"][0],
        *({"role": r, "content": f"Turn {i}: what about the second act and its main themes?"}
          for i, r in enumerate(["user", "assistant"] * 5)),
    ],
}  # fmt: skip


def old_validation() -> types.ModuleType:
    source = subprocess.run(["git", "show", f"{BEFORE}:src/doorman/validation.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    module = types.ModuleType("old_validation")
    exec(compile(source, "old_validation.py", "exec"), module.__dict__)
    return module


def variants(body: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """``n`` copies whose last user message differs (as real traffic does), sharing the
    system prompt and tools (as one application's requests do)."""
    out = []
    for i in range(n):
        messages = [*body["messages"]]
        messages[-1] = {**messages[-1], "content": f"{messages[-1]['content']} (request {i})"}
        out.append({**body, "messages": messages})
    return out


def timed(fn: Callable[[dict[str, Any]], Any], bodies: list[dict[str, Any]]) -> float:
    for body in bodies[:2000]:
        fn(body)
    best = float("inf")
    for _ in range(5):  # best of 5: the machine is shared
        t = time.perf_counter()
        for body in bodies:
            fn(body)
        best = min(best, (time.perf_counter() - t) / len(bodies))
    return best * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=20_000)
    args = ap.parse_args()
    old = old_validation()
    profile = count_profile("gpt-4o", "openai")

    def before(body: dict[str, Any]) -> int:
        old.validate_chat(body, "openai", SERVER)
        old.check_tier_caps(body, TIER, "t")
        return count_messages(body["messages"], "gpt-4o")

    def after(body: dict[str, Any]) -> int:
        request = validate_chat(body, "openai", SERVER)
        billed = billed_input(request)
        check_tier_caps(request, billed, TIER, "t")
        return profile.tokens(billed)

    print(f"{'request':<22}{'before us':>10}{'after us':>10}{'delta us':>10}"
          f"{'tokens before':>15}{'after':>7}")  # fmt: skip
    for name, body in (("typical (2 messages)", TYPICAL), ("with one tool", TOOLS),
                       ("11-turn chat", CHAT)):  # fmt: skip
        bodies = variants(body, args.n)
        b = timed(before, bodies)
        a = timed(after, bodies)
        print(f"{name:<22}{b:>10.1f}{a:>10.1f}{a - b:>+10.1f}{before(body):>15}{after(body):>7}")


if __name__ == "__main__":
    sys.exit(main())
