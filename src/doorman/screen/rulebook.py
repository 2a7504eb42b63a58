"""A small anchored-regex rule set: the shape the newer rule families share.

Each rule is a regex over the canonical view plus *anchors*: groups of words of which the view's
token set must meet every one (a set test costing microseconds) before the regex runs, or
substrings one of which must occur. A 1,000-token prompt without the anchor words pays nothing
for the rule. The score of a set of hits is the largest weight plus a small bonus per further
family, as in :mod:`doorman.screen.rules`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from doorman.screen.gate import Gate, Substrings, encode, gate_for

EXTRA_FAMILY_BONUS = 0.08


@dataclass(frozen=True, slots=True)
class AnchoredRule:
    name: str
    family: str
    weight: float
    pattern: re.Pattern[str]
    anchors: tuple[frozenset[str], ...] = ()
    substrings: tuple[str, ...] = ()
    gate: Gate | None = None  # RE2 prefilter, see doorman.screen.gate

    def found(self, text: str) -> bool:
        """``pattern.search(text) is not None``; RE2 rules most texts out first."""
        if self.gate is not None and not self.gate.may_match(text):
            return False
        return self.pattern.search(text) is not None

    def may_match(self, text: str, words: set[str], present: frozenset[str] | None = None) -> bool:
        """The anchors meet ``words`` and one of the substrings occurs in ``text``
        (``present``: the substrings known to occur in it, when the caller found them)."""
        if any(map(words.isdisjoint, self.anchors)):
            return False
        if not self.substrings:
            return True
        if present is not None:
            return not present.isdisjoint(self.substrings)
        return any(map(text.__contains__, self.substrings))


def rule(
    name: str, family: str, weight: float, pattern: str, *anchors: str, subs: str = ""
) -> AnchoredRule:
    """``anchors``: space-separated word groups (all must meet the text); ``subs``:
    space-separated substrings (one must occur)."""
    compiled = re.compile(pattern, re.DOTALL)
    return AnchoredRule(
        name,
        family,
        weight,
        compiled,
        tuple(frozenset(a.split()) for a in anchors),
        tuple(subs.split()),
        gate_for(compiled),
    )


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """What a rule set found in a text: its score, the rules that fired and their families."""

    score: float
    rules: tuple[str, ...]
    families: tuple[str, ...]


NO_MATCH = RuleMatch(0.0, (), ())


class ScoredRule(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def family(self) -> str: ...
    @property
    def weight(self) -> float: ...


def combine(hits: Sequence[ScoredRule]) -> RuleMatch:
    """The strongest family's weight plus a bonus for each further family that fired (the
    scoring of every rule set: the core rules and the anchored families alike)."""
    if not hits:
        return NO_MATCH
    families: dict[str, float] = {}
    for hit in hits:
        families[hit.family] = max(families.get(hit.family, 0.0), hit.weight)
    ordered = sorted(families.values(), reverse=True)
    score = min(1.0, ordered[0] + EXTRA_FAMILY_BONUS * (len(ordered) - 1))
    return RuleMatch(score, tuple(h.name for h in hits), tuple(families))


WINDOW = 1000  # characters per window of a long text
OVERLAP = 300  # shared by neighbouring windows, so a match this short is never cut in two
_WORD_RE = re.compile(r"[a-z0-9']+")
# Whole-text gate passes cost ~1.3 us per KB and rule, cutting and tokenizing the windows
# ~28 us per KB once: with more candidate rules than this, the windows are cheaper.
WHOLE_TEXT_GATES = 16


# one byte per character: "a" for a token character ([a-z0-9'], see _WORD_RE), " " otherwise
_TOKEN_CLASSES = bytes(
    ord("a") if chr(b) in "abcdefghijklmnopqrstuvwxyz0123456789'" else ord(" ") for b in range(256)
)


def _spans(size: int, text: str) -> list[tuple[int, int]]:
    """Where the overlapping windows of a long text start and end, cut at spaces."""
    out: list[tuple[int, int]] = []
    start = 0
    while start < size:
        end = min(size, start + WINDOW)
        if end < size:
            space = text.rfind(" ", start + WINDOW - OVERLAP, end)
            end = space if space > start else end
        out.append((start, end))
        if end >= size:
            break
        back = text.find(" ", end - OVERLAP, end)
        start = back + 1 if back > start else end - OVERLAP
    return out


def _windows(text: str, tokens: list[str] | None = None) -> list[tuple[str, set[str]]]:
    """Overlapping windows of a long text, cut at spaces, each with its word set.

    With the text's ``tokens`` (``_WORD_RE.findall(text)``) and an ASCII text, a window whose
    edges cut no token takes its words as a slice of them, counted by byte operations,
    instead of tokenizing the window again (windows overlap: 1.4 times the text)."""
    spans = _spans(len(text), text)
    classes = b""
    if tokens is not None and text.isascii():
        classes = b" " + text.encode("ascii").translate(_TOKEN_CLASSES) + b" "
    out: list[tuple[str, set[str]]] = []
    for start, end in spans:
        piece = text[start:end]
        # an edge is clean when a non-token character touches it (or it is the text's edge)
        if classes and b" " in classes[start : start + 2] and b" " in classes[end : end + 2]:
            first = classes.count(b" a", 0, start + 1)
            last = first + classes.count(b" a", start, end + 1)
            out.append((piece, set(tokens[first:last])))  # type: ignore[index]
        else:
            out.append((piece, set(_WORD_RE.findall(piece))))
    return out


def _may_match_somewhere(rule: AnchoredRule, data: bytes | None) -> bool:
    gate = rule.gate
    return gate is None or not gate.context_free or gate.may_match_encoded(data)


def _found(rule: AnchoredRule, text: str, pieces: list[tuple[str, set[str]]] | None) -> bool:
    if pieces is None:
        return rule.found(text)
    return any(rule.may_match(p, w) and rule.found(p) for p, w in pieces)


class RuleIndex:
    """The rules of a set filed under the words of their smallest anchor group, so a text
    visits only the rules one of its words could trigger (a short prompt holds few of them)
    instead of testing every rule's anchors: :meth:`candidates` is exactly
    ``[r for r in rules if r.may_match(text, words)]``, in the same order."""

    __slots__ = ("_always", "_by_word", "_rules", "_substrings", "_words")

    def __init__(self, rules: Sequence[AnchoredRule]) -> None:
        self._rules = tuple(rules)
        by_word: dict[str, list[int]] = {}
        always: list[int] = []  # no anchor group: only substrings (or nothing) decide
        for i, r in enumerate(self._rules):
            if not r.anchors:
                always.append(i)
                continue
            for word in min(r.anchors, key=len):
                by_word.setdefault(word, []).append(i)
        self._by_word = {w: tuple(ix) for w, ix in by_word.items()}
        self._words = frozenset(by_word)
        self._always = tuple(always)
        self._substrings = Substrings([s for r in self._rules for s in r.substrings])

    def candidates(self, text: str, words: set[str]) -> list[AnchoredRule]:
        picked = set(self._always)
        for word in self._words.intersection(words):
            picked.update(self._by_word[word])
        rules = self._rules
        present = self._substrings.present(text)
        return [rules[i] for i in sorted(picked) if rules[i].may_match(text, words, present)]


_INDEXES: dict[int, tuple[Sequence[AnchoredRule], RuleIndex]] = {}


def _index(rules: Sequence[AnchoredRule]) -> RuleIndex:
    """The index of a rule set (built once; keyed by the set's identity, kept alive here)."""
    entry = _INDEXES.get(id(rules))
    if entry is None or entry[0] is not rules:
        entry = (rules, RuleIndex(rules))
        if len(_INDEXES) >= 64:
            _INDEXES.clear()  # only a caller building rule sets on the fly gets here
        _INDEXES[id(rules)] = entry
    return entry[1]


def run_rules(
    rules: Iterable[AnchoredRule], text: str, words: set[str], tokens: list[str] | None = None
) -> RuleMatch:
    """Rules whose anchors meet ``words`` run on ``text``; on a long text only on the
    windows that hold their anchors (every pattern spans far less than :data:`OVERLAP`).
    ``tokens``: ``_WORD_RE.findall(text)`` when the caller has it (the windows' words are then
    cut from it instead of tokenizing each window)."""
    if isinstance(rules, tuple | list):
        candidates = _index(rules).candidates(text, words)
    else:
        candidates = [r for r in rules if r.may_match(text, words)]
    pieces = None
    if candidates and len(text) > 2 * WINDOW:
        if len(candidates) <= WHOLE_TEXT_GATES:
            # one gate pass over the whole text rules a rule out of every window (substrings):
            # ordinary prose then never pays for cutting windows and tokenizing each
            data = encode(text)
            candidates = [r for r in candidates if _may_match_somewhere(r, data)]
        pieces = _windows(text, tokens) if candidates else None
    if not candidates:
        return NO_MATCH
    return combine([r for r in candidates if _found(r, text, pieces)])
