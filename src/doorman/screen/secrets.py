"""Secrets and personal data in prompts: find them, and replace them with typed placeholders.

Provider keys pasted into a prompt end up in a third party's logs; redacting them before the
upstream call keeps the request useful ("why does this key not work: [REDACTED_OPENAI_KEY]")
without leaking the value. Findings carry the kind and position only, never the value.
Credit-card candidates must pass the Luhn check and a known issuer prefix, so order numbers and
timestamps are left alone.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Literal

from doorman.screen.gate import Gated

Category = Literal["secret", "pii"]


@dataclass(frozen=True, slots=True)
class DataFinding:
    kind: str  # e.g. "openai_key", "email"
    category: Category
    start: int
    end: int

    @property
    def placeholder(self) -> str:
        return f"[REDACTED_{self.kind.upper()}]"


# (kind, substrings of which one must occur for the pattern to run, pattern)
_SECRET_PATTERNS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("private_key", ("-----BEGIN",), re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]{0,20000}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[\s\S]{0,4000})"
    )),
    ("anthropic_key", ("sk-ant-",), re.compile(r"\bsk-ant-[A-Za-z0-9]{2,8}-[A-Za-z0-9_\-]{20,}")),
    ("openai_key", ("sk-",), re.compile(
        r"\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}(?:T3BlbkFJ[A-Za-z0-9_\-]{20,})?"
    )),
    ("aws_access_key", ("AKIA", "ASIA", "ABIA", "ACCA", "AROA", "AIDA"), re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AROA|AIDA)[0-9A-Z]{16}\b")),
    ("aws_secret_key", ("aws", "AWS", "Aws"), re.compile(
        r"(?i)\baws.{0,24}?(?:secret|private).{0,24}?[=:\"'\s]\s*[\"']?"
        r"(?-i:[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
    )),
    ("github_token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), re.compile(
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"
    )),
    ("google_api_key", ("AIza",), re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("slack_token", ("xox",), re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}\b")),
    ("stripe_key", ("_live_",), re.compile(r"\b(?:sk|rk)_live_[A-Za-z0-9]{20,}\b")),
)  # fmt: skip

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}"
    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b"
)
_CARD_RE = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_PHONE_RE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,4}(?!\w)"
    r"|(?<![\w+])\+\d{8,15}(?!\w)"
)
_DIGIT_RUN = Gated(re.compile(r"\d[\d\s().-]{7,}\d"))  # anything with 9+ digit-ish chars
_CARD_PREFIX_RE = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|3[068]|6(?:011|5|4[4-9]|22)|35)")
_DATE_LIKE_RE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


# every secret pattern's hints in one RE2 pass: prose holds none, and pays one scan instead
# of a substring search per hint
_ANY_HINT = Gated(
    re.compile("|".join(re.escape(hint) for _, hints, _ in _SECRET_PATTERNS for hint in hints))
)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum used by payment cards."""
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


MAX_FINDINGS = 1000  # per text; past this the rest is not inspected (bounded work)


class _Spans:
    """Non-overlapping spans, kept sorted: overlap tests in O(log n)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect_left(self.starts, end)
        return i > 0 and self.ends[i - 1] > start

    def add(self, start: int, end: int) -> None:
        i = bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


_EMAIL_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
_EMAIL_DOMAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def _maybe_email(text: str) -> bool:
    """Some "@" sits between a local-part and a domain character (needed by ``_EMAIL_RE``);
    a cheap check that spares prose with a stray "@" (decorators, operators) a regex scan."""
    at = text.find("@", 1)
    while at != -1:
        if text[at - 1] in _EMAIL_LOCAL and text[at + 1 : at + 2] in _EMAIL_DOMAIN:
            return True
        at = text.find("@", at + 1)
    return False


def scan(text: str, pii_kinds: AbstractSet[str] = frozenset()) -> list[DataFinding]:
    """Secrets always; PII of the requested kinds (email, phone, credit_card). Sorted."""
    found: list[DataFinding] = []
    spans = _Spans()

    def keep(kind: str, category: Category, start: int, end: int) -> bool:
        if spans.overlaps(start, end):
            return True
        spans.add(start, end)
        found.append(DataFinding(kind, category, start, end))
        return len(found) < MAX_FINDINGS

    for kind, hints, pattern in _SECRET_PATTERNS if _ANY_HINT.found(text) else ():
        if not any(hint in text for hint in hints):
            continue
        for match in pattern.finditer(text):
            if not keep(kind, "secret", match.start(), match.end()):
                return sorted(found, key=lambda f: f.start)
    if "email" in pii_kinds and "@" in text and _maybe_email(text):
        for match in _EMAIL_RE.finditer(text):
            if not keep("email", "pii", match.start(), match.end()):
                return sorted(found, key=lambda f: f.start)
    if not ({"credit_card", "phone"} & pii_kinds) or not _DIGIT_RUN.found(text):
        return sorted(found, key=lambda f: f.start)
    if "credit_card" in pii_kinds:
        for match in _CARD_RE.finditer(text):
            digits = re.sub(r"[ -]", "", match.group(0))
            if (
                13 <= len(digits) <= 19
                and _CARD_PREFIX_RE.match(digits)
                and luhn_valid(digits)
                and not keep("credit_card", "pii", match.start(), match.end())
            ):
                return sorted(found, key=lambda f: f.start)
    if "phone" in pii_kinds:
        for match in _PHONE_RE.finditer(text):
            raw = match.group(0)
            n_digits = sum(c.isdigit() for c in raw)
            if not 10 <= n_digits <= 15 or _DATE_LIKE_RE.match(raw):
                continue
            if not (raw.startswith("+") or "(" in raw or re.search(r"[\s.-]", raw)):
                continue
            if not keep("phone", "pii", match.start(), match.end()):
                break
    return sorted(found, key=lambda f: f.start)


def redact(text: str, findings: list[DataFinding]) -> str:
    """``text`` with every finding replaced by its typed placeholder."""
    if not findings:
        return text
    parts: list[str] = []
    last = 0
    for finding in sorted(findings, key=lambda f: f.start):
        parts.append(text[last : finding.start])
        parts.append(finding.placeholder)
        last = finding.end
    parts.append(text[last:])
    return "".join(parts)
