"""The template layer: how much of a known attack template a text contains.

Jailbreaks travel as copy-pasted templates (DAN, developer mode, ...) with small edits. Each
template seen at training time is fingerprinted by sampled word 5-gram shingles
(:func:`doorman.screen.features.shingles`); shingles that also occur in benign text were dropped
at training time. A text scores the largest share of shared shingles with one template, relative
to the smaller of the two, once enough shingles match to rule out a common phrase.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doorman.screen.classifier import load_json_gz
from doorman.screen.features import shingles, tokenize

ARTIFACT = "templates.json.gz"
MIN_MATCHES = 3


@dataclass(slots=True)
class TemplateIndex:
    postings: dict[int, tuple[int, ...]]
    sizes: list[int]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TemplateIndex:
        postings = {int(k): tuple(v) for k, v in data["postings"].items()}
        return cls(postings=postings, sizes=list(data["sizes"]))

    @classmethod
    def load(cls, path: Path | None = None) -> TemplateIndex:
        return cls.from_dict(load_json_gz(ARTIFACT, path))

    def similarity(self, text: str, tokens: list[str] | None = None) -> float:
        """Containment in [0, 1] of the best-matching template; 0 when too little matches."""
        marks = shingles(tokenize(text) if tokens is None else tokens)
        if len(marks) < MIN_MATCHES:
            return 0.0
        counts: dict[int, int] = {}
        for mark in marks:
            for template in self.postings.get(mark, ()):
                counts[template] = counts.get(template, 0) + 1
        best = 0.0
        for template, hits in counts.items():
            if hits < MIN_MATCHES:
                continue
            share = hits / min(len(marks), self.sizes[template])
            if share > best:
                best = share
        return min(1.0, best)
