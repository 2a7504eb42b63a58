"""Do two versions of the screening engine give the same detections? Dump, then compare.

An engine change (matching, gates, scheduling) must not move a single verdict. Run the dump with
each source tree on ``PYTHONPATH`` and compare the two files: every record's full
:class:`~doorman.screen.detector.Detection` (score to 9 decimals, each layer, matched rules,
signals, winning view) must be identical. Texts: every dev record, every evaluation record,
each transform of :mod:`doorman.screen.obfuscate` over a fixed sample of both, and the
worst-case shapes of ``bench/screening_worst.py`` (screened as whole requests).

Usage::

    PYTHONPATH=<old>/src .venv/bin/python bench/screening_same.py dump /tmp/old.jsonl
    PYTHONPATH=<new>/src .venv/bin/python bench/screening_same.py dump /tmp/new.jsonl
    .venv/bin/python bench/screening_same.py compare /tmp/old.jsonl /tmp/new.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path

from screening_worst import shapes

from doorman.screen import InputScreener, ScreeningSettings
from doorman.screen.obfuscate import ALL_TRANSFORMS, obfuscate

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"
TRANSFORM_SAMPLE = 300  # records per transform


def texts() -> Iterator[tuple[str, str]]:
    """(key, text) pairs, in a fixed order."""
    records: list[dict[str, str]] = []
    for name in ("dev", "eval"):
        with gzip.open(DATA / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                record = json.loads(line)
                records.append(record)
                yield f"{name}:{i}", record["text"]
    rng = random.Random(13)
    sample = rng.sample(records, TRANSFORM_SAMPLE)
    for kind in sorted(ALL_TRANSFORMS):
        for i, record in enumerate(sample):
            yield f"{kind}:{i}", obfuscate(record["text"], kind, random.Random(i))
    for name, pieces in shapes(20_000).items():
        for i, piece in enumerate(pieces[:20]):
            yield f"shape {name}:{i}", piece


def dump(path: Path) -> None:
    screener = InputScreener(ScreeningSettings(), cache_size=0)
    with path.open("w", encoding="utf-8") as out:
        for key, text in texts():
            d = screener._detect_long(text)
            row = [key, round(d.score, 9), round(d.rules, 9), round(d.similarity, 9),
                   round(d.classifier, 9), d.matched, d.signals, d.view]  # fmt: skip
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def compare(old: Path, new: Path) -> int:
    with old.open(encoding="utf-8") as a, new.open(encoding="utf-8") as b:
        rows_a = [json.loads(line) for line in a]
        rows_b = [json.loads(line) for line in b]
    if [r[0] for r in rows_a] != [r[0] for r in rows_b]:
        print("the two dumps screened different texts")
        return 2
    differ = [(x, y) for x, y in zip(rows_a, rows_b, strict=True) if x != y]
    for x, y in differ[:50]:
        print(f"{x[0]}:\n  old {x[1:]}\n  new {y[1:]}")
    print(f"{len(rows_a)} texts, {len(differ)} detections differ")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dump").add_argument("out", type=Path)
    both = sub.add_parser("compare")
    both.add_argument("old", type=Path)
    both.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out)
        return 0
    return compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
