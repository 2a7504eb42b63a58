"""The providers' published image-token formulas, and their maxima for images of unknown size.

OpenAI bills an image either by 512-px tiles (``base + tile * tiles`` after fitting the image in
2048x2048 and its short side in 768 px; ``detail: low`` is ``base`` alone) or, on its smaller
models, by 32-px patches (at most 1536, times a per-model multiplier). Anthropic bills
``width * height / 750`` after scaling the long edge to at most 1568 px, which caps an image near
1,600 tokens. An image whose size is not known here (a URL, an unreadable header) is reserved at
the formula's maximum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TileRule:
    base: int
    tile: int

    def tokens(self, size: tuple[int, int] | None, detail: str | None) -> int:
        if detail == "low":
            return self.base
        if size is None:
            return self.base + self.tile * 8  # 768 x 2048: the most tiles a fitted image has
        scale = min(1.0, 2048 / max(size))
        w, h = size[0] * scale, size[1] * scale
        scale = min(1.0, 768 / min(w, h))
        return self.base + self.tile * math.ceil(w * scale / 512) * math.ceil(h * scale / 512)


@dataclass(frozen=True, slots=True)
class PatchRule:
    multiplier: float
    max_patches: int = 1536

    def tokens(self, size: tuple[int, int] | None, detail: str | None) -> int:
        if size is None:
            return math.ceil(self.max_patches * self.multiplier)
        w, h = size
        patches = math.ceil(w / 32) * math.ceil(h / 32)
        if patches > self.max_patches:
            shrink = math.sqrt(self.max_patches * 32 * 32 / (w * h))
            w2, h2 = w * shrink, h * shrink
            # Shrink further so whole patches fit in either direction, as the provider does.
            shrink2 = min(
                math.floor(w2 / 32) / (w2 / 32) if w2 >= 32 else 1.0,
                math.floor(h2 / 32) / (h2 / 32) if h2 >= 32 else 1.0,
            )
            w2, h2 = w2 * shrink2, h2 * shrink2
            patches = min(self.max_patches, math.ceil(w2 / 32) * math.ceil(h2 / 32))
        return math.ceil(patches * self.multiplier)


@dataclass(frozen=True, slots=True)
class AnthropicRule:
    long_edge: int = 1568
    max_tokens: int = 1600

    def tokens(self, size: tuple[int, int] | None, detail: str | None = None) -> int:
        if size is None:
            return self.max_tokens
        w, h = size
        scale = min(1.0, self.long_edge / max(w, h))
        return min(self.max_tokens, math.ceil(w * scale * h * scale / 750))


ImageRule = TileRule | PatchRule | AnthropicRule

GPT_4O = TileRule(85, 170)
_OPENAI_RULES: tuple[tuple[str, ImageRule], ...] = (
    # Longest prefix first: "gpt-4o-mini" before "gpt-4o", "gpt-5-mini" before "gpt-5".
    ("gpt-4o-mini", TileRule(2833, 5667)),
    ("gpt-4.1-mini", PatchRule(1.62)),
    ("gpt-4.1-nano", PatchRule(2.46)),
    ("gpt-5-mini", PatchRule(1.62)),
    ("gpt-5-nano", PatchRule(2.46)),
    ("o4-mini", PatchRule(1.72)),
    ("gpt-5", TileRule(70, 140)),
    ("o1", TileRule(75, 150)),
    ("o3", TileRule(75, 150)),
    ("computer-use", TileRule(65, 129)),
    ("gpt-4", GPT_4O),
    ("chatgpt", GPT_4O),
)
ANTHROPIC = AnthropicRule()


def image_rule(upstream_model: str, anthropic: bool) -> ImageRule:
    """The rule the provider of ``upstream_model`` bills images by (GPT-4o's when unknown)."""
    if anthropic:
        return ANTHROPIC
    name = upstream_model.lower().rsplit("/", 1)[-1]
    for prefix, rule in _OPENAI_RULES:
        if name.startswith(prefix):
            return rule
    return GPT_4O
