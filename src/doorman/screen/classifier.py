"""The statistical layer: a linear model over word and subword n-grams, scored in sliding windows.

Trained by ``scripts/train_injection_classifier.py`` and shipped as a small gzipped JSON of
weights (no pickle, nothing downloaded). Features are TF-IDF-weighted counts of content words,
word bigrams and the character 3- and 4-grams inside each content word, averaged over the tokens
of a text, so one linear model scores a whole text or any window of it the same way. Every
feature belongs to one token position (a bigram to its first word, a character n-gram to its
word), so the hot path computes per-token contributions once and slides a window over their
prefix sums; a word's own weight plus its subwords' is cached per word, so a repeated word costs
one dict lookup. Taking the best window keeps a short injection buried in a long document from
being averaged away.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from itertools import accumulate, chain, pairwise, repeat
from operator import add
from pathlib import Path
from typing import Any

from doorman.screen.features import subwords, tokenize

ARTIFACT = "classifier.json.gz"
SMOOTHING = 3  # pseudo-tokens of weight 0: one or two words cannot make a confident verdict
TOKEN_CACHE = 200_000  # words whose total weight is remembered (bounded: callers choose the words)
TOKEN_CACHE_LEN = 40  # longer tokens (hashes, base64) are scored each time, never kept


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


class _Weights(dict[str, float]):
    """word -> own plus subword weight, computed on a miss (``__missing__``), so the hot path
    reads every token with one C-level ``__getitem__`` and no test for misses afterwards.
    Bounded: when full it falls back to the model's own words."""

    __slots__ = ("_known", "_weigh")

    def __init__(self, known: dict[str, float], weigh: Callable[[str], float]) -> None:
        super().__init__(known)
        self._known = known
        self._weigh = weigh

    def __missing__(self, token: str) -> float:
        value = self._weigh(token)
        if len(token) <= TOKEN_CACHE_LEN:
            if len(self) >= TOKEN_CACHE:
                self.clear()
                self.update(self._known)
            self[token] = value
        return value


@dataclass(slots=True)
class Classifier:
    weights: dict[str, float]
    bias: float
    window: int = 48
    stride: int = 12
    shift: float = 0.0  # subtracted from the margin so benign text sits below 0.5
    subword_weights: dict[str, float] = field(default_factory=dict)  # character n-gram -> weight
    _bigrams: dict[tuple[str, str], float] = field(default_factory=dict)
    _tokens: dict[str, float] = field(default_factory=dict)  # word -> unigram + subword (_Weights)
    _known: dict[str, float] = field(default_factory=dict)  # the same for the model's own words

    def __post_init__(self) -> None:
        pairs: dict[tuple[str, str], float] = {}
        for gram, weight in self.weights.items():
            first, sep, second = gram.partition(" ")
            if sep:
                pairs[(first, second)] = weight
        self._bigrams = pairs
        # the model's own words are scored once, at load (~50 ms for the shipped model), so
        # ordinary prose rarely needs its subwords looked up on the hot path
        known: dict[str, float] = {}
        for gram, weight in self.weights.items():
            if " " not in gram:
                known[gram] = weight + self._subword_sum(gram)
        self._known = known
        self._tokens = _Weights(known, self._weigh)

    def _weigh(self, token: str) -> float:
        return self.weights.get(token, 0.0) + self._subword_sum(token)

    def _subword_sum(self, token: str) -> float:
        if not self.subword_weights:
            return 0.0
        return sum(map(self.subword_weights.get, subwords(token), repeat(0.0)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Classifier:
        return cls(
            weights={k: float(v) for k, v in data["weights"].items()},
            bias=float(data["bias"]),
            window=int(data.get("window", 48)),
            stride=int(data.get("stride", 12)),
            shift=float(data.get("shift", 0.0)),
            subword_weights={k: float(v) for k, v in data.get("subwords", {}).items()},
        )

    @classmethod
    def load(cls, path: Path | None = None) -> Classifier:
        return cls.from_dict(load_json_gz(ARTIFACT, path))

    def token_weight(self, token: str) -> float:
        """A word's own weight plus its character n-grams' (cached; the cache is emptied when
        full, so memory stays bounded and the words in current use stay fast)."""
        return self._tokens[token]

    def margin(self, text: str, tokens: list[str] | None = None) -> float:
        """Raw decision value of the best window (whole text included)."""
        toks = tokenize(text) if tokens is None else tokens
        n = len(toks)
        if n == 0:
            return self.bias
        # per-token contribution: its own (word and subword) weight plus the weight of the
        # bigram it starts (C-level iteration; sums in the same order as a plain loop)
        unigrams = list(map(self._tokens.__getitem__, toks))  # misses filled in, in order
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
