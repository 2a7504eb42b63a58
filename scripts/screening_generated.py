"""Generated screening corpora from the phrase banks (issue #13's seven patterns, 15 languages).

``generated("a")`` uses the even templates of :mod:`screening_phrases` and
:mod:`screening_phrases_ml` and feeds training (``screening_corpus.assemble``); ``generated("b")``
uses the odd ones and feeds only the development set (``screening_devset.py``). Sources are named
``doorman-gen-a-*`` / ``doorman-gen-b-*``: clearly labelled as programmatic.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import screening_phrases as P
import screening_phrases_ml as M

SEED = 4242
Record = dict[str, Any]


def _rec(text: str, label: int, source: str, family: str, lang: str = "en") -> Record:
    return {"text": text, "label": label, "source": source, "family": family, "lang": lang}


def _half(items: list[Any], side: str) -> list[Any]:
    """Even positions for side "a" (training), odd for "b" (development)."""
    return items[0 if side == "a" else 1 :: 2]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fill(template: str, rng: random.Random, side: str) -> str:
    payload = rng.choice(_half(P.PAYLOADS, side))
    task = rng.choice(_half(P.TASKS, side))
    return template.format(
        payload=_cap(payload) if template.startswith("{payload}") else payload,
        payload_short=payload.split(" ", 1)[1] if " " in payload else payload,
        task=task,
        task_cap=_cap(task),
        secret=rng.choice(_half(P.SECRETS, side)),
        email=rng.choice(P.EMAILS),
        url=rng.choice(P.URLS),
        doc=rng.choice(_half(P.DOCS, side)),
    )


LEADS = [
    "", "Hi!", "", "Hello, quick one.", "", "Thanks for your help earlier.", "I have a request.",
    "Good morning!", "Okay, next step.", "Listen carefully.", "Hey.", "One more thing.",
]  # fmt: skip
TRAILS = ["", "Thanks!", "", "Do it now.", "", "Cheers.", "Be quick.", "This is important."]


BENIGN_LEADS = ["", "Hi!", "", "Hello.", "", "Good morning!", "Thanks in advance.", "Hey."]
BENIGN_TRAILS = ["", "Thanks!", "", "Cheers.", "", "Thank you."]


def _many(
    templates: list[str], rng: random.Random, side: str, n: int, benign: bool = False
) -> list[str]:
    out: set[str] = set()
    tries = 0
    leads = _half(BENIGN_LEADS if benign else LEADS, side)
    trails = _half(BENIGN_TRAILS if benign else TRAILS, side)
    while len(out) < n and tries < n * 20:
        tries += 1
        core = _fill(rng.choice(templates), rng, side)
        out.add(f"{rng.choice(leads)} {core} {rng.choice(trails)}".strip())
    return sorted(out)


def generated(side: str, scale: int = 1) -> list[Record]:
    """The programmatic sources of one side ("a" trains, "b" is development only)."""
    rng = random.Random(SEED if side == "a" else SEED + 1)
    tag = f"doorman-gen-{side}"
    recs: list[Record] = []
    english = {
        "authority": P.AUTHORITY,
        "hijack": P.HIJACK,
        "tool_abuse": P.TOOL_ABUSE,
        "extraction": P.EXTRACTION,
        "jailbreak": P.FRAMING,
    }
    for family, templates in english.items():
        for text in _many(_half(templates, side), rng, side, 300 * scale):
            recs.append(_rec(text, 1, f"{tag}-{family}", family))
    for text in _many(_half(P.INDIRECT, side), rng, side, 300 * scale):
        recs.append(_rec(f"{rng.choice(P.DOC_TASKS)}\n{text}", 1, f"{tag}-indirect", "indirect"))
    benign = {
        "persona_game": P.PERSONA_GAME,
        "study_request": P.STUDY,
        "dev_question": P.DEV_TEMPLATES,
    }
    prefixes = ["", "", "Hi! ", "Quick question: ", "Hello. ", "Hey, ", "Good morning! "]
    suffixes = ["", "", " Thanks!", " Keep it short.", " Thank you in advance.", " Cheers."]
    for family, texts in benign.items():
        variants = {
            f"{rng.choice(prefixes)}{t}{rng.choice(suffixes)}"
            for t in _half(texts, side)
            for _ in range(24)
        }
        recs.extend(_rec(t, 0, f"{tag}-{family}", family) for t in sorted(variants))
    for text in _many(_half(P.DOC_BENIGN, side), rng, side, 200 * scale, benign=True):
        recs.append(
            _rec(f"{rng.choice(P.DOC_TASKS)}\n{text}", 0, f"{tag}-document", "document_benign")
        )
    ordinary: set[str] = set()
    topics = _half(P.TOPICS, side)
    for _ in range(600 * scale):
        a, b = rng.sample(topics, 2)
        ordinary.add(rng.choice(_half(P.ORDINARY_EXTRA, side)).format(topic=a, topic2=b))
    recs.extend(_rec(t, 0, f"{tag}-ordinary", "ordinary") for t in sorted(ordinary))
    wrappers = _half(M.WRAPPERS, side)
    for lang, bank in M.ML.items():
        attacks: list[tuple[str, str]] = bank["attack"]  # type: ignore[assignment]
        for family, sentence in _half(attacks, side):
            fam = (
                "extraction"
                if family == "extraction"
                else "jailbreak"
                if family == "persona"
                else "direct"
            )
            for wrap in wrappers:
                recs.append(_rec(wrap.format(s=sentence), 1, f"{tag}-ml", fam, lang))
            for task in rng.sample(_half(P.TASKS, side), 2):
                text = f"Please {task}. {sentence}"
                recs.append(_rec(text, 1, f"{tag}-ml", fam, lang))
        for sentence in _half(list(bank["benign"]), side):  # type: ignore[arg-type]
            for wrap in wrappers:
                recs.append(_rec(wrap.format(s=sentence), 0, f"{tag}-ml-benign", "ordinary", lang))
    return recs
