"""Tokenizer: lower-case, drop HTML line breaks, split words and sentiment punctuation.

Two implementations of one rule:

* :func:`tokenize` is the readable one (a compiled regular expression), used to show
  tokens to people (``explain``) and as the reference in tests;
* :func:`hash_corpus` is the fast one. It never creates a Python object per token: the
  whole corpus becomes one byte array, token boundaries come from comparing neighbouring
  byte classes, and each token (and n-gram) is named by a 64-bit polynomial hash computed
  with prefix sums. It is what training, evaluation and prediction use.

The rule: after lower-casing and replacing ``<br />`` with a space, a token is a run of
word characters (ASCII letters and digits, and any non-ASCII character that is not a
common punctuation mark) in which an apostrophe may stand between two word characters
(``don't``), or a single ``!`` or ``?``: the punctuation that carries sentiment.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# Typographic characters folded to ASCII before tokenizing, so that "don’t" is "don't" and
# an em dash separates words instead of gluing them.
_FOLD = {
    "\u2019": "'", "\u2018": "'", "\u00b4": "'", "\u0060": "'",
    "\u201c": " ", "\u201d": " ", "\u00ab": " ", "\u00bb": " ",
    "\u2014": " ", "\u2013": " ", "\u2026": " ", "\u00a0": " ",
}
_BREAKS = ("<br />", "<br/>", "<br>")

TOKEN_PATTERN = r"[a-z0-9\u0080-\U0010ffff]+(?:'[a-z0-9\u0080-\U0010ffff]+)*|[!?]"
_TOKEN_RE = re.compile(TOKEN_PATTERN)

#: Version of the hashing rule; stored in model files so a model is never read with
#: token ids from a different rule.
HASH_VERSION = "poly64-1"

_BASE = np.uint64(0x100000001B3)  # odd, so it has an inverse modulo 2**64
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
_NGRAM_SALT = np.uint64(0x165667B19E3779F9)
_CHUNK_BYTES = 1 << 22  # 4 MiB of text per vectorized pass: bounded memory, good speed


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


def tokenize(text: str) -> list[str]:
    """Return the tokens of one text, as strings (the readable reference implementation).

    >>> tokenize("Great movie!<br />Didn't like the END...")
    ['great', 'movie', '!', "didn't", 'like', 'the', 'end']
    """
    return _TOKEN_RE.findall(normalize(text))


def ngrams(tokens: list[str], n: int) -> list[str]:
    """Return the unigrams up to n-grams of ``tokens``, n-grams joined by a space."""
    out = list(tokens)
    for k in range(2, n + 1):
        out.extend(" ".join(tokens[i:i + k]) for i in range(len(tokens) - k + 1))
    return out


# Byte classes: 0 separator, 1 word, 2 sentiment punctuation, 3 apostrophe (word only
# between two word bytes). Non-ASCII bytes are word bytes: UTF-8 letters stay whole.
_CLASS = np.zeros(256, dtype=np.uint8)
_CLASS[ord("a"):ord("z") + 1] = 1
_CLASS[ord("0"):ord("9") + 1] = 1
_CLASS[0x80:] = 1
_CLASS[ord("!")] = 2
_CLASS[ord("?")] = 2
_CLASS[ord("'")] = 3

_powers_cache: dict[str, np.ndarray] = {}


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return BASE**i and BASE**-i modulo 2**64 for i < n (cached, grown on demand)."""
    have = _powers_cache.get("pow")
    if have is None or len(have) < n:
        size = max(n, _CHUNK_BYTES + 1)
        pow_ = np.full(size, _BASE, dtype=np.uint64)
        pow_[0] = 1
        np.cumprod(pow_, out=pow_)
        inv = np.full(size, _inverse(_BASE), dtype=np.uint64)
        inv[0] = 1
        np.cumprod(inv, out=inv)
        _powers_cache["pow"], _powers_cache["inv"] = pow_, inv
    return _powers_cache["pow"], _powers_cache["inv"]


