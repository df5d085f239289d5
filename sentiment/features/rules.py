"""The tokenizer's versions: how text becomes feature hashes, named in every model file.

A model is scored with the rule it was trained with, so that a model file keeps meaning what
it meant when it was made; a file whose rule this code does not know is refused (older code
refuses newer files the same way, by name). New models are made with :data:`CURRENT`.

One limit: lower-casing (every rule), NFKC (from ``mix64-2``) and what a letter is
(``mix64-4``'s elongation: ``str.isalpha``) are Python's, whose Unicode tables grow with its
version (3.10 to 3.11: 99 code points lower-case or compose otherwise, 3.11 to 3.12: 62, all
rare letters of recent scripts and symbols); a model scored on another Python than it was
trained on reads those few characters as that Python does.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextRule:
    """One version of the text-to-features rule.

    name : as stored in a model file (``vocab.hash``).
    mixed : every bit of a feature's hash is mixed (a 64-bit finalizer) before its lowest
        bit is given to the negation flag. Without it, the polynomial hash's lowest bit is
        the parity of the token's bytes, and words that differ only there ("good"/"food",
        "loved"/"moved") were one feature once negation took that bit.
    unescape : HTML entities (``&#39;``, ``&amp;``) are decoded and the text is put in
        Unicode NFKC form (full-width ``ｇｏｏｄ`` is ``good``) before lower-casing.
    content : a negation's window counts only the words that carry meaning
        (:data:`sentiment.features.negation.FUNCTION_WORDS` ride along); False: every token counts.
    scripts : tokens by Unicode script (a character of Han, Kana, Thai, ... or an emoji is
        a token: n-grams are character n-grams there), punctuation beyond ASCII separates,
        emoticons are tokens (:mod:`sentiment.features.scripts`).
    elongation : a letter written three times or more in a row is kept twice (``sooo``,
        ``soooooo`` and ``soo`` are one word; ``hahahaha`` stays); digits and punctuation
        are left as they are (:func:`sentiment.features.folding.normalize`).
    """

    name: str
    mixed: bool
    unescape: bool
    content: bool
    scripts: bool = False
    elongation: bool = False


#: every rule this code reads, oldest first
RULES = {r.name: r for r in (
    TextRule("poly64-1", mixed=False, unescape=False, content=False),
    TextRule("poly64-1+negation-words", mixed=False, unescape=False, content=True),
    TextRule("mix64-2", mixed=True, unescape=True, content=True),
    TextRule("mix64-3", mixed=True, unescape=True, content=True, scripts=True),
    TextRule("mix64-4", mixed=True, unescape=True, content=True, scripts=True,
             elongation=True),
)}
#: the rule new models are made with
CURRENT = RULES["mix64-4"]


def rule_named(name) -> TextRule | None:
    """The rule called ``name``, or None if this code does not know it."""
    return RULES.get(name) if isinstance(name, str) else None
