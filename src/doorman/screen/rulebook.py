"""A small anchored-regex rule set: the shape the newer rule families share.

Each rule is a regex over the canonical view plus *anchors*: groups of words of which the view's
token set must meet every one (a set test costing microseconds) before the regex runs, or
substrings one of which must occur. A 1,000-token prompt without the anchor words pays nothing
for the rule. The score of a set of hits is the largest weight plus a small bonus per further
family, as in :mod:`doorman.screen.rules`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

EXTRA_FAMILY_BONUS = 0.08


@dataclass(frozen=True, slots=True)
class AnchoredRule:
    name: str
    family: str
    weight: float
    pattern: re.Pattern[str]
    anchors: tuple[frozenset[str], ...] = ()
    substrings: tuple[str, ...] = ()

    def may_match(self, text: str, words: set[str]) -> bool:
        if self.substrings and not any(map(text.__contains__, self.substrings)):
            return False
        return not any(map(words.isdisjoint, self.anchors))


def rule(
    name: str, family: str, weight: float, pattern: str, *anchors: str, subs: str = ""
) -> AnchoredRule:
    """``anchors``: space-separated word groups (all must meet the text); ``subs``:
    space-separated substrings (one must occur)."""
    return AnchoredRule(
        name,
        family,
        weight,
        re.compile(pattern, re.DOTALL),
        tuple(frozenset(a.split()) for a in anchors),
        tuple(subs.split()),
    )


@dataclass(frozen=True, slots=True)
class BookMatch:
    score: float
    rules: tuple[str, ...]
    families: tuple[str, ...]


NO_MATCH = BookMatch(0.0, (), ())


def run_rules(rules: Iterable[AnchoredRule], text: str, words: set[str]) -> BookMatch:
    hits = [r for r in rules if r.may_match(text, words) and r.pattern.search(text)]
    if not hits:
        return NO_MATCH
    families: dict[str, float] = {}
    for hit in hits:
        families[hit.family] = max(families.get(hit.family, 0.0), hit.weight)
    ordered = sorted(families.values(), reverse=True)
    score = min(1.0, ordered[0] + EXTRA_FAMILY_BONUS * (len(ordered) - 1))
    return BookMatch(score, tuple(h.name for h in hits), tuple(families))
