"""Tokenizer: lower-case, drop HTML line breaks, split words and sentiment punctuation.

Two implementations of one rule:

* :func:`tokenize` is the readable one (a compiled regular expression), used to show
  tokens to people (``explain``) and as the reference in tests;
* :func:`hash_corpus` is the fast one. It never creates a Python object per token: the
  whole corpus becomes one byte array, token boundaries come from comparing neighbouring
  byte classes, and each token (and n-gram) is named by a 64-bit polynomial hash computed
  with prefix sums. It is what training, evaluation and prediction use; the compiled
  loops (:mod:`sentiment.native.loops`) do the same in one pass over the bytes, when built.

The rule: after normalizing (:func:`~sentiment.features.folding.normalize`: entities, NFKC,
lower case, ``<br />`` a space, a letter's run of three or more kept twice), a token is a run of
word characters (ASCII letters and digits, any non-ASCII character but common punctuation) with
an apostrophe allowed between two (``don't``), or a single ``!`` or ``?``; under the current
rule also a character of a script written without spaces, an emoji or an emoticon
(:mod:`sentiment.features.scripts`). Each feature's hash is then mixed (:func:`mix64`) under the
rules that say so (:mod:`sentiment.features.rules`)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from ..native.loops import compiled, hash_normalized
from .folding import normalize, normalized_bytes
from .negation import FUNCTION_WORDS, MODALS, NEGATIONS, ONE, SCOPE_WORDS, UNDO_WORDS, negated
from .rules import CURRENT, TextRule
from .scripts import TOKEN_PATTERN as SCRIPTS_PATTERN
from .scripts import token_spans

TOKEN_PATTERN = r"[a-z0-9\u0080-\U0010ffff]+(?:'[a-z0-9\u0080-\U0010ffff]+)*|[!?]"

_BASE = np.uint64(0x100000001B3)  # odd, so it has an inverse modulo 2**64
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
_NGRAM_SALT = np.uint64(0x165667B19E3779F9)
_CHUNK_BYTES = 1 << 22  # 4 MiB of text per vectorized pass: bounded memory, good speed
_SPLITMIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer of each hash, in place (a bijection whose every output bit
    depends on every input bit): the compiled loops' ``mix64``."""
    h ^= h >> np.uint64(30)
    h *= _SPLITMIX[0]
    h ^= h >> np.uint64(27)
    h *= _SPLITMIX[1]
    h ^= h >> np.uint64(31)
    return h


