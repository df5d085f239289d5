"""Text normalized before tokenizing (:mod:`sentiment.features.tokens`'s rule): HTML entities
decoded and Unicode NFKC (full-width forms, compatibility characters), lower-cased, HTML line breaks
replaced by a space, typographic punctuation folded to ASCII, a letter written three times or
more in a row kept twice (from ``mix64-4``); and many texts at once as the
bytes the tokenizer reads. Each step is the rule's (:mod:`sentiment.features.rules`, as model files
name it): the ``poly64`` rules neither decode entities nor apply NFKC, rules before ``mix64-4``
keep elongations as written."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from ..native.loops import compiled
from .rules import CURRENT, TextRule

# Typographic characters folded to ASCII before tokenizing, so that "don’t" is "don't" and
# an em dash separates words instead of gluing them.
_FOLD = {
    "\u2019": "'", "\u2018": "'", "\u00b4": "'", "\u0060": "'",
    "\u201c": " ", "\u201d": " ", "\u00ab": " ", "\u00bb": " ",
    "\u2014": " ", "\u2013": " ", "\u2026": " ", "\u00a0": " ",
}
_BREAKS = ("<br />", "<br/>", "<br>")


_ASCII_REPLACE = tuple((br.encode(), b" ") for br in _BREAKS) + tuple(
    (c.encode(), r.encode()) for c, r in _FOLD.items() if c.isascii())


# A well-formed HTML entity: named, decimal or hexadecimal, with its closing semicolon. A
# name without one is left alone (html.unescape would read "&notice" as "¬ice").
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


# a character written three times or more in a row (a letter's run is kept twice: elongation)
_RUN = re.compile(r"(.)\1{2,}", re.DOTALL)
_ASCII_RUN = re.compile(rb"([a-z])\1{2,}")


def _twice(m: re.Match) -> str:
    return m.group(1) * 2 if m.group(1).isalpha() else m.group()


def shorten_elongations(text: str) -> str:
    """Each run of three or more of one letter (``str.isalpha``: any script's letters, not
    digits, punctuation or marks) kept twice: ``sooooo gooood`` -> ``soo good``."""
    return _RUN.sub(_twice, text)


@lru_cache(maxsize=4096)
def _entity(name: str) -> str:
    import html

    return html.unescape(name)  # a NUL's reference is U+FFFD, never a NUL


def _fold(text: str) -> str:
    for char, repl in _FOLD.items():
        if char in text:
            text = text.replace(char, repl)
    return text


def normalize(text: str, rule: TextRule = CURRENT) -> str:
    """``text`` as the tokenizer reads it under ``rule``: HTML entities decoded, folded and
    put in NFKC form (``rule.unescape``), then lower-cased, HTML line breaks removed and
    typographic punctuation folded; under a rule with ``elongation``, a letter's run of
    three or more kept twice (:func:`shorten_elongations`)."""
    if rule.unescape:
        if "&" in text:
            text = _ENTITY.sub(lambda m: _entity(m.group()), text)
        if not text.isascii():
            # folded first: NFKC would turn the acute accent into a space and a combining mark
            text = unicodedata.normalize("NFKC", _fold(text))
    text = text.lower()
    for br in _BREAKS:
        if br in text:
            text = text.replace(br, " ")
    text = _fold(text)
    return shorten_elongations(text) if rule.elongation else text


def normalized_bytes(texts: list[str], rule: TextRule = CURRENT) -> bytes:
    """The texts normalized (:func:`normalize`) as UTF-8, separated by NUL bytes (a NUL
    in a text becomes a space). An ASCII text is lower-cased as bytes (as ``str.lower``
    does, faster); a lone surrogate (stdin's surrogateescape) stays one word character,
    as in :func:`sentiment.features.tokens.tokenize` ("replace" would make it "?", a token of its
    own). The compiled loops do a text of one byte a character (ASCII, Latin-1: nearly
    every review) without a string operation, unless it holds what only Python's
    :func:`normalize` does (an HTML entity, a Latin-1 character NFKC changes)."""
    if (fast := compiled()) is not None:
        return fast.normalized(texts if isinstance(texts, list) else list(texts),
                               lambda t: _normalized_other(t, rule), rule.unescape,
                               rule.elongation)
    parts = []
    for t in texts:
        if "\x00" in t:
            t = t.replace("\x00", " ")
        if t.isascii() and not (rule.unescape and "&" in t and _ENTITY.search(t)):
            b = t.encode("ascii").lower()
            for old, new in _ASCII_REPLACE:  # what normalize replaces, in its order
                if old in b:
                    b = b.replace(old, new)
            if rule.elongation:
                b = _ASCII_RUN.sub(rb"\1\1", b)
        else:
            b = normalize(t, rule).encode("utf-8", "surrogatepass")
        parts.append(b)
    return b"\x00".join(parts)


def _normalized_other(text: str, rule: TextRule) -> bytes:
    """A text the compiled loops leave to Python (not one byte a character, or one with an
    entity or a character NFKC changes), as :func:`normalized_bytes` writes it."""
    return normalize(text.replace("\x00", " "), rule).encode("utf-8", "surrogatepass")

