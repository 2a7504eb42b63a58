"""A linear-time prefilter for a Python regex: RE2 says "cannot match" and ``re`` is skipped.

Why: most screening rules open with ``\\b(?:word|word|...)``. Python's engine cannot skip
ahead to such an opening and tries it at every position of the text, so each rule costs tens
of microseconds per kilobyte of ordinary prose even when it never matches (the common case).
RE2 (the ``google-re2`` wheel) runs a DFA over the text once per rule, several times faster.

RE2 cannot run the rules themselves: it has no lookbehind, no backreferences, ASCII-only
``\\b`` and ``\\w``. So each rule's pattern is translated into a *looser* RE2 pattern, one that
matches every text the original matches (and maybe more): word boundaries and lookarounds are
dropped, backreferences match anything, ``\\w``/``\\s``/``\\d`` become Unicode classes that
contain Python's, huge repeat bounds become unbounded. When the loose pattern finds nothing,
the rule cannot match; when it finds something, the original ``re`` pattern decides. The
verdict is therefore exactly the original's, at RE2's cost for the texts that do not match.

A pattern the translator does not understand, or that RE2 rejects, gets no gate (the rule
runs as before). Text that is not valid UTF-8 (lone surrogates from a JSON escape) skips the
gate the same way.
"""

from __future__ import annotations

import re
import re._constants as sre_c  # the parse tree's opcodes (stable since 3.11)
import re._parser as sre_parse
import threading
from collections.abc import Collection
from typing import Any

import re2  # google-re2

_OPTIONS = re2.Options()
_OPTIONS.never_capture = True
_OPTIONS.log_errors = False
_UNANCHORED = re2._Anchor.UNANCHORED
_NO_MATCH = (-1, -1)
MAX_RE2_REPEAT = 1000  # RE2's limit on {n,m}

# Python's str classes (re.UNICODE) and RE2 classes that contain them ("loose"), or are
# contained in them ("tight", for the inside of a negated class, whose complement is loose).
# Checked over every code point (tests/screen/test_gate.py): the two Unicode versions differ.
_LOOSE = {
    sre_c.CATEGORY_DIGIT: r"\p{Nd}",
    sre_c.CATEGORY_NOT_DIGIT: r"\D",  # RE2's \D: not an ASCII digit
    sre_c.CATEGORY_SPACE: r"\t-\r\x1c-\x20\x85\p{Z}",
    sre_c.CATEGORY_NOT_SPACE: r"\S",  # RE2's \S: not one of 5 ASCII spaces
    sre_c.CATEGORY_WORD: r"0-9A-Z_a-z\x{80}-\x{10ffff}",  # every non-ASCII character: a small automaton
    sre_c.CATEGORY_NOT_WORD: r"\W",  # RE2's \W: not an ASCII word character
}
_TIGHT = {
    sre_c.CATEGORY_DIGIT: r"0-9",
    sre_c.CATEGORY_NOT_DIGIT: r"\P{Nd}",
    sre_c.CATEGORY_SPACE: r"\t\n\f\r ",
    sre_c.CATEGORY_NOT_SPACE: r"!-~",  # printable ASCII
    sre_c.CATEGORY_WORD: r"0-9A-Za-z_",
    sre_c.CATEGORY_NOT_WORD: r"\x00-/:-@\[-^`{-\x7f",  # ASCII non-word characters
}
_FLAG_LETTERS = ((re.IGNORECASE, "i"), (re.DOTALL, "s"), (re.MULTILINE, "m"))


class Untranslatable(ValueError):
    """The pattern uses something the translator does not handle: no gate."""


def _char(code: int) -> str:
    ch = chr(code)
    if ch.isascii() and ch.isalnum():
        return ch
    return f"\\x{{{code:x}}}"


def _class(items: list[tuple[Any, Any]]) -> str:
    negate = bool(items) and items[0][0] is sre_c.NEGATE
    if negate:
        items = items[1:]
    table = _TIGHT if negate else _LOOSE
    parts: list[str] = []
    for op, av in items:
        if op is sre_c.LITERAL:
            parts.append(_char(av))
        elif op is sre_c.RANGE:
            parts.append(f"{_char(av[0])}-{_char(av[1])}")
        elif op is sre_c.CATEGORY:
            parts.append(table[av])
        else:
            raise Untranslatable(f"class item {op}")
    if not parts:
        raise Untranslatable("empty class")
    return f"[{'^' if negate else ''}{''.join(parts)}]"


def _flags(flags: int) -> str:
    return "".join(letter for flag, letter in _FLAG_LETTERS if flags & flag)


def _seq(items: Any) -> str:
    return "".join(_node(op, av) for op, av in items)


