"""Undo the cheap disguises attackers put on text before any detector looks at it.

:func:`normalize` returns one canonical *view* of the text (NFKC, homoglyphs folded, invisible
characters removed, spaced-out letters joined, leetspeak folded, lower case) plus extra views for
content hidden inside it (Unicode tag characters, base64, hex, URL-encoding, rot13, and through
:mod:`doorman.screen.decoders` base32, Ascii85/base85, binary, ``\\u``/HTML escapes, Morse, NATO
spelling, pig latin, Caesar shifts and words written backwards), decoded with bounded depth and
size, each behind a cheap trigger. The views are copies used for detection only; the request
is untouched. The disguises themselves are returned as signals: honest prompts rarely carry zero-width or tag
characters, or words mixing Latin with Cyrillic letters.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import unquote

from doorman.screen import decoders
from doorman.screen.features import STOP_UNIGRAMS, tokenize
from doorman.screen.gate import Gate, Gated, gate_for

MAX_DEPTH = 2  # decode nested encodings at most this deep
MAX_DECODED_CHARS = 64_000  # total decoded text scanned per message
MAX_VIEWS = 12

# Characters that render as nothing (or reorder text) and so hide content from a reviewer.
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad\u034f"
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_INVISIBLE_RE = re.compile(
    f"[{_ZERO_WIDTH}{_BIDI}\ufe00-\ufe0f\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
# invisible, bidi, variation selectors, tag characters, Greek and Cyrillic: worth a closer look
_SUSPECT = Gated(
    re.compile(
        f"[{_ZERO_WIDTH}{_BIDI}\ufe00-\ufe0f\U000e0000-\U000e01ef\u0370-\u03ff\u0400-\u052f]"
    )
)
_TAG_RE = re.compile("[\U000e0020-\U000e007e]+")
_BIDI_SET = frozenset(_BIDI)

# Letters that look Latin but are not, and that NFKC leaves alone.
_CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ь": "b", "п": "n", "г": "r", "з": "3",
    "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p", "С": "c",
    "Т": "t", "Х": "x", "І": "i", "Ј": "j", "Ѕ": "s", "У": "y", "Ү": "y", "Ԛ": "q", "Ԝ": "w",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "s", "Α": "a", "Β": "b", "Ε": "e",
    "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m", "Ν": "n", "Ο": "o", "Ρ": "p", "Τ": "t",
    "Υ": "y", "Χ": "x",
    # Latin look-alikes and IPA
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɩ": "i", "ʟ": "l", "ɴ": "n", "ʀ": "r", "ᴀ": "a", "ᴄ": "c",
    "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ᴍ": "m", "ᴏ": "o",
    "ᴘ": "p", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z", "ø": "o",
    "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t", "ß": "ss", "æ": "ae", "œ": "oe",
    # punctuation look-alikes
    "‘": "'", "’": "'", "“": '"', "”": '"', "‐": "-", "‑": "-", "–": "-", "—": "-", "⁄": "/",
    "｜": "|", "〈": "<", "〉": ">", "‹": "<", "›": ">", "«": '"', "»": '"',
}  # fmt: skip
_CONFUSABLE_TABLE = str.maketrans(_CONFUSABLES)
# Letter-like symbols NFKC leaves alone (regional indicators, negative circled and squared
# letters) or turns into "(a)" (parenthesized letters): one letter each.
_LETTERLIKE = {
    chr(base + i): "abcdefghijklmnopqrstuvwxyz"[i]
    for base in (0x1F1E6, 0x1F150, 0x1F170, 0x249C)
    for i in range(26)
}
_NON_LATIN_LOOKALIKES = frozenset(
    c for c in _CONFUSABLES if "\u0370" <= c <= "\u03ff" or "\u0400" <= c <= "\u052f"
)

# Leetspeak: only folded inside tokens that mix letters with these characters.
_LEET_TABLE = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s",
     "!": "i", "|": "l", "€": "e", "+": "t"}
)  # fmt: skip
# a run of 2+ leet characters alone: ``(?<![\w@$€])[0134578@$€]{2,}(?![\w@$€])`` with the
# lookbehind moved after the first character, so the engine skips ahead to a leet character
# instead of trying the lookbehind at every position (~20 ns a character)
_LEET_ONLY_RE = re.compile(r"[0134578@$€](?<![\w@$€].)[0134578@$€]+(?![\w@$€])")
_LEET_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789@$!|€+")
_LEET_CHAR_RE = re.compile(r"[0134578@$€+!|]")
_LEET_RUN_RE = re.compile(r"[a-z0-9@$!|€+]*")  # the characters of _LEET_TOKEN_CHARS
_DROP_ASCII_LETTERS = str.maketrans(dict.fromkeys("abcdefghijklmnopqrstuvwxyz"))
# Letters spaced out with one separator each: "i g n o r e", "i.g.n.o.r.e", "i-g-n-o-r-e".
_SPACED_RE = re.compile(r"(?<![^\W_])[^\W_]([ .\-_*/|,])[^\W_](?:\1[^\W_])*(?![^\W_])")
# three single letters in a row: "e.g." / "i.e." alone do not make prose pay for the join
_SPACED_HINT = Gated(re.compile(r"[ .\-_*/|,][^\W_][ .\-_*/|,][^\W_][ .\-_*/|,][^\W_]"))
_WS_RE = re.compile(r"\s+")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]+")
_COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_ESCAPES_RE = re.compile(r"\\[ntr]")
_INNER_HYPHEN_RE = re.compile(r"-(?<=[a-z]-)-*(?=[a-z])")  # starts with "-": fast scan
_NON_LATIN_RE = re.compile("[\u0370-\u03ff\u0400-\u052f]")
_MIXED_WORD_RE = re.compile(r"[^\W\d_]{3,}")

_B64_RE = re.compile(r"(?:[A-Za-z0-9+/]{4}){5,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_B64URL_RE = re.compile(r"(?:[A-Za-z0-9_\-]{4}){6,}")
# ASCII bytes in hex start with 2-7, which also keeps the scan fast
_HEX_RE = re.compile(r"(?:(?:\\x|0x)?[2-7][0-9a-fA-F][ :,]?){12,}")
_LONG_RUN_RE = re.compile(r"[A-Za-z0-9+/_\-=]{20,}")
_LONG_TOKEN_GATE = gate_for(re.compile(r"\S{20}"))  # \s is what str.split() splits on
_HEX_HINT = Gated(re.compile(r"(?:[2-7][0-9a-fA-F][ :,]){6}|\\x[2-7]|0x[2-7]"))
_HEX_GATE = gate_for(_HEX_RE)  # finditer alone tries every position (~40 ns a character)
_HEX_CLEAN_RE = re.compile(r"\\x|0x|[ :,]")
_URLENC_RE = re.compile(r"%[0-9a-fA-F]{2}")
_ASCII_WORD_RE = re.compile(r"[a-z]+")

_ROT13 = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "nopqrstuvwxyzabcdefghijklmNOPQRSTUVWXYZabcdefghijklm",
)
_COMMON_WORDS = frozenset(
    "the and you to of a is in that it for are your all be this with as on not what do "
    "now from me my i an or will can have any tell print say ignore previous instructions "
    "system prompt above rules".split()
)
_ROT13_COMMON = frozenset(w.translate(_ROT13) for w in _COMMON_WORDS)


@dataclass(slots=True)
class Normalized:
    """Detection views of one text plus the disguise signals found while producing them."""

    views: list[tuple[str, str]]  # (origin, canonical text); origin "text" is the main view
    joined: set[int] = field(default_factory=set)  # views where spaced letters were joined
    tokens: list[list[str]] = field(default_factory=list)  # tokenize() of each view
    invisible: int = 0
    bidi: int = 0
    tag_chars: int = 0
    homoglyph_words: int = 0
    decoded: list[str] = field(default_factory=list)  # kinds of hidden content decoded

    @property
    def main(self) -> str:
        return self.views[0][1]

    def signals(self) -> list[str]:
        out = []
        if self.invisible:
            out.append("invisible_chars")
        if self.bidi:
            out.append("bidi_controls")
        if self.tag_chars:
            out.append("tag_chars")
        if self.homoglyph_words:
            out.append("homoglyphs")
        out.extend(f"encoded_{kind}" for kind in self.decoded)
        return out


_FOLDED: dict[str, str] = {}


def _fold_char(char: str) -> str:
    """NFKC, confusables, then NFKD without combining marks, for one character (cached)."""
    folded = _FOLDED.get(char)
    if folded is None:
        folded = _LETTERLIKE.get(char) or unicodedata.normalize("NFKC", char).translate(
            _CONFUSABLE_TABLE
        )
        if not folded.isascii():
            folded = _COMBINING_RE.sub("", unicodedata.normalize("NFKD", folded))
        if len(_FOLDED) < 50_000:
            _FOLDED[char] = folded
    return folded


def _fold_unicode(text: str) -> str:
    """NFKC, confusables, diacritics stripped; only non-ASCII characters are touched."""
    if text.isascii():
        return text
    return _NON_ASCII_RE.sub(lambda m: "".join(_fold_char(c) for c in m.group(0)), text)


def _collapse_spaced(text: str) -> tuple[str, int]:
    """Join spaced-out letters; also count the runs long enough to hide a word (4+ letters)."""
    if len(text) < 5 or not _SPACED_HINT.found(text):
        return text, 0
    long_runs = 0

    def join(match: re.Match[str]) -> str:
        nonlocal long_runs
        run = match.group(0)
        if len(run) >= 7:
            long_runs += 1
        return run[::2]  # letter, separator, letter, ...: one character each

    return _SPACED_RE.sub(join, text), long_runs


def _fold_leet(text: str) -> str:
    """Fold leetspeak inside tokens that mix letters with digits/symbols ("1gn0r3").

    When a text is heavily leeted (several such tokens), tokens made only of leet characters
    ("7h3" and also "17" for "it") are folded too; ordinary numbers are left alone otherwise.
    """
    spans: list[tuple[int, int]] = []
    last = 0
    size = len(text)
    for match in _LEET_CHAR_RE.finditer(text):
        at = match.start()
        if at < last:
            continue
        before = at > 0 and "a" <= text[at - 1] <= "z"
        after = at + 1 < size and "a" <= text[at + 1] <= "z"
        if not (before or after) or (text[at] in "!|" and not (before and after)):
            continue
        start = at
        while start > last and text[start - 1] in _LEET_TOKEN_CHARS:
            start -= 1
        end = _LEET_RUN_RE.match(text, at + 1).end()  # type: ignore[union-attr]  # "*": always
        while end > start and text[end - 1] in "!|+":
            end -= 1  # trailing "!!!" is punctuation, not an "i"
        token = text[start:end]
        letters = len(token) - len(token.translate(_DROP_ASCII_LETTERS))
        if len(token) >= 2 and 0 < letters < len(token):
            spans.append((start, end))
            last = end
    if not spans:
        return text
    if len(spans) >= 3:
        spans = sorted(set(spans) | {m.span() for m in _LEET_ONLY_RE.finditer(text)})
    out: list[str] = []
    last = 0
    for start, end in spans:
        if start < last:
            continue
        out.append(text[last:start])
        out.append(text[start:end].translate(_LEET_TABLE))
        last = end
    out.append(text[last:])
    return "".join(out)


def canonical_joined(text: str, folded: bool = False) -> tuple[str, bool]:
    """:func:`canonical` plus whether spaced-out letters were joined (word gaps may be lost)."""
    text = (text if folded else _fold_unicode(text)).lower()
    if "\\" in text:
        text = _ESCAPES_RE.sub(" ", text)
    text, joined = _collapse_spaced(text)
    if "-" in text:
        text = _INNER_HYPHEN_RE.sub("", text)
    text = _fold_leet(text)
    return " ".join(text.split()), joined > 0


def canonical(text: str) -> str:
    """The main detection view: folded, lower-cased, spaced letters joined, leet folded."""
    return canonical_joined(text)[0]


def _printable_ratio(text: str) -> float:
    if not text:
        return 0.0
    good = sum(1 for c in text if c.isprintable() or c in "\n\t\r")
    return good / len(text)


def _decode_bytes(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 6 or _printable_ratio(text) < 0.9 or not any(c.isalpha() for c in text):
        return None
    return text


def _looks_encoded(run: str) -> bool:
    """A long run that mixes character classes the way base64/hex do (not an identifier)."""
    has_digit = any(c.isdigit() for c in run)
    has_upper = any(c.isupper() for c in run)
    has_lower = any(c.islower() for c in run)
    return (has_digit and (has_upper or has_lower)) or (has_upper and has_lower and "_" not in run)


def _may_match(gate: Gate | None, text: str) -> bool:
    return gate is None or gate.may_match(text)


def _may_have_long_token(text: str) -> bool:
    """False only when no whitespace-separated token of ``text`` has 20+ characters (one RE2
    pass instead of splitting prose into words to look at their lengths)."""
    return _may_match(_LONG_TOKEN_GATE, text)


def _decode_chunks(text: str, spare_spaces: int = 0) -> list[tuple[str, str]]:
    """Hidden payloads found in ``text`` as (kind, decoded text). ``spare_spaces``: spaces of
    its canonical view beyond one per token; Morse code (spaces, no tokens) has many."""
    found: list[tuple[str, str]] = []
    words = text.split() if _may_have_long_token(text) else []
    long_words = [at for at, token in enumerate(words) if len(token) >= 20]
    runs = [
        run for at in long_words for run in _LONG_RUN_RE.findall(words[at]) if _looks_encoded(run)
    ]
    if runs or (len(text) >= 20 and _HEX_HINT.found(text)):
        for match in (m for run in runs for m in _B64_RE.finditer(run)):
            chunk = match.group(0)
            if chunk.isalpha() and (chunk.islower() or chunk.isupper()):
                continue  # a long plain word is not base64
            pad = "=" * (-len(chunk) % 4)
            try:
                decoded = _decode_bytes(base64.b64decode(chunk + pad, validate=False))
            except (binascii.Error, ValueError):
                decoded = None
            if decoded:
                found.append(("base64", decoded))
        if not found:
            for match in (m for run in runs for m in _B64URL_RE.finditer(run)):
                chunk = match.group(0)
                if "-" not in chunk and "_" not in chunk:
                    continue
                try:
                    raw = base64.urlsafe_b64decode(chunk + "=" * (-len(chunk) % 4))
                except (binascii.Error, ValueError):
                    continue
                decoded = _decode_bytes(raw)
                if decoded:
                    found.append(("base64", decoded))
        hex_matches = _HEX_RE.finditer(text) if _may_match(_HEX_GATE, text) else ()
        for match in hex_matches:
            digits = _HEX_CLEAN_RE.sub("", match.group(0))
            if len(digits) % 2:
                digits = digits[:-1]
            try:
                decoded = _decode_bytes(bytes.fromhex(digits))
            except ValueError:
                decoded = None
            if decoded:
                found.append(("hex", decoded))
    if runs and not found:
        found.extend(("base32", d) for d in decoders.decode_base32(runs))
    if long_words:
        found.extend(("base85", d) for d in decoders.decode_base85(words, long_words))
    found.extend(("binary", d) for d in decoders.decode_binary(text))
    if "\\" in text or ("&" in text and "&#" in text):
        found.extend(("escapes", d) for d in decoders.decode_escapes(text))
    if spare_spaces >= 8:
        found.extend(("morse", d) for d in decoders.decode_morse(text))
    if "%" in text and len(_URLENC_RE.findall(text)) >= 3:
        # only the words that carry escapes: a few %XX in a long prompt must not add a decoded
        # copy of all of it (which doubled the cost of every layer)
        encoded = [word for word in text.split() if "%" in word and _URLENC_RE.search(word)]
        if sum(len(_URLENC_RE.findall(word)) for word in encoded) >= 3:
            found.append(("urlencoded", " ".join(unquote(word) for word in encoded)))
    return found


def _looks_rot13(tokens: list[str]) -> bool:
    """More rot13-encoded common words than plain ones: the text is probably rot13."""
    sample = tokens[:800]
    if len(sample) < 3 or _ROT13_COMMON.isdisjoint(sample):
        return False
    rotated = sum(map(_ROT13_COMMON.__contains__, sample))
    if rotated < 2:
        return False
    # plain common words counted a block at a time: prose has far more of them than rot13
    # words ("be", "or", "n" are both) and is settled by its first block
    plain = 0
    for at in range(0, len(sample), 100):
        plain += sum(map(_COMMON_WORDS.__contains__, sample[at : at + 100]))
        if rotated <= 2 * plain:
            return False
    return True


# any of these among a text's first tokens: maybe a whole-text cipher (NATO spelling, words
# written backwards); one set test for prose
_CIPHER_HINTS = frozenset(decoders.NATO) | decoders.REVERSED_COMMON
CIPHER_SAMPLE = 64  # first tokens the cipher triggers look at
CIPHER_HEAD = 1500  # first characters the pig-latin trigger looks at


def _ciphers(view: str, tokens: list[str], vocabulary: frozenset[str]) -> list[tuple[str, str]]:
    """Whole-text ciphers of a canonical view (see :mod:`doorman.screen.decoders`), each
    tried only when a trigger that costs about a microsecond fires on its first tokens."""
    found: list[tuple[str, str]] = []
    head = tokens[:CIPHER_SAMPLE]
    if len(head) < 4:
        return found
    if not _CIPHER_HINTS.isdisjoint(head):
        spelt = decoders.decode_nato(view, tokens, decoders.segmenter(vocabulary))
        if spelt:
            found.append(("nato", spelt))
        backwards = decoders.decode_reversed_words(view, tokens)
        if backwards:
            found.append(("reversed_words", backwards))
    # pig latin puts a "y" in every word; prose has one every ten words or so
    text_head = view[:CIPHER_HEAD]
    if text_head.count("y") * 2 >= text_head.count(" ") + 1 >= 4:
        piggy = decoders.decode_pig_latin(view, tokens, vocabulary)
        if piggy:
            found.append(("pig_latin", piggy))
    # a Caesar shift turns most words into unknown ones
    unknown = sum(1 for t in head[:24] if t not in vocabulary and t not in STOP_UNIGRAMS)
    if unknown * 2 >= len(head[:24]):
        shifted = decoders.decode_caesar(view, tokens, vocabulary)
        if shifted:
            found.append(("caesar", shifted))
    return found


def normalize(text: str, vocabulary: frozenset[str] = frozenset()) -> Normalized:
    """All detection views of ``text`` (see module docstring). ``vocabulary`` (known words)
    puts back the word gaps a spelling alphabet lost."""
    result = Normalized(views=[])
    budget = MAX_DECODED_CHARS
    pending: list[tuple[str, str, int]] = [("text", text, 0)]
    while pending and len(result.views) < MAX_VIEWS:
        origin, raw, depth = pending.pop(0)
        if not raw.isascii() and _SUSPECT.found(raw):
            hidden = _TAG_RE.findall(raw)
            if hidden:
                result.tag_chars += sum(len(h) for h in hidden)
                smuggled = "".join(chr(ord(c) - 0xE0000) for h in hidden for c in h)
                pending.append(("tag_chars", smuggled, depth + 1))
                if "tag_chars" not in result.decoded:
                    result.decoded.append("tag_chars")
            invisible = _INVISIBLE_RE.findall(raw)
            if invisible:
                result.bidi += sum(1 for c in invisible if c in _BIDI_SET)
                result.invisible += len(invisible)
                raw = _INVISIBLE_RE.sub("", raw)
            if depth == 0 and _NON_LATIN_RE.search(raw):
                for word in _MIXED_WORD_RE.findall(raw):
                    if (
                        not word.isascii()
                        and any(c in _NON_LATIN_LOOKALIKES for c in word)
                        and any("a" <= c.lower() <= "z" for c in word)
                    ):
                        result.homoglyph_words += 1
        if depth == 0 and not raw.isascii():
            flipped = decoders.decode_upside_down(raw)
            if flipped:
                pending.append(("upside_down", flipped, depth + 1))
                result.decoded.append("upside_down")
        folded = _fold_unicode(raw)
        canon, joined = canonical_joined(folded, folded=True)
        if joined:
            result.joined.add(len(result.views))
        result.views.append((origin, canon))
        tokens = tokenize(canon)
        result.tokens.append(tokens)
        if depth >= MAX_DEPTH or budget <= 0:
            continue
        spare = canon.count(" ") + 1 - len(tokens)
        for kind, decoded in _decode_chunks(folded, spare):
            decoded = decoded[:budget]
            budget -= len(decoded)
            pending.append((kind, decoded, depth + 1))
            if kind not in result.decoded:
                result.decoded.append(kind)
            if budget <= 0:
                break
        if _looks_rot13(tokens):
            pending.append(("rot13", canon.translate(_ROT13), depth + 1))
            if "rot13" not in result.decoded:
                result.decoded.append("rot13")
        for kind, decoded in _ciphers(canon, tokens, vocabulary):
            pending.append((kind, decoded[:MAX_DECODED_CHARS], depth + 1))
            if kind not in result.decoded:
                result.decoded.append(kind)
    return result
