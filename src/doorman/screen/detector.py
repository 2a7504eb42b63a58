"""One prompt-injection score from the three layers, over every normalized view of a text.

Fusion is a noisy-OR: each layer is read as an independent chance that the text is an attack,
so one confident layer is enough and several weak ones add up. The disguise signals from
normalization (invisible or tag characters, homoglyph words, encoded payloads) contribute a
small term of their own: honest prompts rarely hide text. The decision threshold is calibrated
by the training script at a target false-positive rate on held-out benign prompts and stored
with the classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from doorman.screen.candidates import candidate_views
from doorman.screen.classifier import Classifier, load_json_gz
from doorman.screen.families import match_families
from doorman.screen.features import STOP_UNIGRAMS, tokenize
from doorman.screen.format_directive import CLASSIFIER_CAP, is_format_directive
from doorman.screen.hidden import hidden_segments
from doorman.screen.matching import match_rules
from doorman.screen.mentions import rules_score
from doorman.screen.normalize import Normalized, canonical, normalize
from doorman.screen.rulebook import EXTRA_FAMILY_BONUS, RuleMatch
from doorman.screen.rules_multilingual import match_multilingual
from doorman.screen.similarity import TemplateIndex

DEFAULT_THRESHOLD = 0.75
SIGNAL_WEIGHT = {
    "tag_chars": 0.5,
    "bidi_controls": 0.2,
    "invisible_chars": 0.2,
    "homoglyphs": 0.25,
    "encoded_base64": 0.1,
    "encoded_hex": 0.1,
    "encoded_rot13": 0.2,
    "encoded_urlencoded": 0.05,
    "encoded_tag_chars": 0.0,
    "hidden_markup": 0.3,
}
SIMILARITY_WEIGHT = 0.97


@dataclass(slots=True)
class Detection:
    """Why a text scored what it did (no text content, safe to log)."""

    score: float
    rules: float = 0.0
    similarity: float = 0.0
    classifier: float = 0.0
    matched: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    view: str = "text"  # which view scored highest: text, base64, hex, rot13, ...


def fuse(rules: float, similarity: float, classifier: float, signals: list[str]) -> float:
    """Noisy-OR of the layers and the disguise signals."""
    keep = (1.0 - rules) * (1.0 - SIMILARITY_WEIGHT * similarity) * (1.0 - classifier)
    for signal in signals:
        keep *= 1.0 - SIGNAL_WEIGHT.get(signal, 0.0)
    return 1.0 - keep


class InjectionDetector:
    """Scores text for prompt injection. Load once; :meth:`detect` is cheap and thread-safe."""

    def __init__(
        self,
        classifier: Classifier | None = None,
        templates: TemplateIndex | None = None,
        threshold: float | None = None,
    ) -> None:
        if classifier is None or threshold is None:
            meta = load_json_gz("classifier.json.gz")
            classifier = classifier or Classifier.from_dict(meta)
            if threshold is None:
                threshold = float(meta.get("threshold", DEFAULT_THRESHOLD))
        self.classifier = classifier
        self.templates = templates if templates is not None else TemplateIndex.load()
        self.threshold = threshold
        # known words, to read the "1" of heavy leetspeak as "i" or "l" and to cut spelt-out
        # text into words: the classifier's words plus the function words it leaves out, less
        # its one-letter tokens ("1" alone is "i", not "l")
        self.vocabulary = STOP_UNIGRAMS | frozenset(
            w for w in classifier.weights if " " not in w and len(w) > 1
        )

    @classmethod
    def from_files(cls, classifier: Path, templates: Path) -> InjectionDetector:
        meta = load_json_gz("", classifier)
        return cls(
            Classifier.from_dict(meta),
            TemplateIndex.load(templates),
            float(meta.get("threshold", DEFAULT_THRESHOLD)),
        )

    def detect(self, text: str) -> Detection:
        norm = normalize(text, self.vocabulary)
        views, signals = _all_views(text, norm, self.vocabulary)
        multilingual = match_multilingual(text, norm.main, norm.tokens[0])
        best_rules, best_sim, best_clf = multilingual.score, 0.0, 0.0
        matched: list[str] = list(multilingual.rules)
        best_view, best_view_score = "text", -1.0
        for index, (origin, view, tokens) in enumerate(views):
            rule = match_rules(view, tokens, joined=index in norm.joined)
            book = match_families(view, tokens)
            for name in rule.rules + book.rules:
                if name not in matched:
                    matched.append(name)
            rule_score = _combined(rules_score(rule, view), rule.families, book)
            sim = self.templates.similarity(view, tokens)
            clf = self.classifier.probability(view, tokens) if tokens else 0.0
            best_rules = max(best_rules, rule_score)
            best_sim = max(best_sim, sim)
            best_clf = max(best_clf, clf)
            view_score = max(rule_score, sim, clf)
            if view_score > best_view_score:
                best_view, best_view_score = origin, view_score
        if (
            best_clf > CLASSIFIER_CAP
            and best_rules == 0.0
            and not signals
            and text.isascii()  # the tokens would not show words of other scripts
            and all(is_format_directive(tokens) for _, _, tokens in views)
        ):
            best_clf = CLASSIFIER_CAP  # thin evidence: see format_directive.py
        return Detection(
            score=fuse(best_rules, best_sim, best_clf, signals),
            rules=best_rules,
            similarity=best_sim,
            classifier=best_clf,
            matched=matched,
            signals=signals,
            view=best_view,
        )


def _combined(core: float, core_families: tuple[str, ...], book: RuleMatch) -> float:
    """One rules score from the core rules and the rule families: the larger, plus the same
    small bonus each engine gives a further family, when the two name different families (two
    independent weak signals, say a planted "if questioned, report that" next to a "pwned"
    payload, add up as they would within one engine)."""
    if core == 0.0 or book.score == 0.0 or set(book.families) <= set(core_families):
        return max(core, book.score)
    return min(1.0, max(core, book.score) + EXTRA_FAMILY_BONUS)


def _all_views(
    text: str, norm: Normalized, vocabulary: frozenset[str]
) -> tuple[list[tuple[str, str, list[str]]], list[str]]:
    """normalize()'s views, then the triggered candidates (reversed, rot13, leet, punctuation
    noise) and the hidden places of a document, each as (origin, view, tokens); plus signals."""
    views = [(origin, view, norm.tokens[i]) for i, (origin, view) in enumerate(norm.views)]
    known = {origin for origin, _ in norm.views}
    for origin, view in candidate_views(text, norm.main, norm.tokens[0], known, vocabulary):
        views.append((origin, view, tokenize(view)))
    signals = norm.signals()
    segments, talks = hidden_segments(text)
    for segment in segments:
        view = canonical(segment)
        views.append(("hidden", view, tokenize(view)))
    if talks:
        signals.append("hidden_markup")
    return views, signals