def tokenize(text: str, rule: TextRule = CURRENT) -> list[str]:
    """Return the tokens of one text, as strings (the readable reference implementation).

    >>> tokenize("Great movie!<br />Didn't like the END...")
    ['great', 'movie', '!', "didn't", 'like', 'the', 'end']
    """
    # re compiles the pattern on first use and caches it: not at import, where compiling
    # it would cost ~8 ms of every start-up (predict never tokenizes this way)
    # a NUL is a space, as normalized_bytes makes it (it separates texts there)
    return re.findall(SCRIPTS_PATTERN if rule.scripts else TOKEN_PATTERN,
                      normalize(text.replace("\x00", " "), rule))


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
_powers_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return BASE**i and BASE**-i modulo 2**64 for i < n (cached, grown on demand).

    The pair is cached as one tuple, so a thread never sees halves of two sizes.
    """
    have = _powers_cache.get("pair")
    if have is not None and len(have[0]) >= n:
        return have
    size = max(n, 1 << 16)  # small calls (predict) share one 1 MB table
    pow_ = np.full(size, _BASE, dtype=np.uint64)
    pow_[0] = 1
    np.cumprod(pow_, out=pow_)
    inv = np.full(size, _inverse(_BASE), dtype=np.uint64)
    inv[0] = 1
    np.cumprod(inv, out=inv)
    if have is None or len(have[0]) < size:
        _powers_cache["pair"] = (pow_, inv)
    return pow_, inv


def _inverse(a: np.uint64) -> np.uint64:
    """Multiplicative inverse of an odd number modulo 2**64 (Newton iteration)."""
    a = int(a)
    x = a
    for _ in range(6):
        x = (x * (2 - a * x)) % (1 << 64)
    return np.uint64(x)


@dataclass
class HashedCorpus:
    """Token hashes of many texts: one hash per feature (unigram up to n-gram).

    ``hashes[j]`` is a feature of text ``rows[j]``. Features are stored in blocks, chunk by
    chunk: a chunk's unigrams, then its bigrams, and so on; they are not grouped by text,
    since building a CSR matrix from ``(rows, ids)`` groups them (a counting sort in
    scipy), which is cheaper than sorting here. With ``keep_text``, ``data`` holds the
    normalized UTF-8 text and ``starts``/``ends`` every unigram's bytes, enough to turn
    any feature back into words (:meth:`words_bytes`).
    """

    hashes: np.ndarray
    rows: np.ndarray
    n_tokens: np.ndarray  # unigrams per text
    blocks: np.ndarray  # per block: first feature, features, n, first unigram, unigrams
    data: bytes | None = None
    starts: np.ndarray | None = None  # byte start of each unigram in data
    ends: np.ndarray | None = None

    @property
    def n_texts(self) -> int:
        return len(self.n_tokens)

    def feature_counts(self) -> np.ndarray:
        """Number of features (with repeats) of each text."""
        return np.bincount(self.rows, minlength=self.n_texts)

    def __repr__(self) -> str:
        return f"HashedCorpus(texts={self.n_texts}, features={len(self.hashes)})"

    def token_docs(self) -> np.ndarray:
        """The text of every unigram (token), in token order."""
        return np.concatenate([self.rows[f0:f0 + m] for f0, m, k, _, _ in self.blocks.tolist()
                               if k == 1] or [np.zeros(0, np.int32)])

    def feature_tokens(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For features at ``positions``: (index of their first unigram, their n)."""
        return feature_tokens(self.blocks, self.token_docs(), positions)

    def words(self, feature_positions: np.ndarray) -> list[str]:
        """Return the text of the features at ``feature_positions`` (needs ``keep_text``)."""
        raw = self.words_bytes(feature_positions)
        return raw.decode("utf-8", "surrogatepass").split("\n") if raw else []

    def words_bytes(self, feature_positions: np.ndarray) -> bytes:
        """The features' texts as UTF-8, n-gram tokens joined by spaces, one per line."""
        return self.join_tokens(*self.feature_tokens(feature_positions))

    def join_tokens(self, first: np.ndarray, n: np.ndarray) -> bytes:
        """Text of the token runs ``first[i] .. first[i]+n[i]-1``, one run per line."""
        if self.data is None:
            raise ValueError("corpus was hashed without keep_text=True")
        return join_tokens(self.data, self.starts, self.ends, first, n)