def _inverse(a: np.uint64) -> np.uint64:
    """Multiplicative inverse of an odd number modulo 2**64 (Newton iteration)."""
    a = int(a)
    x = a
    for _ in range(6):
        x = (x * (2 - a * x)) % (1 << 64)
    return np.uint64(x)


@dataclass
class HashedCorpus:
    """Token hashes of many texts, grouped by text (CSR-like).

    ``hashes[indptr[i]:indptr[i+1]]`` are the features of text ``i``: its unigram hashes,
    then its bigram hashes, and so on up to ``n``. ``spans`` (optional) give, for every
    unigram, its byte start and end in ``data``; they let a vocabulary recover the words.
    """

    hashes: np.ndarray
    indptr: np.ndarray
    n_tokens: np.ndarray  # unigrams per text
    data: bytes | None = None
    starts: np.ndarray | None = None  # byte start of each unigram in data
    ends: np.ndarray | None = None
    token_index: np.ndarray | None = None  # per feature: index of its first unigram
    order: np.ndarray | None = None  # per feature: its n

    @property
    def n_texts(self) -> int:
        return len(self.indptr) - 1

    def __repr__(self) -> str:
        return f"HashedCorpus(texts={self.n_texts}, features={len(self.hashes)})"

    def words(self, feature_positions: np.ndarray) -> list[str]:
        """Return the text of the features at ``feature_positions`` (needs ``keep_text``)."""
        if self.data is None:
            raise ValueError("corpus was hashed without keep_text=True")
        data, starts, ends = self.data, self.starts, self.ends
        out = []
        for first, n in zip(self.token_index[feature_positions].tolist(),
                            self.order[feature_positions].tolist()):
            out.append(" ".join(data[starts[t]:ends[t]].decode("utf-8", "replace")
                                for t in range(first, first + n)))
        return out


def _hash_chunk(texts: list[str], n: int, keep_text: bool):
    """Hash one chunk of texts; see :func:`hash_corpus`."""
    joined = "\x00".join(texts)
    if joined.count("\x00") != len(texts) - 1:  # a text holds a NUL: it would split it
        joined = "\x00".join(t.replace("\x00", " ") for t in texts)
    joined = normalize(joined)  # texts are separated by NUL, which no token contains
    # a lone surrogate (stdin's surrogateescape) stays one word character, as in tokenize;
    # "replace" would turn it into "?", a token of its own
    data = joined.encode("utf-8", "surrogatepass")
    buf = np.frombuffer(data, dtype=np.uint8)
    length = len(buf)
    if length == 0:
        empty = np.zeros(0, np.uint64)
        zeros = np.zeros(len(texts), np.int64)
        idx = np.zeros(0, np.int64)
        extra = (data, idx, idx, idx, np.zeros(0, np.uint8)) if keep_text else None
        return empty, zeros, zeros, extra
    cls = _CLASS[buf]
    # an apostrophe is a word byte only between two word bytes
    apos = np.flatnonzero(cls == 3)
    if len(apos):
        left = np.zeros(len(apos), dtype=bool)
        right = np.zeros(len(apos), dtype=bool)
        ok = apos > 0
        left[ok] = cls[apos[ok] - 1] == 1
        ok = apos < length - 1
        right[ok] = cls[apos[ok] + 1] == 1
        cls[apos] = np.where(left & right, 1, 0)
    prev = np.empty_like(cls)
    prev[0] = 0
    prev[1:] = cls[:-1]
    nxt = np.empty_like(cls)
    nxt[-1:] = 0
    nxt[:-1] = cls[1:]
    token = cls != 0
    starts = np.flatnonzero(token & ((cls != prev) | (cls == 2)))
    ends = np.flatnonzero(token & ((cls != nxt) | (cls == 2))) + 1
    # polynomial hash of each token from prefix sums: sum c_i B^i over the token, shifted
    # back to position 0 by B^-start. uint64 arithmetic wraps, which is the modulus.
    pow_, inv = _powers(length + 1)
    prefix = np.empty(length + 1, dtype=np.uint64)
    prefix[0] = 0
    np.cumsum(buf.astype(np.uint64) * pow_[:length], out=prefix[1:])
    h1 = (prefix[ends] - prefix[starts]) * inv[starts]
    # which text each token belongs to: texts are separated by NUL bytes
    bounds = np.flatnonzero(buf == 0)
    doc = np.searchsorted(bounds, starts)
    n_texts = len(texts)
    n_tokens = np.bincount(doc, minlength=n_texts)
    feats = [h1]
    docs = [doc]
    first = [np.arange(len(h1))]
    orders = [np.ones(len(h1), dtype=np.uint8)]
    h = h1
    for k in range(2, n + 1):
        same = doc[k - 1:] == doc[:len(doc) - k + 1]
        h = (h[:-1] * _MIX[0] + h1[k - 1:] * _MIX[1]) ^ _NGRAM_SALT
        # h[i] now names the k-gram starting at token i (garbage where it crosses texts)
        idx = np.flatnonzero(same)
        feats.append(h[idx])
        docs.append(doc[idx])
        first.append(idx)
        orders.append(np.full(len(idx), k, dtype=np.uint8))
    if n > 1:
        doc_all = np.concatenate(docs)
        order = np.argsort(doc_all, kind="stable")
        hashes = np.concatenate(feats)[order]
        counts = np.bincount(doc_all, minlength=n_texts)
        token_index = np.concatenate(first)[order] if keep_text else None
        order_k = np.concatenate(orders)[order] if keep_text else None
    else:
        hashes, counts = h1, n_tokens
        token_index = first[0] if keep_text else None
        order_k = orders[0] if keep_text else None
    if not keep_text:
        return hashes, counts, n_tokens, None
    return hashes, counts, n_tokens, (data, starts, ends, token_index, order_k)


