"""Tokens by Unicode script, and emoticons: the pieces of the tokenizer rule that knows them
(:data:`~sentiment.features.rules.CURRENT` when ``rule.scripts``).

* A character of a script written without spaces between words (Han, Hiragana, Katakana,
  Thai, Lao, Khmer, Myanmar) is a token of its own, and so is an emoji: the n-grams of the
  tokens (:func:`~sentiment.features.tokens.hash_corpus`) are then character n-grams there, word
  n-grams elsewhere, and mixed text gets each part by its own rule.
* Punctuation and spaces beyond ASCII (CJK and general punctuation, variation selectors,
  the zero-width joiner, arrows and box drawing, Latin-1 signs) separate tokens.
* Emoticons are tokens: eyes ``: ; =``, an optional nose ``- ' ^``, and a mouth repeated
  or not (``:)``, ``:-(``, ``;)``, ``:'(``, ``:D``, ``:P``, ``:3``, ``:)))``), hearts
  (``<3``, ``</3``), runs of two or more parentheses (``))``, ``(((``: smiles in Russian),
  ``^^``, ``^_^``, ``-_-``, ``>_<``. A letter mouth (``:d``, ``:p``, ``:o``) only where
  neither an ASCII letter or digit nor any character beyond ASCII follows (``re:dog``
  holds none; nor does ``:D。``).

Everything else is as before: runs of word characters with an apostrophe between two, and
``!``, ``?``. Three implementations give the same tokens, checked against one another in
tests: :data:`TOKEN_PATTERN` (the readable one, for ``explain``), :func:`token_spans` (numpy)
and the compiled loops (``sentiment/_scripts.c``, the same ranges).
"""
from __future__ import annotations

import re

import numpy as np

#: code points that are a token each: scripts written without spaces, and emoji
ALONE = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x2600, 0x27BF),
         (0x2B00, 0x2BFF), (0x3040, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF),
         (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x1F000, 0x1F3FA),
         (0x1F400, 0x1FAFF), (0x20000, 0x3134F))
#: the vowel signs and tone marks of Thai, Lao, Myanmar and Khmer (Unicode 14's Mn and Mc
#: there, written out so that every Python reads the same): each stays on the letter
#: before it (a token "อ่" rather than "อ" and "่"), or starts a token where none is
MARKS = ((0x0E31, 0x0E31), (0x0E34, 0x0E3A), (0x0E47, 0x0E4E), (0x0EB1, 0x0EB1),
         (0x0EB4, 0x0EBC), (0x0EC8, 0x0ECD), (0x102B, 0x103E), (0x1056, 0x1059),
         (0x105E, 0x1060), (0x1062, 0x1064), (0x1067, 0x106D), (0x1071, 0x1074),
         (0x1082, 0x108D), (0x108F, 0x108F), (0x109A, 0x109D), (0x17B4, 0x17D3),
         (0x17DD, 0x17DD))
#: code points beyond ASCII that separate tokens (skin tones among them: 👍🏽 is 👍)
SEPARATORS = ((0x00A0, 0x00BF), (0x00D7, 0x00D7), (0x00F7, 0x00F7), (0x2000, 0x206F),
              (0x2190, 0x21FF), (0x2500, 0x25FF), (0x3000, 0x303F), (0xFE00, 0xFE0F),
              (0xFE30, 0xFE6F), (0xFF00, 0xFF65), (0x1F3FB, 0x1F3FF))

SEP, WORD, SINGLE, APOSTROPHE, ALONE_CLASS, EMOTICON = 0, 1, 2, 3, 5, 6


def _char_class(ranges) -> str:
    return "".join(f"{chr(a)}-{chr(b)}" if a != b else chr(a) for a, b in ranges)


_WORD = rf"(?:[a-z0-9]|[^\x00-\x7f{_char_class(ALONE)}{_char_class(SEPARATORS)}])"
#: emoticons, after lower-casing (the module's docstring says which)
EMOTICON_PATTERN = (r"[:;=][-'^]?(?:\)+|\(+|\]+|\[+|\|+|\*+|3+|[dpo]"
                    r"(?![a-z0-9\x80-\U0010ffff]))|<3+|</3|\)\)+|\(\(+|\^_?\^|-_+-|>_<")