def feature_tokens(blocks: np.ndarray, token_docs: np.ndarray, positions: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(first unigram, n) of the features at ``positions`` of a :class:`HashedCorpus` with
    these ``blocks`` and ``token_docs`` (the text of each token)."""
    positions = np.asarray(positions, dtype=np.int64)
    block = np.searchsorted(blocks[:, 0], positions, side="right") - 1
    first = np.empty(len(positions), dtype=np.int64)
    for b in np.flatnonzero(np.bincount(block, minlength=len(blocks))):
        feat0, _, k, tok0, n_tok = blocks[b].tolist()
        mine = block == b
        local = positions[mine] - feat0
        if k > 1:  # k-grams exist where the first and last unigram share a text
            doc = token_docs[tok0:tok0 + n_tok]
            local = np.flatnonzero(doc[k - 1:] == doc[:n_tok - k + 1])[local]
        first[mine] = tok0 + local
    return first, blocks[block, 2]


def join_tokens(data: bytes, starts: np.ndarray, ends: np.ndarray, first: np.ndarray,
                n: np.ndarray) -> bytes:
    """Text of the token runs ``first[i] .. first[i]+n[i]-1``, one run per line (token t:
    ``data[starts[t]:ends[t]]``), by one gather of bytes: no Python object per feature."""
    if len(first) == 0:
        return b""
    first, n = np.asarray(first, np.int64), np.asarray(n, np.int64)
    if (fast := compiled()) is not None and starts.dtype == np.int32 == ends.dtype:
        return fast.join_tokens(data, starts, ends, first, n)
    # every token of every run, in order: first, first+1, ..., first+n-1
    before = np.cumsum(n) - n
    tokens = np.repeat(first - before, n) + np.arange(int(n.sum()))
    starts = starts[tokens].astype(np.int64)
    lengths = ends[tokens] - starts
    # each token is copied followed by a space, or a newline after a run's last token
    width = lengths + 1
    out_start = np.cumsum(width) - width
    src = np.repeat(starts - out_start, width) + np.arange(int(width.sum()))
    src[out_start + lengths] = 0  # separator slots: any valid index, overwritten next
    out = np.frombuffer(data, dtype=np.uint8)[src]
    out[out_start + lengths] = ord(" ")
    out[(out_start + lengths)[np.cumsum(n) - 1]] = ord("\n")
    return out[:-1].tobytes()


_word_hashes: dict[str, np.ndarray] = {}  # _hashes_of's, by the words joined
_CORPUS_REST = ("n_tokens", "blocks", "data", "starts", "ends")  # HashedCorpus's, in order


def _hashes_of(words: tuple[str, ...], rule: TextRule) -> np.ndarray:
    """The unigram hashes of ``words`` (sorted), as :func:`hash_corpus` names them."""
    key = rule.name + "\n" + " ".join(words)
    if key not in _word_hashes:
        _word_hashes[key] = np.sort(_hash_chunk(list(words), 1, False, 0, rule)["hashes"][0])
    return _word_hashes[key]


def _negation_words(rule: TextRule) -> tuple[np.ndarray, ...]:
    """The hashes of the negation's word lists (:func:`negated`'s cues ... free)."""
    return tuple(_hashes_of(w, rule) for w in (
        NEGATIONS, SCOPE_WORDS, MODALS, UNDO_WORDS, FUNCTION_WORDS if rule.content else ()))


def _hash_chunk(texts: list[str], n: int, keep_text: bool, negation: int = 0,
                rule: TextRule = CURRENT) -> dict:
    """Hash one chunk of texts; see :func:`hash_corpus`. Offsets are chunk-local."""
    data = normalized_bytes(texts, rule)
    fast = compiled()
    if fast is not None:
        words = _negation_words(rule) if negation else (None,) * 5
        return hash_normalized(fast, data, len(texts), n, keep_text, negation, rule.mixed,
                               rule.scripts, *words)
    buf = np.frombuffer(data, dtype=np.uint8)
    starts, ends = (token_spans if rule.scripts else _token_spans)(buf)
    # polynomial hash of each token from prefix sums: sum c_i B^i over the token, shifted
    # back to position 0 by B^-start. uint64 arithmetic wraps, which is the modulus.
    pow_, inv = _powers(len(buf) + 1)
    prefix = np.zeros(len(buf) + 1, dtype=np.uint64)
    np.multiply(buf, pow_[:len(buf)], out=prefix[1:])  # in place: no temporary of 8 bytes
    np.cumsum(prefix[1:], out=prefix[1:])  # a byte
    h1 = (prefix[ends] - prefix[starts]) * inv[starts]
    del prefix
    if rule.mixed:
        mix64(h1)
    # which text each token belongs to: texts are separated by NUL bytes
    doc = np.searchsorted(np.flatnonzero(buf == 0), starts).astype(np.int32)
    if negation:
        # a feature's lowest bit says whether all its words are in a negation's scope:
        # the same feature either way, counted with a minus sign (see vocab.signed)
        inside = negated(buf, starts, ends, h1, negation, *_negation_words(rule))
        np.bitwise_and(h1, ~ONE, out=h1)
        feats = [h1 | inside]
    else:
        feats = [h1]
    docs = [doc]
    h, all_inside = h1, inside if negation else None
    for k in range(2, n + 1):
        # h[i] names the k-gram starting at token i (garbage where it crosses texts)
        h = (h[:-1] * _MIX[0] + h1[k - 1:] * _MIX[1]) ^ _NGRAM_SALT
        idx = np.flatnonzero(doc[k - 1:] == doc[:len(doc) - k + 1])
        hk = h[idx]
        if rule.mixed:
            mix64(hk)
        if negation:
            all_inside = all_inside[:-1] & inside[k - 1:]
            np.bitwise_and(hk, ~ONE, out=hk)
            np.bitwise_or(hk, all_inside[idx], out=hk, casting="unsafe")
        feats.append(hk)
        docs.append(doc[idx])
    out = {"hashes": feats, "rows": docs, "n_tokens": np.bincount(doc, minlength=len(texts))}
    if keep_text:
        offset = np.int32 if len(data) < 2**31 else np.int64
        out.update(data=data, starts=starts.astype(offset), ends=ends.astype(offset))
    return out


def _token_spans(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Byte start and end of every token in the normalized UTF-8 bytes ``buf``."""
    if len(buf) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cls = _CLASS[buf]
    # an apostrophe is a word byte only between two word bytes
    apos = np.flatnonzero(cls == 3)
    if len(apos):
        left = np.zeros(len(apos), dtype=bool)
        right = np.zeros(len(apos), dtype=bool)
        ok = apos > 0
        left[ok] = cls[apos[ok] - 1] == 1
        ok = apos < len(buf) - 1
        right[ok] = cls[apos[ok] + 1] == 1
        cls[apos] = np.where(left & right, 1, 0)
    token = cls != 0
    single = cls == 2  # "!" and "?" are tokens of one byte each
    edge = np.empty(len(buf) + 1, dtype=bool)  # class changes between byte i-1 and i
    edge[0] = edge[-1] = True
    np.not_equal(cls[1:], cls[:-1], out=edge[1:-1])
    starts = np.flatnonzero(token & (edge[:-1] | single))
    ends = np.flatnonzero(token & (edge[1:] | single)) + 1
    return starts, ends


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