def _chunks(texts: list[str], limit: int):
    """Yield consecutive slices of ``texts`` holding about ``limit`` characters each."""
    start, size = 0, 0
    for i, t in enumerate(texts):
        size += len(t) + 1
        if size >= limit:
            yield texts[start:i + 1]
            start, size = i + 1, 0
    if start < len(texts) or not texts:
        yield texts[start:]


def hash_corpus(texts: list[str], n: int = 1, keep_text: bool = False) -> HashedCorpus:
    """Tokenize ``texts`` and return the hashes of their unigrams up to ``n``-grams.

    Cost: a few vectorized passes over the bytes of the text, in chunks of 4 MiB; no Python
    object per token. ``keep_text=True`` also keeps what is needed to turn hashes back into
    words (for building a vocabulary).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    parts = [_hash_chunk(chunk, n, keep_text) for chunk in _chunks(texts, _CHUNK_BYTES)]
    hashes = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.uint64)
    counts = np.concatenate([p[1] for p in parts])
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    n_tokens = np.concatenate([p[2] for p in parts])
    corpus = HashedCorpus(hashes=hashes, indptr=indptr, n_tokens=n_tokens)
    if keep_text:
        # one byte string for all chunks; shift each chunk's offsets by the bytes before it
        datas, starts, ends, tindex, orders = [], [], [], [], []
        byte_off = tok_off = 0
        for p in parts:
            data, s, e, ti, o = p[3]
            datas.append(data)
            starts.append(s + byte_off)
            ends.append(e + byte_off)
            tindex.append(ti + tok_off)
            orders.append(o)
            byte_off += len(data)
            tok_off += len(s)
        corpus.data = b"".join(datas)
        corpus.starts = np.concatenate(starts)
        corpus.ends = np.concatenate(ends)
        corpus.token_index = np.concatenate(tindex)
        corpus.order = np.concatenate(orders)
    return corpus
