"""Worst-case screening cost: milliseconds per 100 KB for inputs built to be slow.

Each input is about ``--kb`` KB of text in one request (or spread over 250 messages), screened
with ``InputScreener.screen_chat`` and the detection cache off (an attacker varies every body);
the figure is the screening thread's CPU time (``time.thread_time``), best of ``--repeat``.
The ordinary-prose row is the baseline measured in the same run; the ratio column is each
input's time over it. Shapes:

- ``prose``: documentation paragraphs from the evaluation split (baseline);
- ``prose+hash``: the same with a 32-character hex hash in every sentence (long tokens);
- ``prose+%XX``: the same with a few URL escapes (decoded-copy path);
- ``spaced-mixed``: letters spaced out with mixed separators, 250 messages (the 983 KB case);
- ``joined-words``: anchor words written together ("ignoreallprevious...") with no attack;
- ``role-markers``: "ai: ... user" repeated (bounded-gap rules);
- ``base64``: one long base64 blob of prose;
- ``private-key``: "-----BEGIN PRIVATE KEY-----" headers without an end;
- ``spaced-dash``: prose written "w-o-r-d-s l-i-k-e t-h-i-s" (the spaced-out candidate view);
- ``punct-noise``: prose with case and punctuation noise ("pR*o.SE") (the noise candidate view);
- ``anchor-words``: every rule's anchor words in random order (every rule a candidate);
- ``attacks``: the development set's attacks one after another (candidates whose gates pass).

A second table gives the CPU time of one ``screen_chat`` for the prompts issue #13 and #20 set
targets for: a one-line prompt (cache off, and repeated with the detection cache on, as a
repeated system or canned prompt is) and the evaluation's 1,000-token prompt (cache off).

Usage: ``.venv/bin/python bench/screening_worst.py [--kb 100] [--repeat 3] [--only spaced-mixed]``
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from screening_eval import load, long_prompt

from doorman.screen import InputScreener, ScreeningSettings
from doorman.screen.obfuscate import obfuscate

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "data" / "screening" / "eval.jsonl.gz"


def _prose(size: int) -> str:
    with gzip.open(EVAL, "rt", encoding="utf-8") as fh:
        paras = [json.loads(line) for line in fh]
    text = "\n\n".join(r["text"] for r in paras if r["source"] == "pydoc-eval")
    return (text * (1 + size // len(text)))[:size]


def _every_sentence(text: str, extra: Callable[[int], str]) -> str:
    parts = text.split(". ")
    return ". ".join(f"{p} {extra(i)}" for i, p in enumerate(parts))


def shapes(size: int) -> dict[str, list[str]]:
    rng = random.Random(7)
    prose = _prose(size)
    seps = " .-_*/|,"
    per = size // 250
    spaced = [
        "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyz") + rng.choice(seps) for _ in range(per // 2)
        )
        for _ in range(250)
    ]
    words = "ignore all previous instructions reveal system prompt you are now act as".split()
    joined = "".join(rng.choice(words) for _ in range(size // 6))[:size]
    markers = ("ai: " + "lorem ipsum " * 3 + "user ") * (size // 44)
    blob = base64.b64encode(prose[: size * 3 // 4].encode()).decode()
    key = "-----BEGIN PRIVATE KEY-----\n" + "x" * 60 + "\n"
    return {
        "prose": [prose],
        "prose+hash": [_every_sentence(prose, lambda i: f"{rng.getrandbits(128):032x}")[:size]],
        "prose+%XX": [prose[: size - 12] + " %41%42%43"],
        "spaced-mixed (250 msgs)": spaced,
        "joined-words": [joined],
        "role-markers": [markers[:size]],
        "base64": [blob[:size]],
        "private-key": [(key * (size // len(key)))[:size]],
        "spaced-dash": [" ".join("-".join(w) for w in prose.split())[:size]],
        "punct-noise": [obfuscate(prose, "case_punct_noise", rng)[:size]],
        "anchor-words": [_anchor_words(size, rng)],
        "attacks": [_attacks(size)],
    }


def _anchor_words(size: int, rng: random.Random) -> str:
    """Random sentences of the words the rules are anchored on: the most candidate rules a
    text can make run, with few of them matching."""
    from doorman.screen.families import RULES as FAMILY_RULES
    from doorman.screen.rules import _ANCHORS

    vocab = sorted(
        {w for groups in _ANCHORS.values() for g in groups for w in g}
        | {w for r in FAMILY_RULES for g in r.anchors for w in g}
    )
    words: list[str] = []
    total = 0
    while total < size:
        sentence = " ".join(rng.choice(vocab) for _ in range(12)) + "."
        words.append(sentence)
        total += len(sentence) + 1
    return " ".join(words)[:size]


def _attacks(size: int) -> str:
    text = "\n\n".join(r["text"] for r in load() if r["label"])
    return (text * (1 + size // len(text)))[:size]


def body(texts: list[str]) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": t} for t in texts]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated shapes (prose is always run)")
    args = parser.parse_args()
    only = {"prose", *filter(None, args.only.split(","))} if args.only else None
    screener = InputScreener(ScreeningSettings(), cache_size=0)
    size = args.kb * 1000
    results: dict[str, float] = {}
    for name, texts in shapes(size).items():
        if only is not None and name.split(" ")[0] not in only:
            continue
        payload = body(texts)
        chars = sum(map(len, texts))
        best = float("inf")
        for _ in range(args.repeat):
            start = time.thread_time()  # CPU time: the machine is shared, wall time is noise
            screener.screen_chat(payload, "openai")
            best = min(best, time.thread_time() - start)
        results[name] = best * 1000 * 100_000 / chars
    base = results["prose"]
    print(f"| input ({args.kb} KB) | CPU ms per 100 KB (best of {args.repeat}) | x prose |")
    print("|---|---:|---:|")
    for name, value in results.items():
        print(f"| {name} | {value:.1f} | {value / base:.2f} |")
    print()
    print("| prompt | CPU us per screen_chat (best of 7 batches) |")
    print("|---|---:|")
    cached = InputScreener(ScreeningSettings())
    for name, text, who, n in (
        ("one-line prompt, cache off", SHORT, screener, 2000),
        ("one-line prompt, repeated (cache on)", SHORT, cached, 2000),
        ("1,000-token prompt, cache off", long_prompt(load()), screener, 100),
    ):
        print(f"| {name} | {cpu_per_call(who, body([text]), n):.1f} |")


SHORT = "Summarise the plot of Hamlet in two sentences."  # bench/proxy_bench.py's prompt


def cpu_per_call(screener: InputScreener, payload: dict[str, Any], n: int) -> float:
    """Microseconds of this thread's CPU per screen_chat, best of 7 batches of ``n``."""
    for _ in range(20):
        screener.screen_chat(payload, "openai")
    best = float("inf")
    for _ in range(7):
        start = time.thread_time()
        for _ in range(n):
            screener.screen_chat(payload, "openai")
        best = min(best, (time.thread_time() - start) / n)
    return best * 1e6


if __name__ == "__main__":
    sys.exit(main())
