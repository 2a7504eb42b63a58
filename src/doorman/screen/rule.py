"""One screening rule and how it is searched for, at a cost linear in the text.

A :class:`Rule` is a compiled pattern with a weight and a family (the content lives in
:mod:`doorman.screen.rules`; :mod:`doorman.screen.matching` decides which rules run where).
Three search shortcuts give exactly what ``pattern.search`` gives, faster:

- a linear-time RE2 prefilter (:mod:`doorman.screen.gate`) rules most texts out without
  running ``re`` at all;
- a boundary scan for patterns that open with ``\\b`` and a few first letters (the engine
  cannot skip ahead to a ``\\b``, but it can to a literal letter);
- "A, then B within N characters" (:func:`near_rule`): as one regex, ``A.{0,N}?B`` retries up
  to N characters after every A, so text full of A's and no B costs N times its length; two
  linear scans and a bisect give the same answer.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from doorman.screen.gate import Gate, gate_for

_MAX_SCAN_FIRST_LETTERS = 8


@dataclass(frozen=True, slots=True)
class Near:
    """``first`` followed by ``then`` with at most ``within`` characters (no newline) between."""

    first: re.Pattern[str]
    then: re.Pattern[str]
    within: int

    def found(self, text: str) -> bool:
        if self.then.search(text) is None:
            return False  # the common case: one scan, no list
        ends = [m.end() for m in self.first.finditer(text)]
        if not ends:
            return False
        for match in self.then.finditer(text, ends[0]):
            start = match.start()
            i = bisect_right(ends, start)
            if i and start - ends[i - 1] <= self.within and "\n" not in text[ends[i - 1] : start]:
                return True
        return False


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    family: str
    weight: float
    pattern: re.Pattern[str]
    scan: re.Pattern[str] | None = None  # ``pattern`` minus its leading \b, see _scan_for
    near: Near | None = None
    gate: Gate | None = None  # RE2 prefilter, see doorman.screen.gate

    def found(self, text: str) -> bool:
        """``pattern.search(text) is not None``, by the fastest exact route."""
        if self.near is not None:
            return self.near.found(text)
        if self.gate is not None and not self.gate.may_match(text):
            return False  # the common case: one RE2 pass, no Python regex
        scan = self.scan
        if scan is None:
            return self.pattern.search(text) is not None
        # the scan visits, left to right, every position where the rest of the pattern matches,
        # and the first one that is also a word boundary decides
        at = self.pattern.match
        pos = 0
        while (hit := scan.search(text, pos)) is not None:
            if at(text, hit.start()):
                return True
            pos = hit.start() + 1
        return False


def _first_letters(pattern: str) -> set[str] | None:
    """The letters a match of ``pattern`` can start with: a literal letter, or the first
    letter of every top-level alternative of an opening ``(?:...)``. None when not that simple."""
    if pattern[:1].isalpha():
        return {pattern[0]}
    if not pattern.startswith("(?:"):
        return None
    letters: set[str] = set()
    depth, start = 0, 3
    for i in range(3, len(pattern)):
        ch = pattern[i]
        if pattern[i - 1] == "\\":
            continue
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif ch in "|)" and depth == 0:
            first = pattern[start : start + 1]
            if not first.isalpha() or pattern[start + 1 : start + 2] in ("?", "*", "{"):
                return None
            letters.add(first)
            if ch == ")":
                return letters
            start = i + 1
    return None


def _scan_for(pattern: str) -> re.Pattern[str] | None:
    r"""Why: the regex engine cannot skip ahead for a pattern that opens with ``\b`` and tries
    it at every word boundary; without the ``\b`` it jumps between occurrences of a literal
    prefix or a few first letters (a 1,000-token prompt: ~180 -> ~3 us for a literal opening).
    With many first letters the scan is slower than the original, so those keep it."""
    if not pattern.startswith(r"\b"):
        return None
    letters = _first_letters(pattern[2:])
    if letters is None or len(letters) > _MAX_SCAN_FIRST_LETTERS:
        return None
    return re.compile(pattern[2:])


def rule(name: str, family: str, weight: float, pattern: str) -> Rule:
    compiled = re.compile(pattern)
    return Rule(name, family, weight, compiled, _scan_for(pattern), gate=gate_for(compiled))


def near_rule(name: str, family: str, weight: float, first: str, then: str, *, within: int) -> Rule:
    """A rule matching ``first``, then ``then`` at most ``within`` characters later (same line):
    what ``first.{0,within}?then`` matches, in linear time."""
    pattern = re.compile(f"{first}.{{0,{within}}}?{then}")
    return Rule(
        name, family, weight, pattern, near=Near(re.compile(first), re.compile(then), within)
    )
