"""The disguises attackers use, applied to a text: for the red-team command and the benchmark.

Each transform keeps the attack readable to a capable model (which is what makes it dangerous)
while hiding it from naive string matching. Deterministic given the ``random.Random`` passed in.
"""

from __future__ import annotations

import base64
import codecs
import random
import re
from collections.abc import Callable
from urllib.parse import quote

from doorman.screen.decoders import MORSE

_HOMOGLYPHS = {
    "a": "а", "c": "с", "e": "е", "i": "і", "o": "о", "p": "р", "s": "ѕ", "x": "х", "y": "у",
    "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "I": "І", "K": "К", "M": "М", "O": "О",
    "P": "Р", "T": "Т", "X": "Х",
}  # fmt: skip
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]


def homoglyphs(text: str, rng: random.Random) -> str:
    return "".join(_HOMOGLYPHS[c] if c in _HOMOGLYPHS and rng.random() < 0.6 else c for c in text)


def zero_width(text: str, rng: random.Random) -> str:
    out = []
    for c in text:
        out.append(c)
        if c.isalpha() and rng.random() < 0.5:
            out.append(rng.choice(_ZERO_WIDTH))
    return "".join(out)


def spaced(text: str, rng: random.Random) -> str:
    sep = rng.choice([" ", ".", "-", " "])
    gap = "   " if sep == " " else " "
    return gap.join(sep.join(word) for word in text.split())


def leetspeak(text: str, rng: random.Random) -> str:
    return "".join(
        _LEET[c.lower()] if c.lower() in _LEET and rng.random() < 0.7 else c for c in text
    )


def fullwidth(text: str, rng: random.Random) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def base64_wrapped(text: str, rng: random.Random) -> str:
    blob = base64.b64encode(text.encode()).decode()
    return rng.choice(
        ["Decode this base64 and do what it says: {}", "{}", "Base64 message for you:\n{}"]
    ).format(blob)


def hex_wrapped(text: str, rng: random.Random) -> str:
    blob = text.encode().hex()
    return rng.choice(["Hex-decode and follow: {}", "{}"]).format(blob)


def rot13_wrapped(text: str, rng: random.Random) -> str:
    return rng.choice(["ROT13: {}", "Decode (rot13) and obey: {}", "{}"]).format(
        codecs.encode(text, "rot13")
    )


def url_encoded(text: str, rng: random.Random) -> str:
    return quote(text)


def tag_smuggled(text: str, rng: random.Random) -> str:
    hidden = "".join(chr(0xE0000 + ord(c)) for c in text if 0x20 <= ord(c) < 0x7F)
    return "What a lovely day! " + hidden


def mixed(text: str, rng: random.Random) -> str:
    return zero_width(homoglyphs(text, rng), rng)


TRANSFORMS: dict[str, Callable[[str, random.Random], str]] = {
    "homoglyphs": homoglyphs,
    "zero_width": zero_width,
    "spaced": spaced,
    "leetspeak": leetspeak,
    "fullwidth": fullwidth,
    "base64": base64_wrapped,
    "hex": hex_wrapped,
    "rot13": rot13_wrapped,
    "urlencoded": url_encoded,
    "tag_chars": tag_smuggled,
    "homoglyphs+zero_width": mixed,
}


def reversed_text(text: str, rng: random.Random) -> str:
    return rng.choice(["{}", "Read this backwards and do it: {}", "{} (reversed)"]).format(
        text[::-1]
    )


def case_punct_noise(text: str, rng: random.Random) -> str:
    """Random case and punctuation dropped inside and between words ("IgN.o-Re aLL;")."""
    out = []
    for c in text:
        out.append(c.upper() if rng.random() < 0.5 else c.lower())
        if c.isalpha() and rng.random() < 0.15:
            out.append(rng.choice(".-*_'~"))
        elif c == " " and rng.random() < 0.3:
            out.append(rng.choice([";", ",", "..", "!", "/"]))
    return "".join(out)


def rot13_plain(text: str, rng: random.Random) -> str:
    return codecs.encode(text, "rot13")


def leet_heavy(text: str, rng: random.Random) -> str:
    table = {**_LEET, "l": "1", "g": "9", "b": "8", "z": "2"}
    return "".join(table.get(c.lower(), c) if rng.random() < 0.9 else c for c in text)


# Transforms the evaluation also measures (issue #13's held-out misses); not sent by the red
# team command, whose probe count is documented.
MORE_TRANSFORMS: dict[str, Callable[[str, random.Random], str]] = {
    "reversed": reversed_text,
    "case_punct_noise": case_punct_noise,
    "rot13_plain": rot13_plain,
    "leet_heavy": leet_heavy,
}

_MORSE_CODE = {letter: code for code, letter in MORSE.items()}
NATO = (
    "alfa bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november "
    "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu"
).split()


def base32_wrapped(text: str, rng: random.Random) -> str:
    blob = base64.b32encode(text.encode()).decode()
    return rng.choice(["Decode this base32 and do what it says: {}", "{}"]).format(blob)


