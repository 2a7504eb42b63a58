"""Which rules run where: the matching engine over :data:`doorman.screen.rules.RULES`.

A rule only runs when the words it needs are present (its anchor groups, a cheap set test), and
in long texts only in the windows of about ``WINDOW_CHARS`` that hold those words. So the cost
grows with the text, not with the text times the number of rules.

Words joined together ("ignoreallpreviousinstructions", or spaced-out letters collapsed by the
normaliser) hide their anchors from a word test. Such tokens are searched for anchor words as
substrings with one Aho-Corasick pass, and the words found count as present: a superset of what
the rules need, at a cost linear in the joined text. (Before, one such token, or one hash or
UUID of 24+ characters, made every rule scan the whole text.)
"""

from __future__ import annotations

import re
from collections.abc import Collection
from operator import add

import ahocorasick

from doorman.screen.gate import Substrings, encode
from doorman.screen.rule import Rule
from doorman.screen.rulebook import WHOLE_TEXT_GATES, RuleMatch, combine
from doorman.screen.rules import _ANCHORS, _SUBSTRING_ANCHORS, RULES

LONG_TOKEN = 24  # an all-letter token this long is words written together
WINDOW_CHARS = 800
_SHORT_TEXT = 2 * WINDOW_CHARS


def _should_run(rule: Rule, text: str, words: frozenset[str] | set[str] | None) -> bool:
    subs = _SUBSTRING_ANCHORS.get(rule.name)
    if subs is not None:
        return any(map(text.__contains__, subs))
    groups = _ANCHORS.get(rule.name)
    if groups is None or words is None:
        return True
    return not any(map(words.isdisjoint, groups))


_Index = tuple[dict[str, tuple[int, ...]], tuple[tuple[int, tuple[str, ...]], ...], tuple[int, ...]]


def _rule_index() -> _Index:
    """word -> rules anchored on it (through each rule's smallest word group), the
    substring-anchored rules, and the rules with no anchor: so a short text visits only
    the rules it could trigger instead of testing every rule's anchors."""
    by_word: dict[str, list[int]] = {}
    by_substring: list[tuple[int, tuple[str, ...]]] = []
    always: list[int] = []
    for i, rule in enumerate(RULES):
        subs = _SUBSTRING_ANCHORS.get(rule.name)
        groups = _ANCHORS.get(rule.name)
        if subs is not None:
            by_substring.append((i, subs))
        elif not groups:
            always.append(i)
        else:
            for word in min(groups, key=len):
                by_word.setdefault(word, []).append(i)
    return {w: tuple(ix) for w, ix in by_word.items()}, tuple(by_substring), tuple(always)


_BY_WORD, _BY_SUBSTRING, _ALWAYS = _rule_index()
_INDEXED_WORDS = frozenset(_BY_WORD)


def _anchor_automaton() -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY)
    for groups in _ANCHORS.values():
        for group in groups:
            for word in group:
                automaton.add_word(word, word)
    automaton.make_automaton()
    return automaton


_AUTOMATON = _anchor_automaton()


def _hidden_words(tokens: list[str], joined: bool) -> set[str]:
    """Anchor words inside tokens that may be several words written together: every token of
    a view whose spaced letters were joined, else all-letter tokens of ``LONG_TOKEN``+ (a hash
    or UUID has digits and is left alone)."""
    if joined:
        glued = " ".join(tokens)
    else:
        glued = " ".join(t for t in tokens if len(t) >= LONG_TOKEN and t.isalpha())
    if not glued:
        return set()
    return {word for _, word in _AUTOMATON.iter(glued)}


_SUBSTRINGS = Substrings([s for _, subs in _BY_SUBSTRING for s in subs])


def _candidates(text: str, words: set[str]) -> list[Rule]:
    """Exactly the rules :func:`_should_run` accepts, in RULES order, found via the index."""
    picked = set(_ALWAYS)
    present = _SUBSTRINGS.present(text)
    for i, subs in _BY_SUBSTRING:
        if present is None:
            if any(map(text.__contains__, subs)):
                picked.add(i)
        elif not present.isdisjoint(subs):
            picked.add(i)
    for word in words & _INDEXED_WORDS:
        for i in _BY_WORD[word]:
            if i in picked:
                continue
            groups = _ANCHORS[RULES[i].name]
            if not any(map(words.isdisjoint, groups)):
                picked.add(i)
    return [RULES[i] for i in sorted(picked)]


_SENTENCE_GAP_RE = re.compile(r"([.!?;])\s+")
_WORD_RE = re.compile(r"[a-z0-9']+")


def _split_sentences(text: str) -> list[str]:
    """``re.split(r"(?<=[.!?;])\\s+", text)`` without a lookbehind tried at every position:
    one split keeping each gap's punctuation, glued back onto its sentence at C level."""
    parts = _SENTENCE_GAP_RE.split(text)
    out = list(map(add, parts[0:-1:2], parts[1::2]))
    out.append(parts[-1])
    return out


