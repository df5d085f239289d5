"""Negation: the words after "not", "no", "never", "n't", ... count with a minus sign.

"not good" then says the opposite of "good" with the weight the model learned for "good",
as a reader takes it, instead of adding up "not" (slightly negative on IMDB) and "good"
(positive). :func:`negated` finds each negation's scope on the tokenizer's arrays (no
Python object per token); :func:`~sentiment.features.tokens.hash_corpus` marks a feature whose
words are all in a scope by the lowest bit of its hash, and :func:`signed` splits that
bit off as a sign, so that "good" and negated "good" are one feature of the vocabulary.
What it measured: docs/negation.md.
"""
from __future__ import annotations

import sys

import numpy as np

#: words that open a negation's scope (and any word ending in n't: don't, isn't, ...)
NEGATIONS = ("not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "cannot",
             "without")
#: a negation's scope ends at these (besides the end of a text and the window's end)
_SCOPE_BYTE = np.zeros(256, dtype=bool)
_SCOPE_BYTE[list(b'.,;:()"\x00')] = True
SCOPE_WORDS = ("but", "!", "?")
#: a scope opened by "can't", "cannot" or "couldn't" (:data:`MODALS`) that holds one of
#: :data:`UNDO_WORDS` negates nothing: "I can't recommend it enough" says the opposite of
#: "I can't recommend it" (where "it isn't good enough" stays negated)
MODALS = ("can't", "cannot", "couldn't")
UNDO_WORDS = ("enough",)
#: words a scope's window does not count (it counts the words that carry meaning):
#: articles, demonstratives, personal pronouns, forms of "be", degree words and "as", "at",
#: "all" ("not as good as", "not at all"), so that
#: "not as good as the book", "isn't that funny" and "I can't say I enjoyed it" reach as
#: far as "not good" does. Models made before this counted every word (``content=False``).
FUNCTION_WORDS = ("a", "an", "the", "this", "that", "these", "those", "it", "its", "i",
                  "you", "he", "she", "they", "we", "me", "him", "them", "is", "was", "be",
                  "been", "are", "were", "as", "so", "too", "very", "really", "quite", "all",
                  "at")
ONE = np.uint64(1)  # the bit that marks a negated feature
_LITTLE = sys.byteorder == "little"


def negated(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, h1: np.ndarray,
            window: int, cues: np.ndarray, stops: np.ndarray, modals: np.ndarray | None = None,
            undo: np.ndarray | None = None, free: np.ndarray | None = None) -> np.ndarray:
    """Which tokens are in a negation's scope: the tokens after a negation (:data:`NEGATIONS`,
    or a word ending in n't) up to the ``window``-th that is not in ``free`` (and those of
    ``free`` right after it), unless a scope end comes first (``. , ; : ( ) "``, the end of
    the text, "but", "!" or "?"); another negation opens a new one. A scope opened by one of
    :data:`MODALS` that holds one of :data:`UNDO_WORDS` ("can't recommend it enough") has
    none. ``buf``: the normalized bytes; ``starts``/``ends``: each token's; ``h1``: each
    token's hash; ``cues``/``stops``/``modals``/``undo``/``free``: the hashes of
    :data:`NEGATIONS`, :data:`SCOPE_WORDS`, :data:`MODALS`, :data:`UNDO_WORDS` and
    :data:`FUNCTION_WORDS` (None or empty: every token counts, as models made before it).
    """
    t = len(starts)
    if t == 0:
        return np.zeros(0, dtype=bool)
    cue = np.isin(h1, cues)
    long = np.flatnonzero(ends - starts >= 4)  # a word ending in n't: don't, isn't, ...
    tail = ends[long]
    cue[long] |= (buf[tail - 1] == ord("t")) & (buf[tail - 2] == ord("'")) \
        & (buf[tail - 3] == ord("n"))
    stop = np.isin(h1, stops)
    # a scope end between token i-1 and token i: punctuation or a NUL in the gap (no
    # such byte is inside a token, so each one ends the scope of the tokens before it)
    gap = np.zeros(t, dtype=bool)
    gap[0] = True
    after = np.searchsorted(starts, np.flatnonzero(_SCOPE_BYTE[buf]))
    gap[after[after < t]] = True
    # the last token at or before each one that opened or ended a scope
    index = np.arange(t)
    last = np.maximum.accumulate(np.where(gap | stop | cue, index, -1))
    opened = cue[np.maximum(last, 0)] & (last >= 0)
    if free is not None and len(free):  # the window counts the tokens not in free
        counted = np.cumsum(~np.isin(h1, free))
        reach = counted - counted[np.maximum(last, 0)]
    else:
        reach = index - last
    inside = opened & (index > last) & (reach <= window)
    if undo is not None and len(undo):
        undone = np.zeros(t, dtype=bool)  # by the negation that opened each scope
        undone[last[inside & np.isin(h1, undo)]] = True
        undone &= np.isin(h1, modals)
        inside &= ~undone[np.maximum(last, 0)]
    return inside


def signed(hashes: np.ndarray, negation: int, inplace: bool = False
           ) -> tuple[np.ndarray, np.ndarray | None]:
    """(the features' hashes, +1/-1 for each: -1 when negated), from hashes made with
    ``negation`` (without it: the hashes as they are, and None)."""
    if not negation:
        return hashes, None
    hashes = np.ascontiguousarray(hashes)
    low = hashes.view(np.uint8)[::8] if _LITTLE else (hashes & ONE).astype(np.uint8)
    sign = 1 - 2 * (low & 1).astype(np.int8)  # from the lowest byte: 1/8 of the memory
    if inplace:  # the caller's hashes are its own: no copy of them
        np.bitwise_and(hashes, ~ONE, out=hashes)
        return hashes, sign
    return hashes & ~ONE, sign
