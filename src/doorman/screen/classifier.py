"""The statistical layer: a logistic regression over word n-grams, scored in sliding windows.

Trained by ``scripts/train_injection_classifier.py`` and shipped as a small gzipped JSON of
weights (no pickle, nothing downloaded). Features are TF-IDF-weighted unigram and bigram counts
averaged over the tokens of a text, so one linear model scores a whole text or any window of it
the same way; the hot path computes per-token contributions once and slides a window over their
prefix sums. Taking the best window keeps a short injection buried in a long document from being
averaged away.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from itertools import accumulate, chain, pairwise, repeat
from operator import add
from pathlib import Path
from typing import Any

from doorman.screen.features import tokenize

ARTIFACT = "classifier.json.gz"
SMOOTHING = 3  # pseudo-tokens of weight 0: one or two words cannot make a confident verdict


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def load_json_gz(name: str, path: Path | None = None) -> dict[str, Any]:
    """Read a packaged data file (or ``path`` when given)."""
    if path is not None:
        raw = path.read_bytes()
    else:
        raw = resources.files("doorman.screen").joinpath("data", name).read_bytes()
    data: dict[str, Any] = json.loads(gzip.decompress(raw))
    return data


@dataclass(slots=True)
class Classifier:
    weights: dict[str, float]
    bias: float
    window: int = 48
    stride: int = 12
    shift: float = 0.0  # subtracted from the margin so benign text sits below 0.5
    _bigrams: dict[tuple[str, str], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pairs: dict[tuple[str, str], float] = {}
        for gram, weight in self.weights.items():
            first, sep, second = gram.partition(" ")
            if sep:
                pairs[(first, second)] = weight
        self._bigrams = pairs

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Classifier:
        return cls(
            weights={k: float(v) for k, v in data["weights"].items()},
            bias=float(data["bias"]),
            window=int(data.get("window", 48)),
            stride=int(data.get("stride", 12)),
            shift=float(data.get("shift", 0.0)),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> Classifier:
        return cls.from_dict(load_json_gz(ARTIFACT, path))

    def margin(self, text: str, tokens: list[str] | None = None) -> float:
        """Raw decision value of the best window (whole text included)."""
        toks = tokenize(text) if tokens is None else tokens
        n = len(toks)
        if n == 0:
            return self.bias
        # per-token contribution: its unigram weight plus the weight of the bigram it starts
        # (C-level iteration; the sums are taken in the same order as a plain loop would)
        unigrams = map(self.weights.get, toks, repeat(0.0))
        bigrams = map(self._bigrams.get, pairwise(toks), repeat(0.0))
        contrib = list(map(add, unigrams, chain(bigrams, (0.0,))))
        best = sum(contrib) / (n + SMOOTHING)
        size = self.window
        if n > size:
            prefix = list(accumulate(contrib, initial=0.0))
            starts = list(range(0, n - size + 1, self.stride))
            if starts[-1] != n - size:
                starts.append(n - size)
            top = max(prefix[start + size] - prefix[start] for start in starts)
            mean = top / (size + SMOOTHING)
            if mean > best:
                best = mean
        return self.bias + best

    def probability(self, text: str, tokens: list[str] | None = None) -> float:
        return sigmoid(self.margin(text, tokens) - self.shift)
