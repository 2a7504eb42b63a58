"""Decoders for the encodings and toy ciphers that :mod:`doorman.screen.normalize` did not undo.

An attack written in base32, Ascii85/base85, Morse, 8-bit binary, ``\\uXXXX`` escapes, HTML
character references, the NATO spelling alphabet, pig latin, a Caesar shift or word-by-word
reversal is still read and obeyed by a capable model, while every rule and the classifier see
noise. Each decoder here turns one such disguise back into words so the decoded view is
screened like any other.

Every decoder is gated by a cheap signature (a character count, a token-set test) that
ordinary prose fails, so it costs next to nothing on honest prompts; each decodes a bounded
amount of text; and a decoding is kept only when the result is mostly printable words, so
binary data, hashes or code that merely look encoded add no view.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Callable, Iterable

from doorman.screen.features import STOP_UNIGRAMS

MAX_CHUNK = 16_000  # characters of one encoded run handed to a decoder
MAX_CANDIDATES = 16  # encoded-looking runs tried per text
SAMPLE_TOKENS = 400  # tokens the whole-text cipher triggers look at

# ------------------------------------------------------------------------------------------
# Is it words?


def wordy(text: str) -> bool:
    """Mostly letters and spaces with a few real-looking words: what an encoded *instruction*
    decodes to (random bytes, compressed data or a hash do not)."""
    if len(text) < 6:
        return False
    printable = sum(1 for c in text if c.isprintable() or c in "\n\t\r")
    if printable < 0.95 * len(text):
        return False
    letters = sum(1 for c in text if c.isalpha())
    spaces = sum(1 for c in text if c.isspace())
    if letters + spaces < 0.75 * len(text) or letters < 0.5 * len(text):
        return False
    return len(text) < 24 or spaces > 0


def _text(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if wordy(text) else None


# ------------------------------------------------------------------------------------------
# Token-level encodings: a run of characters inside the text


_B32_RE = re.compile(r"[A-Z2-7]{16,}={0,6}")
# Ascii85 (btoa / Adobe "<~...~>") and RFC 1924 base85 both use printable ASCII without space
_A85_CHARS = frozenset(chr(c) for c in range(33, 118)) | {"z", "y"}
_B85_CHARS = frozenset(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
)
_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def decode_base32(runs: Iterable[str]) -> list[str]:
    """Upper-case base32 runs (RFC 4648 alphabet, optional padding)."""
    out: list[str] = []
    for run in runs:
        for match in _B32_RE.finditer(run[:MAX_CHUNK]):
            chunk = match.group(0).rstrip("=")
            if chunk.isalpha():
                continue  # an upper-case word, not base32 (which has digits 2-7)
            while len(chunk) % 8 in (1, 3, 6):  # no whole byte left in the last group
                chunk = chunk[:-1]
            try:
                raw = base64.b32decode(chunk + "=" * (-len(chunk) % 8))
            except (binascii.Error, ValueError):
                continue
            decoded = _text(raw)
            if decoded:
                out.append(decoded)
    return out


def _base85_like(token: str) -> bool:
    """Long, no letters-only stretch dominating, several punctuation kinds: Ascii85/base85
    (a URL, a path or an identifier has one or two kinds, a sentence has spaces)."""
    if len(token) < 20 or "://" in token:
        return False
    kinds = len(_PUNCT.intersection(token))
    return kinds >= 3 and sum(c.isdigit() or c.isupper() for c in token) * 5 >= len(token)


def decode_base85(tokens: list[str], starts: Iterable[int]) -> list[str]:
    """Ascii85 (with or without ``<~ ~>``) and base85 in the whitespace-split ``tokens``, from
    each long token at ``starts`` that looks like one; the tokens after it that could continue
    it are joined on (encoders wrap long output into lines)."""
    out: list[str] = []
    taken = -1
    for at in starts:
        if at <= taken or not _base85_like(tokens[at]):
            continue
        end = at + 1
        while end < len(tokens) and len(tokens[end]) >= 4 and _PUNCT.intersection(tokens[end]) \
                and set(tokens[end]) <= _A85_CHARS | _B85_CHARS:  # fmt: skip
            end += 1
        taken = end - 1
        decoded = _decode85("".join(tokens[at:end])[:MAX_CHUNK])
        if decoded:
            out.append(decoded)
        if len(out) >= MAX_CANDIDATES:
            break
    return out


def _decode85(group: str) -> str | None:
    start, end = group.find("<~"), group.rfind("~>")
    body = group[start + 2 : end] if 0 <= start < end else group
    decoders: list[Callable[[str], bytes]] = []
    if set(body) <= _A85_CHARS:
        decoders.append(base64.a85decode)
    if set(body) <= _B85_CHARS:
        decoders.append(base64.b85decode)
    for decode in decoders:
        try:
            decoded = _text(decode(body))
        except (binascii.Error, ValueError):
            continue
        if decoded:
            return decoded
    return None


# ASCII in 8-bit groups: the first group opens with "0" and, for a letter, "01" (a literal
# start, which the regex engine finds fast)
_BINARY_RE = re.compile(r"01[01]{6}(?:[ ,]?[01]{8}){3,}")


def decode_binary(text: str) -> list[str]:
    """8-bit groups of 0/1, spaced or not ("01101001 01100111 ...")."""
    out = []
    for match in _BINARY_RE.finditer(text):
        bits = match.group(0).replace(" ", "").replace(",", "")[: MAX_CHUNK * 8]
        raw = int(bits, 2).to_bytes(len(bits) // 8, "big")
        decoded = _text(raw)
        if decoded:
            out.append(decoded)
        if len(out) >= MAX_CANDIDATES:
            break
    return out


_ESCAPE_RE = re.compile(
    r"\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})|\\x\{([0-9a-fA-F]{1,6})\}|\\u\{([0-9a-fA-F]{1,6})\}"
)
_ESCAPED_RUN_RE = re.compile(
    r"(?:\\(?:u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[xu]\{[0-9a-fA-F]{1,6}\})[^\s\\]{0,3}){4,}"
)
_ENTITY_RE = re.compile(r"&#(?:[0-9]{2,7}|[xX][0-9a-fA-F]{1,6});")
_ENTITY_RUN_RE = re.compile(r"(?:&#(?:[0-9]{2,7}|[xX][0-9a-fA-F]{1,6});[^\s&]{0,3}){4,}")


def _char(code: int) -> str:
    return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else ""


def decode_escapes(text: str) -> list[str]:
    """Runs of ``\\uXXXX`` / ``\\U0000XXXX`` / ``\\x{..}`` escapes (``\\xXX`` bytes are the hex
    decoder's) and of HTML numeric character references (``&#105;`` / ``&#x69;``)."""
    out = []
    if "\\" in text:
        for match in _ESCAPED_RUN_RE.finditer(text[: MAX_CHUNK * 6]):
            decoded = _ESCAPE_RE.sub(
                lambda m: _char(int(next(g for g in m.groups() if g), 16)), match.group(0)
            )
            if wordy(decoded):
                out.append(decoded)
    if "&#" in text:
        for match in _ENTITY_RUN_RE.finditer(text[: MAX_CHUNK * 8]):
            decoded = html.unescape(match.group(0))
            if wordy(decoded):
                out.append(decoded)
    return out[:MAX_CANDIDATES]


MORSE = {
    ".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g",
    "....": "h", "..": "i", ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n",
    "---": "o", ".--.": "p", "--.-": "q", ".-.": "r", "...": "s", "-": "t", "..-": "u",
    "...-": "v", ".--": "w", "-..-": "x", "-.--": "y", "--..": "z", "-----": "0",
    ".----": "1", "..---": "2", "...--": "3", "....-": "4", ".....": "5", "-....": "6",
    "--...": "7", "---..": "8", "----.": "9", ".-.-.-": ".", "--..--": ",", "..--..": "?",
    ".----.": "'", "-.-.--": "!", "-..-.": "/", "-.--.": "(", "-.--.-": ")", "---...": ":",
    "-...-": "=", "-....-": "-", ".-..-.": '"', ".--.-.": "@",
}  # fmt: skip
_MORSE_FOLD = str.maketrans({"·": ".", "•": ".", "∙": ".", "−": "-"})
# at least eight letters of dots and dashes, apart by spaces; words apart by "/", "|" or a
# wider gap
_MORSE_RE = re.compile(r"[.\-]{1,7}(?:(?: +| *[/|\n] *)[.\-]{1,7}){7,}")
_MORSE_WORD_GAP_RE = re.compile(r" *[/|\n] *| {2,}")


def decode_morse(text: str) -> list[str]:
    """International Morse code with letters apart by one space and words by "/", "|", a
    newline or a wider gap. The caller gates it (the scan costs ~5 us a kilobyte)."""
    if any(c in text for c in "·•∙−"):
        text = text.translate(_MORSE_FOLD)
    out = []
    for match in _MORSE_RE.finditer(text, 0, MAX_CHUNK * 5):
        words = []
        for word in _MORSE_WORD_GAP_RE.split(match.group(0)):
            words.append("".join(MORSE.get(code, "") for code in word.split()))
        decoded = " ".join(w for w in words if w)[:MAX_CHUNK]
        if wordy(decoded):
            out.append(decoded)
        if len(out) >= MAX_CANDIDATES:
            break
    return out


# ------------------------------------------------------------------------------------------
# Whole-text ciphers: every word of the text is rewritten


# Upside-down text: each letter turned 180 degrees (some turn into another Latin letter:
# b/q, d/p, n/u) and the text reversed so it reads right when the screen is turned over.
_FLIPPED = {
    "ɐ": "a", "q": "b", "ɔ": "c", "p": "d", "ǝ": "e", "ɟ": "f", "ƃ": "g", "ɓ": "g", "ɥ": "h",
    "ᴉ": "i", "ı": "i", "ɾ": "j", "ʞ": "k", "ꞁ": "l", "ɯ": "m", "u": "n", "d": "p", "b": "q",
    "ɹ": "r", "ʇ": "t", "n": "u", "ʌ": "v", "ʍ": "w", "ʎ": "y", "∀": "A", "Ɔ": "C", "Ǝ": "E",
    "Ⅎ": "F", "⅁": "G", "ſ": "J", "˥": "L", "Ԁ": "P", "┴": "T", "∩": "U", "Λ": "V", "⅄": "Y",
    "¿": "?", "¡": "!", "˙": ".", "'": ",", ",": "'", "„": '"', "(": ")", ")": "(", "[": "]",
    "]": "[", "{": "}", "}": "{", "<": ">", ">": "<",
}  # fmt: skip
_FLIP_TABLE = str.maketrans(_FLIPPED)
# letters that only upside-down text uses (IPA turned letters); "q", "d", "u" are not among them
_FLIP_ONLY_RE = re.compile("[ɐɔǝɟƃɥᴉɾʞɯɹʇʌʍʎ∀Ǝⅎ⅄˥]")


def decode_upside_down(text: str) -> str | None:
    """Upside-down text ("ʇdɯoɹd ɯǝʇsʎs"): several turned letters, read back right way up."""
    if "ǝ" not in text and "ʇ" not in text:  # turned e and t: every English sentence has one
        return None
    head = text[:MAX_CHUNK]
    if len(_FLIP_ONLY_RE.findall(head)) < 4:
        return None
    return head[::-1].translate(_FLIP_TABLE)


NATO = {
    "alfa": "a", "alpha": "a", "bravo": "b", "charlie": "c", "delta": "d", "echo": "e",
    "foxtrot": "f", "golf": "g", "hotel": "h", "india": "i", "juliett": "j", "juliet": "j",
    "kilo": "k", "lima": "l", "mike": "m", "november": "n", "oscar": "o", "papa": "p",
    "quebec": "q", "romeo": "r", "sierra": "s", "tango": "t", "uniform": "u", "victor": "v",
    "whiskey": "w", "whisky": "w", "xray": "x", "x-ray": "x", "yankee": "y", "zulu": "z",
}  # fmt: skip
_NATO_BREAKS = frozenset({"space", "stop", "break", "/", "|"})
_SPELLING_WORD_RE = re.compile(r"[a-z][a-z\-]*|[/|]|\n")


def decode_nato(view: str, tokens: list[str], segment: Callable[[str], str]) -> str | None:
    """Words spelt with the NATO alphabet ("india golf november oscar romeo echo"); word gaps
    are "/", "|", "space", "stop" or a new line, or are found with ``segment`` when missing."""
    sample = tokens[:SAMPLE_TOKENS]
    spelt = sum(map(NATO.__contains__, sample))
    if spelt < 8 or spelt * 10 < len(sample) * 6:
        return None
    words: list[str] = []
    letters: list[str] = []
    breaks = 0
    for piece in _SPELLING_WORD_RE.findall(view[: MAX_CHUNK * 8]):
        letter = NATO.get(piece)
        if letter:
            letters.append(letter)
            continue
        if piece in _NATO_BREAKS or piece == "\n":
            breaks += 1
        if letters:
            words.append("".join(letters))
            letters = []
        if piece not in _NATO_BREAKS and piece != "\n":
            words.append(piece)
    if letters:
        words.append("".join(letters))
    if breaks == 0:
        words = [segment(w) if len(w) > 12 else w for w in words]
    return " ".join(words)


_VOWELS = "aeiou"


def _from_pig_latin(word: str, vocabulary: frozenset[str]) -> str:
    """One pig-latin word back: "-way"/"-yay" after a vowel-initial word, else the consonants
    before "ay" go back to the front. Both are ambiguous ("ithoutw-ay" is "without",
    "eviouspr-ay" is "previous", not "sprevious"): the first reading found in ``vocabulary``
    wins, the simplest one otherwise."""
    core = word[:-2]
    if not any(c in _VOWELS + "y" for c in core):
        return core  # no vowel to move consonants to: the word was left whole ("http")
    readings = []
    for moved in range(1, min(4, len(core) - 1) + 1):
        if core[-moved] in _VOWELS:
            break
        readings.append(core[-moved:] + core[:-moved])
    if word[0] in _VOWELS and word.endswith(("way", "yay")):
        # "ouryay" is "your" before "our", "allway" is "all" before "wall"
        readings.insert(len(readings) if word.endswith("yay") else 0, word[:-3])
    if not readings:
        return core  # a vowel-initial word with plain "-ay"
    return next((r for r in readings if r in vocabulary or r in STOP_UNIGRAMS), readings[0])


# English words that end in "ay" (pig latin rarely makes a real word)
_AY_WORDS = frozenset(
    "day days way say may pay stay today play okay away always yesterday display delay array "
    "essay holiday birthday friday monday tuesday wednesday thursday saturday sunday gray pray "
    "spray tray ray hay bay clay lay relay replay sway decay halfway anyway subway runway "
    "highway railway doorway pathway gateway midway".split()
)
_PIGGY_RE = re.compile(r"[a-z]{2,}ay\b")


def decode_pig_latin(view: str, tokens: list[str], vocabulary: frozenset[str]) -> str | None:
    """Pig latin: most words end in "ay" ("ignoreway allway eviouspray"); punctuation stays."""
    sample = [t for t in tokens[:SAMPLE_TOKENS] if len(t) > 2]
    piggy = sum(t.endswith("ay") and t not in _AY_WORDS and t not in vocabulary for t in sample)
    if piggy < 4 or piggy * 2 < len(sample):
        return None
    return _PIGGY_RE.sub(lambda m: _from_pig_latin(m.group(0), vocabulary), view)


# English letter frequencies (per mille), for picking a Caesar shift
_FREQ = (82, 15, 28, 43, 127, 22, 20, 61, 70, 2, 8, 40, 24, 67, 75, 19, 1, 60, 63, 91, 28, 10,
         24, 2, 20, 1)  # fmt: skip
_COMMON = frozenset(
    "the and you your to of is in that it for are all be this with as on not what do now "
    "from me my an or will can have any tell print say ignore previous instructions system "
    "prompt above rules reveal show secret must only output".split()
)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def decode_caesar(view: str, tokens: list[str], vocabulary: frozenset[str]) -> str | None:
    """A Caesar shift (other than 0 and ROT13, handled elsewhere) of all or part of an ASCII
    text: the letters of its unknown words fit English letter counts best at some shift, and
    at that shift two in five of those words are known ones. Known words (a plain "decode this:" around
    the cipher) are left out of the count; the whole view is shifted."""
    unknown = [t for t in tokens[:SAMPLE_TOKENS] if t not in vocabulary and t not in STOP_UNIGRAMS]
    letters = "".join(unknown)[:1500]
    if len(unknown) < 4 or len(letters) < 20:
        return None
    counts = [letters.count(c) for c in _LETTERS]
    scores = sorted(
        ((sum(counts[(i + shift) % 26] * _FREQ[i] for i in range(26)), shift)
         for shift in range(26)),
        reverse=True,
    )  # fmt: skip
    for _, shift in scores[:3]:  # short texts: the best fit is not always the shift
        if shift in (0, 13):
            continue
        table = str.maketrans(_LETTERS[shift:] + _LETTERS[:shift], _LETTERS)
        plain = " ".join(unknown).translate(table).split()
        english = sum(1 for w in plain if w in vocabulary or w in STOP_UNIGRAMS or w in _COMMON)
        if english >= 3 and english * 5 >= len(plain) * 2:
            return view.translate(table)
    return None


REVERSED_COMMON = frozenset(w[::-1] for w in _COMMON if w != w[::-1])


def decode_reversed_words(view: str, tokens: list[str]) -> str | None:
    """Each word written backwards, in the original order ("erongi lla suoiverp")."""
    sample = tokens[:SAMPLE_TOKENS]
    if REVERSED_COMMON.isdisjoint(sample):
        return None
    backwards = sum(map(REVERSED_COMMON.__contains__, sample))
    if backwards < 3 or backwards < sum(map(_COMMON.__contains__, sample)):
        return None
    return " ".join(w[::-1] for w in view.split())


# ------------------------------------------------------------------------------------------
# Word segmentation, for spellings that lost their word gaps


MAX_SEGMENTED = 1500  # letters cut into words per text (the search costs ~1 us a letter)
SEGMENT_WINDOW = 300  # letters cut at a time


def segmenter(vocabulary: frozenset[str]) -> Callable[[str], str]:
    """Cut a run of letters into the fewest known words (unknown letters cost extra), so
    "ignoreallpreviousinstructions" reads "ignore all previous instructions". Long runs are
    cut a window at a time, and only their first :data:`MAX_SEGMENTED` letters."""
    budget = MAX_SEGMENTED

    def window(run: str) -> str:
        size = len(run)
        cost = [0.0] + [float("inf")] * size
        back = [0] * (size + 1)
        for end in range(1, size + 1):
            for start in range(max(0, end - 20), end):
                piece = run[start:end]
                if piece in vocabulary or piece in STOP_UNIGRAMS:
                    step = 1.0 if len(piece) > 1 or piece in "ai" else 2.5
                elif len(piece) == 1:
                    step = 2.5
                else:
                    continue
                if cost[start] + step < cost[end]:
                    cost[end], back[end] = cost[start] + step, start
        words = []
        end = size
        while end > 0:
            words.append(run[back[end] : end])
            end = back[end]
        return " ".join(reversed(words))

    def segment(run: str) -> str:
        nonlocal budget
        if not vocabulary or budget <= 0:
            return run
        head, tail = run[:budget], run[budget:]
        budget -= len(head)
        cut = [window(head[at : at + SEGMENT_WINDOW]) for at in range(0, len(head), SEGMENT_WINDOW)]
        return " ".join(cut + ([tail] if tail else []))

    return segment