#: the tokens of a normalized text, as :func:`re.findall` finds them
TOKEN_PATTERN = (rf"{EMOTICON_PATTERN}|[{_char_class(ALONE)}][{_char_class(MARKS)}]*|"
                 rf"{_WORD}+(?:'{_WORD}+)*|[!?]")
# the space between two characters of a character n-gram (see display)
_GLUED = re.compile(rf"(?<=[{_char_class(ALONE + MARKS)}]) (?=[{_char_class(ALONE)}])")
_EMOTICONS = re.compile(EMOTICON_PATTERN.replace(r"\U0010ffff", r"\xff").encode("latin-1"))

# classes of ASCII bytes; every byte from 0x80 is classed by its code point (code_classes)
_ASCII = np.zeros(128, dtype=np.uint8)
_ASCII[ord("a"):ord("z") + 1] = WORD
_ASCII[ord("0"):ord("9") + 1] = WORD
_ASCII[[ord("!"), ord("?")]] = SINGLE
_ASCII[ord("'")] = APOSTROPHE
# range starts and the class from each start on, for one searchsorted over code points: a
# range ends where word characters resume, unless another range starts there
_BOUNDS = {0x80: WORD} | {b + 1: WORD for _, b in ALONE + SEPARATORS} \
    | {a: ALONE_CLASS for a, _ in ALONE} | {a: SEP for a, _ in SEPARATORS}
_STARTS = np.array(sorted(_BOUNDS), dtype=np.int64)
_MARK_STARTS = np.array([a for a, _ in MARKS], dtype=np.int64)
_MARK_ENDS = np.array([b for _, b in MARKS], dtype=np.int64)
_KINDS = np.array([_BOUNDS[s] for s in sorted(_BOUNDS)], dtype=np.uint8)


def code_classes(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the class of every byte of the UTF-8 ``buf``, whether it starts a code point,
    whether it starts one of :data:`MARKS`): an ASCII byte by :data:`_ASCII`, every byte
    of a longer code point by the code point."""
    n = len(buf)
    lead = (buf & 0xC0) != 0x80
    mark = np.zeros(n, dtype=bool)
    cls = np.zeros(n, dtype=np.uint8)
    ascii_ = buf < 0x80
    cls[ascii_] = _ASCII[buf[ascii_]]
    multi = np.flatnonzero(lead & ~ascii_)
    if len(multi):
        padded = np.concatenate([buf, np.zeros(3, np.uint8)]).astype(np.int64)
        b0 = padded[multi]
        width = np.where(b0 >= 0xF0, 4, np.where(b0 >= 0xE0, 3, 2))
        cp = b0 & np.where(width == 4, 0x07, np.where(width == 3, 0x0F, 0x1F))
        for k in (1, 2, 3):
            more = width > k
            cp[more] = (cp[more] << 6) | (padded[multi[more] + k] & 0x3F)
        kind = _KINDS[np.searchsorted(_STARTS, cp, side="right") - 1]
        m = np.searchsorted(_MARK_STARTS, cp, side="right") - 1
        mark[multi] = (m >= 0) & (cp <= _MARK_ENDS[np.maximum(m, 0)])
        # each byte of a code point takes its class: the run from its lead byte on
        owner = np.maximum.accumulate(np.where(lead, np.arange(n), 0))
        at = np.zeros(n, dtype=np.uint8)
        at[multi] = kind
        wide = ~ascii_
        cls[wide] = at[owner[wide]]
    return cls, lead, mark


def token_spans(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Byte start and end of every token of the normalized UTF-8 ``buf``."""
    n = len(buf)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cls, lead, mark = code_classes(buf)
    cut = np.zeros(n + 1, dtype=bool)  # a token may not continue across byte i
    for m in _EMOTICONS.finditer(buf.tobytes()):
        cls[m.start():m.end()] = EMOTICON
        cut[m.start()] = True
    apos = np.flatnonzero(cls == APOSTROPHE)  # a word byte only between two word bytes
    if len(apos):
        left = np.zeros(len(apos), dtype=bool)
        right = np.zeros(len(apos), dtype=bool)
        ok = apos > 0
        left[ok] = cls[apos[ok] - 1] == WORD
        ok = apos < n - 1
        right[ok] = cls[apos[ok] + 1] == WORD
        cls[apos] = np.where(left & right, WORD, SEP)
    token = cls != SEP
    cut[0] = cut[n] = True
    cut[1:n] |= cls[1:] != cls[:-1]
    # a character of its own starts a token, unless it is a mark after such a character
    after_alone = np.zeros(n, dtype=bool)
    after_alone[1:] = cls[:-1] == ALONE_CLASS
    cut[:n] |= (cls == SINGLE) | ((cls == ALONE_CLASS) & lead & ~(mark & after_alone))
    cut[1:n] |= cls[:-1] == SINGLE
    starts = np.flatnonzero(token & cut[:n])
    ends = np.flatnonzero(token & cut[1:]) + 1
    return starts, ends