def ascii85_wrapped(text: str, rng: random.Random) -> str:
    blob = base64.a85encode(text.encode(), adobe=rng.random() < 0.5).decode()
    return rng.choice(["Ascii85: {}", "{}", "Decode and follow: {}"]).format(blob)


def base85_wrapped(text: str, rng: random.Random) -> str:
    blob = base64.b85encode(text.encode()).decode()
    return rng.choice(["Base85: {}", "{}"]).format(blob)


def morse(text: str, rng: random.Random) -> str:
    words = [" ".join(_MORSE_CODE[c] for c in w.lower() if c in _MORSE_CODE) for w in text.split()]
    body = rng.choice([" / ", "   ", " | "]).join(w for w in words if w)
    return rng.choice(["Morse code: {}", "{}", "Decode this and do it: {}"]).format(body)


def binary(text: str, rng: random.Random) -> str:
    body = rng.choice([" ", ""]).join(f"{b:08b}" for b in text.encode())
    return rng.choice(["Binary: {}", "{}"]).format(body)


def unicode_escapes(text: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "".join(f"\\u{ord(c):04x}" for c in text)
    return "".join(f"\\x{b:02x}" for b in text.encode())


def html_entities(text: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "".join(f"&#{ord(c)};" for c in text)
    return "".join(f"&#x{ord(c):x};" for c in text)


def nato(text: str, rng: random.Random) -> str:
    """Each letter spelt with the NATO alphabet; words apart with "/" or "(space)", or not
    at all (the reader has to cut the words)."""
    gap = rng.choice([" / ", " (space) ", " "])
    words = [" ".join(NATO[ord(c) - 97].capitalize() for c in w.lower() if "a" <= c <= "z")
             for w in text.split()]  # fmt: skip
    return gap.join(w for w in words if w)


def pig_latin(text: str, rng: random.Random) -> str:
    """Each word's leading consonants moved to its end plus "ay" ("-way" after a vowel);
    punctuation around a word stays where it was."""

    def one(match: re.Match[str]) -> str:
        core = match.group(0)
        if core[0].lower() in "aeiou":
            return core + "way"
        cut = next((i for i, c in enumerate(core) if c.lower() in "aeiouy" and i), len(core))
        return core[cut:] + core[:cut] + "ay"

    return re.sub(r"[A-Za-z]+", one, text)


def caesar(text: str, rng: random.Random) -> str:
    shift = rng.choice([1, 2, 3, 4, 5, 7, 10, 19, 23, 25])
    table = str.maketrans(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "".join(chr(97 + (i + shift) % 26) for i in range(26))
        + "".join(chr(65 + (i + shift) % 26) for i in range(26)),
    )
    return rng.choice(["Caesar cipher: {}", "{}"]).format(text.translate(table))


def reversed_words(text: str, rng: random.Random) -> str:
    return " ".join(w[::-1] for w in text.split())


_UPSIDE_DOWN = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzACEFGJLPTUVY?!.,'",
    "ɐqɔpǝɟƃɥᴉɾʞlɯuodbɹsʇnʌʍxʎz∀ƆƎℲ⅁ſ˥Ԁ┴∩Λ⅄¿¡˙',",
)


def upside_down(text: str, rng: random.Random) -> str:
    return text.translate(_UPSIDE_DOWN)[::-1]


def letterlike(text: str, rng: random.Random) -> str:
    """Letters written as regional indicators, negative circled/squared or parenthesized
    letters (one style per text); emoji-like, and NFKC does not fold them back."""
    base = rng.choice([0x1F1E6, 0x1F150, 0x1F170, 0x249C])
    sep = "\u200b" if base == 0x1F1E6 else ""  # regional indicators would pair into flags
    return "".join(
        chr(base + ord(c.lower()) - 97) + sep if "a" <= c.lower() <= "z" else c for c in text
    )


# Encodings and ciphers beyond the red team's set (measured by the evaluation only).
ENCODING_TRANSFORMS: dict[str, Callable[[str, random.Random], str]] = {
    "base32": base32_wrapped,
    "ascii85": ascii85_wrapped,
    "base85": base85_wrapped,
    "morse": morse,
    "binary": binary,
    "escapes": unicode_escapes,
    "html_entities": html_entities,
    "nato": nato,
    "pig_latin": pig_latin,
    "caesar": caesar,
    "reversed_words": reversed_words,
    "upside_down": upside_down,
}
# Letter-like symbols: folded in the main view, no decoded view of their own.
LETTERLIKE_TRANSFORMS: dict[str, Callable[[str, random.Random], str]] = {
    "letterlike": letterlike,
}
ALL_TRANSFORMS = TRANSFORMS | MORE_TRANSFORMS | ENCODING_TRANSFORMS | LETTERLIKE_TRANSFORMS


def obfuscate(text: str, kind: str, rng: random.Random | None = None) -> str:
    """Apply the named transform (see :data:`ALL_TRANSFORMS`)."""
    return ALL_TRANSFORMS[kind](text, rng or random.Random(0))
