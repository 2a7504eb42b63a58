"""A gateway in front of the billing provider, and the arithmetic of both sides' bills."""

from __future__ import annotations

import base64
import io
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

OPENAI_MODEL = "gpt-4o"
ANTHROPIC_MODEL = "claude-sonnet-4-5"
PRICES = {OPENAI_MODEL: (2.5, 10.0), ANTHROPIC_MODEL: (3.0, 15.0)}


def gateway_config(provider_url: str, **tiers: dict[str, Any]) -> dict[str, Any]:
    return {
        "providers": {
            "billopenai": {"kind": "openai", "base_url": f"{provider_url}/v1"},
            "billanthropic": {"kind": "anthropic", "base_url": provider_url},
        },
        "models": {
            OPENAI_MODEL: {"provider": "billopenai",
                           "price": {"input": PRICES[OPENAI_MODEL][0],
                                     "output": PRICES[OPENAI_MODEL][1]}},
            ANTHROPIC_MODEL: {"provider": "billanthropic",
                              "price": {"input": PRICES[ANTHROPIC_MODEL][0],
                                        "output": PRICES[ANTHROPIC_MODEL][1]}},
        },
        "tiers": tiers,
    }  # fmt: skip


def provider_bills(provider_url: str) -> list[dict[str, Any]]:
    bills: list[dict[str, Any]] = httpx.get(f"{provider_url}/_bill", timeout=10).json()
    return bills


def bill_usd(bill: dict[str, Any]) -> float:
    pin, pout = PRICES[bill["model"]]
    return (bill["input_tokens"] * pin + bill["output_tokens"] * pout) / 1_000_000


def ledger_rows(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM ledger").fetchall()
    return [dict(r) for r in rows]


def png_b64(width: int, height: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def words(n: int, seed: int = 0) -> str:
    """Prose-like text of roughly ``n`` words (varied, so it does not compress to few tokens)."""
    vocab = ("budget ledger token provider stream gateway schema image tool refusal quota "
             "tenant replica window settle reserve admission invoice overspend").split()  # fmt: skip
    return " ".join(f"{vocab[(i * 7 + seed) % len(vocab)]}{i % 97}" for i in range(n))


# ------------------------------------------------------------------ adversarial requests
def tool_heavy(wire: str, size_words: int = 800) -> dict[str, Any]:
    params = {"type": "object", "properties": {
        f"p{i}": {"type": "string", "description": words(40, i)} for i in range(size_words // 40)}}  # fmt: skip
    if wire == "anthropic":
        return {"tools": [{"name": "lookup", "description": words(60), "input_schema": params}]}
    return {"tools": [{"type": "function", "function": {
        "name": "lookup", "description": words(60), "parameters": params}}]}  # fmt: skip


def schema_heavy(size_words: int = 800) -> dict[str, Any]:
    schema = {"type": "object", "properties": {
        f"f{i}": {"type": "string", "description": words(40, i)} for i in range(size_words // 40)}}  # fmt: skip
    return {"response_format": {"type": "json_schema",
                                "json_schema": {"name": "answer", "schema": schema}}}  # fmt: skip


def image_heavy(wire: str, n: int = 3) -> list[dict[str, Any]]:
    """Parts: images by URL (size unknown to the gateway) and as base64 (size in the header)."""
    big = png_b64(1600, 1200)
    if wire == "anthropic":
        return [{"type": "image", "source": {"type": "url", "url": "https://img.test/2000x1500.png"}}
                for _ in range(n)] + [{"type": "image", "source": {
                    "type": "base64", "media_type": "image/png", "data": big}}]  # fmt: skip
    return [{"type": "image_url", "image_url": {"url": "https://img.test/4096x1024.png"}}
            for _ in range(n)] + [{"type": "image_url", "image_url": {
                "url": f"data:image/png;base64,{big}", "detail": "high"}}]  # fmt: skip


def name_heavy(n: int = 30) -> list[dict[str, Any]]:
    return [{"role": "user", "name": f"n{i}_" + "x" * 60, "content": "hi"} for i in range(n)]


def adversarial_body(wire: str, kind: str, max_tokens: int, mode: str = "text") -> dict[str, Any]:
    """One request of the reviewer's mix: tool-, image-, name- or schema-heavy."""
    ask = f"Tell me about ledgers. Reply in {mode} style."
    model = ANTHROPIC_MODEL if wire == "anthropic" else OPENAI_MODEL
    body: dict[str, Any] = {"model": model, "max_tokens": max_tokens}
    if kind == "tool":
        body.update(tool_heavy(wire))
        body["messages"] = [{"role": "user", "content": ask}]
    elif kind == "image":
        body["messages"] = [{"role": "user",
                             "content": [{"type": "text", "text": ask}, *image_heavy(wire)]}]  # fmt: skip
    elif kind == "name" and wire == "openai":
        body["messages"] = [*name_heavy(), {"role": "user", "content": ask}]
    elif kind == "name":  # Anthropic has no names: tool-call history carries the same weight
        body["messages"] = [
            {"role": "user", "content": "start"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}",
              "name": "lookup_" + "x" * 50, "input": {"q": words(30, i)}} for i in range(12)]},
            {"role": "user", "content": [*({"type": "tool_result", "tool_use_id": f"t{i}",
              "content": words(30, i)} for i in range(12)), {"type": "text", "text": ask}]},
        ]  # fmt: skip
    elif kind == "schema" and wire == "openai":
        body.update(schema_heavy())
        body["messages"] = [{"role": "user", "content": ask}]
    else:  # Anthropic: a system prompt of blocks plus a text document
        body["system"] = [{"type": "text", "text": words(400)}]
        body["messages"] = [{"role": "user", "content": [
            {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                            "data": words(400, 3)}},
            {"type": "text", "text": ask}]}]  # fmt: skip
    return body