def hash_corpus(texts: list[str], n: int = 1, keep_text: bool = False,
                workers: int | None = None, negation: int = 0,
                rule: TextRule = CURRENT) -> HashedCorpus:
    """Tokenize ``texts`` and return the hashes of their unigrams up to ``n``-grams.

    Cost: a few vectorized passes over the bytes, in chunks of 4 MiB (64 in the compiled
    loops, which need no temporaries); no Python object per token. ``keep_text=True``
    also keeps what turns hashes back into words. ``workers`` threads hash chunks side by
    side (default: one per core, at most 2); the result is the same whatever their
    number. ``negation``: the window of :func:`negated` (0: none), in words that carry
    meaning where ``rule.content`` says so (else in tokens, as models made before it); each
    hash's lowest bit then says whether the feature is negated (:func:`signed` splits
    them). ``rule``: the tokenizer version (:mod:`sentiment.features.rules`), the current one
    unless scoring with a model made by an older one.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if negation is None:
        raise ValueError("negation is None: Settings.for_labels chooses the window")
    chunks = list(_chunks(texts, _CHUNK_BYTES * (1 if compiled() is None else 16)))
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    if workers > 1 and len(chunks) > 1:
        from concurrent.futures import ThreadPoolExecutor

        _powers(_CHUNK_BYTES + 1)  # fill the shared cache once, before the threads start
        with ThreadPoolExecutor(min(workers, len(chunks))) as pool:
            parts = list(pool.map(lambda c: _hash_chunk(c, n, keep_text, negation, rule),
                                  chunks))
    else:
        parts = [_hash_chunk(chunk, n, keep_text, negation, rule) for chunk in chunks]
    del chunks
    if len(parts) == 1 and "whole" in parts[0]:  # compiled, one part: no copies
        return HashedCorpus(*parts[0]["whole"], *map(parts[0].get, _CORPUS_REST))
    # chunk-local offsets become global: texts, unigrams and bytes before each chunk
    text_off = np.cumsum([0] + [len(p["n_tokens"]) for p in parts])
    tok_off = np.cumsum([0] + [len(p["hashes"][0]) for p in parts])
    blocks, feat0 = [], 0
    for p, t0 in zip(parts, tok_off):
        for k, h in enumerate(p["hashes"], 1):
            blocks.append((feat0, len(h), k, t0, len(p["hashes"][0])))
            feat0 += len(h)
    # each field is joined, then its pieces dropped, so memory peaks at one extra field
    corpus = HashedCorpus(
        hashes=_join(parts, "hashes"),
        rows=np.concatenate([r + np.int32(o) for p, o in zip(parts, text_off)
                             for r in p.pop("rows")]),
        n_tokens=_join(parts, "n_tokens"), blocks=np.array(blocks, dtype=np.int64))
    if keep_text:
        byte_off = np.cumsum([0] + [len(p["data"]) for p in parts])
        offset = np.int32 if byte_off[-1] < 2**31 else np.int64
        corpus.starts = np.concatenate([p.pop("starts").astype(offset) + offset(o)
                                        for p, o in zip(parts, byte_off)])
        corpus.ends = np.concatenate([p.pop("ends").astype(offset) + offset(o)
                                      for p, o in zip(parts, byte_off)])
        corpus.data = b"".join(p.pop("data") for p in parts)
    return corpus


def _join(parts: list[dict], field: str) -> np.ndarray:
    """Concatenate one field of every part (a list of arrays, or one array) and drop it."""
    pieces = []
    for p in parts:
        value = p.pop(field)
        pieces.extend(value if isinstance(value, list) else [value])
    return np.concatenate(pieces)
