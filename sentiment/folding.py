"""Text normalized before tokenizing (:mod:`sentiment.text`'s rule): lower-cased, HTML line
breaks replaced by a space, typographic punctuation folded to ASCII; and many texts at once
as the bytes the tokenizer reads."""
from __future__ import annotations

from .fast import compiled

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


def normalize(text: str) -> str:
    """Lower-case ``text``, remove HTML line breaks and fold typographic punctuation."""
    text = text.lower()
    for br in _BREAKS:
        if br in text:
            text = text.replace(br, " ")
    for char, repl in _FOLD.items():
        if char in text:
            text = text.replace(char, repl)
    return text


def normalized_bytes(texts: list[str]) -> bytes:
    """The texts normalized (:func:`normalize`) as UTF-8, separated by NUL bytes (a NUL
    in a text becomes a space). An ASCII text is lower-cased as bytes (as ``str.lower``
    does, faster); a lone surrogate (stdin's surrogateescape) stays one word character,
    as in :func:`sentiment.text.tokenize` ("replace" would make it "?", a token of its
    own). The compiled loops do a text of one byte a character (ASCII, Latin-1: nearly
    every review) without a string operation."""
    if (fast := compiled()) is not None:
        return fast.normalized(texts if isinstance(texts, list) else list(texts),
                               _normalized_other)
    parts = []
    for t in texts:
        if "\x00" in t:
            t = t.replace("\x00", " ")
        if t.isascii():
            b = t.encode("ascii").lower()
            for old, new in _ASCII_REPLACE:  # what normalize replaces, in its order
                if old in b:
                    b = b.replace(old, new)
        else:
            b = normalize(t).encode("utf-8", "surrogatepass")
        parts.append(b)
    return b"\x00".join(parts)


def _normalized_other(text: str) -> bytes:
    """A text the compiled loops leave to Python (not one byte a character), as
    :func:`normalized_bytes` writes it."""
    return normalize(text.replace("\x00", " ")).encode("utf-8", "surrogatepass")
