"""The learned layer's subword features: same arithmetic as a plain loop, and what they buy."""

from __future__ import annotations

import random

import pytest

import doorman.screen.classifier as classifier_module
from doorman.screen.classifier import SMOOTHING, TOKEN_CACHE_LEN, Classifier
from doorman.screen.features import MAX_SUBWORD_TOKEN, STOP_UNIGRAMS, subwords


def _plain_margin(clf: Classifier, toks: list[str]) -> float:
    n = len(toks)
    contrib = []
    for t in toks:
        value = clf.weights.get(t, 0.0)
        value += sum(clf.subword_weights.get(g, 0.0) for g in subwords(t))
        contrib.append(value)
    for i in range(n - 1):
        contrib[i] += clf.weights.get(f"{toks[i]} {toks[i + 1]}", 0.0)
    best = sum(contrib) / (n + SMOOTHING)
    if n > clf.window:
        for start in range(0, n - clf.window + 1):
            if start % clf.stride == 0 or start == n - clf.window:
                window = contrib[start : start + clf.window]
                best = max(best, sum(window) / (clf.window + SMOOTHING))
    return clf.bias + best


def test_subword_margin_matches_a_plain_loop() -> None:
    rng = random.Random(5)
    vocab = [f"w{i}x" for i in range(30)] + ["the", "you"]
    weights = {t: rng.uniform(-1, 1) for t in vocab[:15]}
    weights.update({f"{a} {b}": rng.uniform(-2, 2) for a in vocab[:8] for b in vocab[4:12]})
    grams = sorted({g for t in vocab for g in subwords(t)})
    chars = {g: rng.uniform(-0.5, 0.5) for g in grams[::2]}
    clf = Classifier(weights=weights, bias=-0.3, window=8, stride=3, subword_weights=chars)
    for size in (1, 7, 8, 9, 33):
        toks = [rng.choice(vocab) for _ in range(size)]
        assert abs(clf.margin("", toks) - _plain_margin(clf, toks)) < 1e-9
        assert abs(clf.margin("", toks) - _plain_margin(clf, toks)) < 1e-9  # from the cache


def test_function_words_have_no_subwords() -> None:
    assert all(subwords(word) == [] for word in STOP_UNIGRAMS)
    assert subwords("ignore") == ["<ig", "ign", "gno", "nor", "ore", "re>", "<ign", "igno",
                                  "gnor", "nore", "ore>"]  # fmt: skip


def test_long_tokens_are_scored_but_not_remembered() -> None:
    clf = Classifier(weights={}, bias=0.0, subword_weights={"aaa": 0.1})
    token = "a" * (TOKEN_CACHE_LEN + 100)
    assert (
        clf.token_weight(token) == 0.0
    )  # no weight of its own, no subwords past MAX_SUBWORD_TOKEN
    assert token not in clf._tokens


def test_tokens_too_long_to_be_words_get_no_subwords() -> None:
    """Hashes, base64 and run-together text: two lookups a character for n-grams that mean
    nothing (base64 was screened ~9x slower for them)."""
    word = "a" * MAX_SUBWORD_TOKEN
    assert subwords(word) and not subwords(word + "a")
    clf = Classifier(weights={}, bias=0.0, subword_weights={"aaa": 0.1})
    assert clf.token_weight(word) > 0 and clf.token_weight(word + "a") == 0


def test_shipped_model_reads_misspelt_attack_words() -> None:
    """A word never seen whole still carries most of its stem's weight through its subwords."""
    clf = Classifier.load()
    assert clf.subword_weights, "the shipped artifact has subword features"
    for word, misspelt in (("instructions", "instrucshuns"), ("jailbreak", "jailbreakk")):
        assert misspelt not in clf.weights
        assert clf.token_weight(misspelt) > 0.25 * clf.token_weight(word) > 0


def test_word_cache_stays_bounded_under_endless_new_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller sending ever-new words cannot grow the cache past its bound, and the model's
    own words stay cached after it is emptied."""
    monkeypatch.setattr(classifier_module, "TOKEN_CACHE", 50)
    clf = Classifier(weights={"ignore": 1.0}, bias=0.0, subword_weights={"<ig": 0.2})
    words = [f"zz{i}" for i in range(500)]
    clf.margin("", words)
    assert len(clf._tokens) <= 50
    assert clf._tokens["ignore"] == pytest.approx(1.2)
    assert clf.margin("", ["ignore", "zz1"]) == pytest.approx(1.2 / (2 + SMOOTHING))