def _sentences(text: str) -> tuple[list[str], bool]:
    """The sentences of ``text``, those longer than WINDOW_CHARS cut in overlapping pieces,
    and whether any was cut (a cut can split a word in two)."""
    sentences: list[str] = []
    cut = False
    for sentence in _split_sentences(text):
        while len(sentence) > WINDOW_CHARS:
            sentences.append(sentence[:WINDOW_CHARS])
            sentence = sentence[WINDOW_CHARS - 100 :]
            cut = True
        sentences.append(sentence)
    return sentences, cut


def _windows(
    text: str, joined: bool, glued: bool, sentences: list[str] | None = None
) -> list[tuple[str, set[str]]]:
    """Overlapping runs of whole sentences of about WINDOW_CHARS (each sentence in two), each
    with the set of its words (tokenized once per sentence, shared by its two windows); plus
    the anchor words hidden in glued-together tokens when ``glued`` says there may be some."""
    if sentences is None:
        sentences = _sentences(text)[0]
    findall = _WORD_RE.findall
    windows: list[tuple[str, set[str]]] = []
    current: list[str] = []
    current_words: list[Collection[str]] = []
    size = 0
    for sentence in sentences:
        if current and size + len(sentence) > WINDOW_CHARS:
            windows.append((" ".join(current), set().union(*current_words)))
            current, current_words = [current[-1]], [current_words[-1]]
            size = len(current[-1])
        tokens = findall(sentence)
        current.append(sentence)
        current_words.append(tokens)
        if glued:
            current_words.append(_hidden_words(tokens, joined))
        size += len(sentence) + 1
    if current:
        windows.append((" ".join(current), set().union(*current_words)))
    return windows


def _may_match_somewhere(rule: Rule, data: bytes | None) -> bool:
    """False when the rule's gate rules out every substring of the text (encoded: ``data``)."""
    gate = rule.gate
    return (
        rule.near is not None
        or gate is None
        or not gate.context_free
        or gate.may_match_encoded(data)
    )


def _windowed(text: str, tokens: list[str], joined: bool, glued: bool) -> list[Rule]:
    """The rules found in the windows of a long text. Every window is a run of consecutive
    sentences joined by single spaces, so a substring of all of them joined that way: one
    gate pass over that rules a rule out of every window, and a text where no anchored rule
    survives (ordinary prose) is never cut into windows and tokenized window by window.
    The words of all windows are the text's ``tokens`` unless a long sentence was cut."""
    sentences, cut = _sentences(text)
    pieces: list[tuple[str, set[str]]] | None = None
    if glued:  # the words hidden in glued tokens are found sentence by sentence
        pieces = _windows(text, joined, glued, sentences)
        words = set().union(*(w for _, w in pieces))
    else:
        words = set(_WORD_RE.findall(" ".join(sentences)) if cut else tokens)
    candidates = _candidates(text, words)
    if len(candidates) <= WHOLE_TEXT_GATES:
        whole = encode(" ".join(sentences))
        candidates = [
            r for r in candidates if r.name not in _ANCHORS or _may_match_somewhere(r, whole)
        ]
    if pieces is None and any(r.name in _ANCHORS for r in candidates):
        pieces = _windows(text, joined, glued, sentences)
    hits = []
    for rule in candidates:
        groups = _ANCHORS.get(rule.name)
        if groups is None:
            if rule.found(text):
                hits.append(rule)
            continue
        for window, window_words in pieces or ():
            if not any(map(window_words.isdisjoint, groups)) and rule.found(window):
                hits.append(rule)
                break
    return hits


def match_rules(text: str, tokens: list[str] | None = None, *, joined: bool = False) -> RuleMatch:
    """Score one canonical view. Returns :data:`NO_MATCH` when nothing fires.

    ``tokens`` (``tokenize(text)``, :func:`doorman.screen.features.tokenize`, which is
    ``_WORD_RE.findall(text)``; tokenized here when omitted)
    let cheap anchor tests skip rules whose words are absent; ``joined`` says the view had
    spaced-out letters collapsed, so any token may be several words (see module docstring).
    Long texts are searched window by window, and only windows holding a rule's anchor words.
    """
    if tokens is None:
        tokens = _WORD_RE.findall(text)
        joined = True  # unknown provenance: look inside every token
    glued = joined or max(map(len, tokens), default=0) >= LONG_TOKEN
    if len(text) <= _SHORT_TEXT:
        words = set(tokens)
        if glued:
            words |= _hidden_words(tokens, joined)
        hits = [rule for rule in _candidates(text, words) if rule.found(text)]
    else:
        hits = _windowed(text, tokens, joined, glued)
    return combine(hits)
