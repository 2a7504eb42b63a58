"""The places in a document where an injection hides from the person who pasted it.

HTML and markdown comments, elements styled invisible (``display:none``, zero font size, white
text, ``hidden``), CSV cells, e-mail footers and signatures, and bracketed or braced notes are
cut out and screened as texts of their own: a short instruction scores on its own words instead
of being averaged into a long, harmless document. Text in an invisible place that talks to a
model ("assistant", "you", "AI") is also a disguise signal of its own (``hidden_markup``).
Bounded: at most :data:`MAX_SEGMENTS` segments and :data:`MAX_CHARS` characters per text.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import filterfalse, repeat

MAX_SEGMENTS = 12
MAX_CHARS = 20_000
MIN_SEGMENT = 12

_COMMENT_RE = re.compile(r"<!--(.{1,2000}?)-->", re.DOTALL)
_MD_COMMENT_RE = re.compile(r"^\s*\[(?://|comment)\]:\s*(?:#|<>)\s*\((.{1,2000}?)\)\s*$", re.M)
_HIDDEN_ELEMENT_RE = re.compile(
    r"<(\w+)\b[^>]{0,300}?(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d])|"
    r"opacity\s*:\s*0(?![.\d])|color\s*[:=]\s*[\"']?(?:white|#fff(?:fff)?)\b|\bhidden\b|"
    r"aria-hidden)[^>]{0,300}>(.{1,2000}?)</\1\s*>",
    re.DOTALL | re.IGNORECASE,
)
_BRACKET_RE = re.compile(r"\[([^\[\]\n]{12,400})\](?!\()|\{\{?([^{}\n]{12,400})\}\}?")
_FOOTER_LINE_RE = re.compile(
    r"(?:-{2,3} ?|_{3,}|\*{3,}|footer:|p\.?\s?s\.?[:,]?|sent from my \w+)\s*", re.IGNORECASE
)
_TALKS_TO_MODEL_RE = re.compile(
    r"\b(?:assistant|ai|model|llm|chatbot|bot|gpt|claude|system|you|your)\b", re.IGNORECASE
)
_TAG_RE = re.compile(r"<[^>]{0,300}>")
_PROSE_RE = re.compile(r"\s*[^\W\d_]+[\s:,]+[^\W\d_]+\s+[^\W\d_]+")  # words, not code


def _csv_cells(text: str) -> list[str]:
    """Cells of a comma-, semicolon- or tab-separated table: three or more rows with the same
    number of separators making up most lines, separators not followed by a space (prose)."""
    # lines that are not blank (``ln.strip()`` is true exactly when ``ln.isspace()`` is false
    # for a non-empty line), selected without copying each line
    lines = list(filterfalse(str.isspace, filter(None, text.splitlines())))
    if len(lines) < 3:
        return []
    need = len(lines) * 3  # a table's rows (each holding the separator) are 3/5 of the lines
    for sep in (",", ";", "\t"):
        # exact shortcut: with fewer lines holding ``sep`` than that, no width >= 1 can reach
        # it; the total count bounds those lines from above (prose skips both with no loop)
        if text.count(sep) * 5 < need or sum(map(str.__contains__, lines, repeat(sep))) * 5 < need:
            continue
        counts = Counter(map(str.count, lines, repeat(sep)))
        width, rows = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if width < 1 or rows < 3 or rows * 5 < len(lines) * 3:
            continue
        cells = _table_cells(lines, sep, width)
        if cells is not None:
            return cells
    return []


def _table_cells(lines: list[str], sep: str, width: int) -> list[str] | None:
    """The long cells of the rows with ``width`` separators; None when the separators are
    mostly followed by a space (prose, not a table)."""
    table = [ln for ln in lines if ln.count(sep) == width]
    if sep != "\t" and sum(ln.count(sep + " ") for ln in table) * 2 > width * len(table):
        return None
    cells = [c.strip().strip('"').strip() for ln in table for c in ln.split(sep)]
    return [c for c in cells if len(c) >= MIN_SEGMENT * 2]


def _footer(tail: str) -> str | None:
    """The text after the last footer or signature marker line ("--", "P.S.", "Footer:")."""
    lines = tail.split("\n")
    for i in range(len(lines) - 1, -1, -1):
        marker = _FOOTER_LINE_RE.match(lines[i])
        if marker:
            rest = lines[i][marker.end() :]
            return "\n".join([rest, *lines[i + 1 :]]).strip() or None
    return None


def hidden_segments(text: str) -> tuple[list[str], bool]:
    """Texts from hidden places, and whether an invisible one addresses a model."""
    if len(text) < 20:
        return [], False
    scope = text[:MAX_CHARS]
    invisible: list[str] = []
    visible: list[str] = []
    if "<!--" in scope:
        invisible += [m.group(1) for m in _COMMENT_RE.finditer(scope)]
    if "]:" in scope:
        invisible += [m.group(1) for m in _MD_COMMENT_RE.finditer(scope)]
    if "<" in scope and ">" in scope:
        invisible += [_TAG_RE.sub(" ", m.group(2)) for m in _HIDDEN_ELEMENT_RE.finditer(scope)]
    if "[" in scope or "{" in scope:
        notes = (m.group(1) or m.group(2) for m in _BRACKET_RE.finditer(scope))
        visible += [n for n in notes if n.count(" ") >= 3 and _PROSE_RE.match(n)]
    if "\n" in scope:
        footer = _footer(scope[-3000:])
        if footer:
            visible.append(footer)
        if "," in scope or ";" in scope or "\t" in scope:
            visible += _csv_cells(scope)
    talks = any(_TALKS_TO_MODEL_RE.search(seg) for seg in invisible)
    segments = [s.strip() for s in invisible + visible if len(s.strip()) >= MIN_SEGMENT]
    return segments[:MAX_SEGMENTS], talks