#: scripts named in ``train``'s report: (first, last code point, name); ASCII letters and
#: digits are Latin, and what none names is "other"
NAMED = ((0x30, 0x39, "digits"), (0x41, 0x5A, "Latin"), (0x61, 0x7A, "Latin"),
         (0xC0, 0x24F, "Latin"), (0x370, 0x3FF, "Greek"), (0x400, 0x52F, "Cyrillic"),
         (0x590, 0x5FF, "Hebrew"), (0x600, 0x6FF, "Arabic"), (0x900, 0x97F, "Devanagari"),
         (0xE00, 0xE7F, "Thai"), (0xE80, 0xEFF, "Lao"), (0x1000, 0x109F, "Myanmar"),
         (0x1100, 0x11FF, "Hangul"), (0x1780, 0x17FF, "Khmer"), (0x1E00, 0x1EFF, "Latin"),
         (0x2600, 0x27BF, "emoji"), (0x3040, 0x309F, "Hiragana"), (0x30A0, 0x30FF, "Katakana"),
         (0x3400, 0x4DBF, "Han"), (0x4E00, 0x9FFF, "Han"), (0xAC00, 0xD7AF, "Hangul"),
         (0xF900, 0xFAFF, "Han"), (0x1F000, 0x1FAFF, "emoji"), (0x20000, 0x3134F, "Han"))
_NAMED_STARTS = np.array([a for a, _, _ in NAMED])
_NAMED_ENDS = np.array([b for _, b, _ in NAMED])


def display(feature: str) -> str:
    """A feature as people read it: the tokens of an n-gram joined by a space, but the
    characters of a character n-gram side by side (``推荐``, not ``推 荐``)."""
    return _GLUED.sub("", feature)


def script_shares(texts: list[str]) -> dict[str, float]:
    """The share of each script among the letters of ``texts`` (spaces, punctuation and
    symbols left out), largest first."""
    joined = "".join(t for t in texts if isinstance(t, str))
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    cps = cps[cps >= 0x30]
    at = np.searchsorted(_NAMED_STARTS, cps, side="right") - 1
    named = (at >= 0) & (cps <= _NAMED_ENDS[np.maximum(at, 0)])
    counts = np.bincount(at[named], minlength=len(NAMED)).astype(np.int64)
    # what no range names counts if it is a letter or a mark (not punctuation, a symbol)
    rest, times = np.unique(cps[~named], return_counts=True)
    if len(rest):
        import unicodedata

        letter = np.array([unicodedata.category(chr(c))[0] in "LM" for c in rest.tolist()])
        other = int(times[letter].sum())
    else:
        other = 0
    by_name: dict[str, int] = {}
    for (_, _, name), k in zip(NAMED, counts.tolist()):
        if name != "digits":
            by_name[name] = by_name.get(name, 0) + k
    by_name["other"] = other
    total = sum(by_name.values())
    if total == 0:
        return {}
    return {name: k / total for name, k in sorted(by_name.items(), key=lambda x: -x[1]) if k}


#: how each kind of script becomes tokens, for the report
HOW = {"Han": "a token per character", "Hiragana": "a token per character",
       "Katakana": "a token per character", "Thai": "a token per character",
       "Lao": "a token per character", "Khmer": "a token per character",
       "Myanmar": "a token per character", "emoji": "a token each"}


def describe_scripts(shares: dict[str, float], least: float = 0.01) -> str:
    """``Han 91% (a token per character), Latin 8% (words)``: the scripts of at least
    ``least`` of the letters."""
    return ", ".join(f"{name} {share:.0%} ({HOW.get(name, 'words')})"
                     for name, share in shares.items() if share >= least)