def _node(op: Any, av: Any) -> str:
    if op is sre_c.LITERAL:
        return _char(av)
    if op is sre_c.NOT_LITERAL:
        return f"[^{_char(av)}]"
    if op is sre_c.ANY:
        return "."
    if op is sre_c.IN:
        return _class(av)
    if op is sre_c.CATEGORY:
        return f"[{_LOOSE[av]}]"
    if op is sre_c.AT:
        if av is sre_c.AT_BEGINNING_STRING:
            return r"\A"
        if av is sre_c.AT_END_STRING:
            return r"\z"
        if av is sre_c.AT_BEGINNING:
            return "(?m:^)"  # loose: at any line start, whatever the flags
        if av is sre_c.AT_END:
            return "(?m:$)"
        return ""  # \b, \B: dropped (RE2's are ASCII-only)
    if op is sre_c.BRANCH:
        return "(?:" + "|".join(_seq(alt) for alt in av[1]) + ")"
    if op is sre_c.SUBPATTERN:
        _group, add, remove, body = av
        on, off = _flags(add), _flags(remove)
        if on or off:
            return f"(?{on}{'-' + off if off else ''}:{_seq(body)})"
        return f"(?:{_seq(body)})"
    if op is sre_c.ATOMIC_GROUP:
        return f"(?:{_seq(av)})"
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
        low, high, body = av
        inner = f"(?:{_seq(body)})"
        low = min(low, MAX_RE2_REPEAT)
        if high is sre_c.MAXREPEAT or high > MAX_RE2_REPEAT:
            return f"{inner}{{{low},}}"
        return f"{inner}{{{low},{high}}}"
    if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
        return ""  # lookarounds: dropped
    if op is sre_c.GROUPREF:
        return "(?s:.*)"  # a backreference: any text
    if op is sre_c.GROUPREF_EXISTS:
        _group, yes, no = av
        return f"(?:{_seq(yes)}|{_seq(no) if no is not None else ''})"
    raise Untranslatable(f"opcode {op}")


def loose_pattern(pattern: re.Pattern[str]) -> str:
    """RE2 syntax for a pattern matching every text ``pattern`` matches (see module doc)."""
    if not isinstance(pattern.pattern, str):
        raise Untranslatable("bytes pattern")
    tree = sre_parse.parse(pattern.pattern, pattern.flags)
    flags = _flags(tree.state.flags)
    return (f"(?{flags})" if flags else "") + _seq(tree)


_ANCHORS = (r"\A", r"\z", "(?m:^)", "(?m:$)")


class Gate:
    """``may_match(text)`` is False only when ``pattern.search(text)`` would find nothing.

    ``context_free``: the loose pattern has no anchors (word boundaries and lookarounds are
    gone already), so whether it matches a stretch of text does not depend on what surrounds
    it. Then a text it does not match holds no match of the rule in any of its substrings
    either: one pass over a whole text rules out every window cut from it."""

    __slots__ = ("_match", "context_free", "loose")

    def __init__(self, loose: str) -> None:
        compiled = re2._re2.RE2(loose.encode("utf-8"), _OPTIONS)
        if not compiled.ok():
            raise Untranslatable(compiled.error())
        self.loose = loose
        self._match = compiled.Match
        self.context_free = not any(anchor in loose for anchor in _ANCHORS)

    def may_match(self, text: str) -> bool:
        return self.may_match_encoded(encode(text))

    def may_match_encoded(self, data: bytes | None) -> bool:
        """:meth:`may_match` of a text already passed through :func:`encode` (one encoding
        for all the gates that read the same text)."""
        if data is None:
            return True
        return self._match(_UNANCHORED, data, 0, len(data))[0] != _NO_MATCH


def encode(text: str) -> bytes | None:
    """``text`` as RE2 reads it, or None when it holds lone surrogates (a JSON "\\ud800"):
    RE2 would not read those as Python does, so gates then let the text through."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def gate_for(pattern: re.Pattern[str]) -> Gate | None:
    """The gate of ``pattern``, or None when it cannot have one (the pattern then always runs)."""
    try:
        return Gate(loose_pattern(pattern))
    except (Untranslatable, KeyError, re.error):
        return None


class Gated:
    """A compiled ``re`` pattern behind its gate: :meth:`found` is ``pattern.search(text)
    is not None``, skipping ``re`` when the gate rules a match out."""

    __slots__ = ("gate", "pattern")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.gate = gate_for(pattern)

    def found(self, text: str) -> bool:
        gate = self.gate
        if gate is not None and not gate.may_match(text):
            return False
        return self.pattern.search(text) is not None


class Substrings:
    """Which of a fixed set of strings occur in a text, in one RE2 pass.

    Why: rules anchored on substrings ("<|", "[inst", "](", ...) tested each with ``in``, a
    scan of the whole text per string (~2 us per 4 KB each, ~35 of them per view). An RE2
    ``Set`` of plain literals is a small automaton (it does not grow with the text, unlike a set
    of the rules' own patterns) that reports every string present in one pass. The answer
    for the last texts asked about is kept per thread (the rule sets of a view ask in turn).
    :meth:`present` returns None for a text RE2 cannot read (lone surrogates): callers then
    test the strings one by one."""

    _MEMO = 8

    def __init__(self, strings: Collection[str]) -> None:
        self.strings = tuple(dict.fromkeys(strings))
        options = re2.Options()
        options.never_capture = True
        options.log_errors = False
        self._set = re2._re2.Set(_UNANCHORED, options)
        for literal in self.strings:
            if self._set.Add("".join(map(_char, map(ord, literal))).encode("utf-8")) < 0:
                raise Untranslatable(literal)
        if self.strings and not self._set.Compile():
            raise Untranslatable("set")
        self._local = threading.local()

    def present(self, text: str) -> frozenset[str] | None:
        memo: dict[int, tuple[str, frozenset[str] | None]] | None = getattr(
            self._local, "memo", None
        )
        if memo is None:
            memo = self._local.memo = {}
        entry = memo.get(id(text))
        if entry is not None and entry[0] is text:
            return entry[1]
        data = encode(text)
        found: frozenset[str] | None
        if data is None:
            found = None
        elif not self.strings:
            found = frozenset()
        else:
            strings = self.strings
            found = frozenset([strings[i] for i in self._set.Match(data)])
        if len(memo) >= self._MEMO:
            memo.clear()
        memo[id(text)] = (text, found)  # the entry holds the text, so its id stays its own
        return found
