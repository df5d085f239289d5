"""The vocabulary: which words (and n-grams) the network sees, and how texts become rows.

A :class:`Vocabulary` maps token hashes (see :mod:`sentiment.features.tokens`) to column ids,
with in how many positive and negative texts each feature occurs; it is made by counting
(:mod:`sentiment.features.counting`, :func:`sentiment.training.pipeline.fit_vocabulary`), rare
features (``min_count``) and features with no sentiment signal (``polarity_cutoff`` on the log ratio
of positive to negative counts) dropped. :meth:`Vocabulary.encode` turns texts into a CSR
matrix: row ``i`` is text ``i``, its ``indices`` the ids of the features present, its
``data`` ones (binary presence) or counts.
"""
from __future__ import annotations

import threading

import numpy as np

from ..native.loops import compiled, lookup, lookup_table, rows_matrix
from .counting import polarity
from .negation import signed
from .rules import CURRENT, RULES, TextRule
from .tokens import HashedCorpus, hash_corpus, join_tokens

#: hashes looked up in all past which a hash table over the hashes (made once, then used
#: by every lookup: pass 2's small validation chunks) pays over binary searches of them
MANY_LOOKUPS = 50_000

#: held while one thread builds a vocabulary's lookup index (pandas fills an Index's hash
#: table on first use; two threads doing it at once can see it half full)
_INDEX_LOCK = threading.Lock()


class Vocabulary:
    """Features kept for training, with their positive and negative document counts.

    Parameters
    ----------
    hashes : uint64 array, one per feature; the column id of a feature is its position.
    words : the text of each feature (n-grams joined by a space).
    pos_counts, neg_counts : in how many positive / negative training texts each occurs
        (None in a compact model, which keeps only what prediction and ``explain`` need).
    n_pos, n_neg : number of positive / negative training texts.
    ngrams, min_count, polarity_cutoff, negation : the settings the vocabulary was fit with
        (``negation``: texts are hashed with that window, and a negated feature counts
        with a minus sign).
    rule : the tokenizer version of its hashes (:mod:`sentiment.features.rules`), or an old file's.
    smoothing : added to every count before the naive-Bayes ratios (1: an older file's).
    """

    def __init__(self, hashes, words, pos_counts, neg_counts, n_pos, n_neg,
                 ngrams=1, min_count=1, polarity_cutoff=0.0, negation=0,
                 rule: TextRule = CURRENT, smoothing: float = 1.0):
        self.hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        # list of str, or the UTF-8 bytes of them joined by newlines, or those bytes
        # zlib-compressed as a 1-tuple (a compact model's)
        self._words = words
        self.pos_counts = None if pos_counts is None else np.asarray(pos_counts, np.int64)
        self.neg_counts = None if neg_counts is None else np.asarray(neg_counts, np.int64)
        self.n_pos, self.n_neg = int(n_pos), int(n_neg)
        self.ngrams, self.min_count = int(ngrams), int(min_count)
        self.polarity_cutoff, self.negation = float(polarity_cutoff), int(negation)
        self.rule, self.smoothing = rule, float(smoothing)
        self._order = self._sorted_hashes = None  # argsort of hashes, hashes[_order]: searches
        self._index = None  # pandas Index over hashes, for large lookups
        self._looked_up = 0  # hashes looked up since the last forget_lookups()
        self._nb = None  # naive-Bayes log-count ratio of every feature, made on first use
        self.class_scaled = False  # K classes: _nb was set from per-class counts, and kept

    @property
    def has_counts(self) -> bool:
        return self.pos_counts is not None

    def counts(self) -> np.ndarray:
        """In how many training texts each feature occurs (zeros if not kept)."""
        if self.pos_counts is None:
            return np.zeros(len(self), dtype=np.int64)
        return self.pos_counts + self.neg_counts

    def words_bytes(self, columns: np.ndarray) -> bytes:
        """The words of ``columns``, one per line, as UTF-8: a gather of bytes when the
        words are held as bytes (no Python string per word)."""
        if isinstance(self._words, tuple):
            self.words  # noqa: B018 - checks and decompresses them
        if not isinstance(self._words, bytes):
            words = self.words
            return "\n".join(words[i] for i in np.asarray(columns).tolist()).encode(
                "utf-8", "surrogatepass")
        lines = getattr(self, "_lines", None)
        if lines is None or lines[0] is not self._words:
            ends = np.flatnonzero(np.frombuffer(self._words, np.uint8) == 10)
            ends = np.append(ends, len(self._words)) if self._words else ends
            starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else ends
            if len(self._words) < 2**31:  # int32, as the compiled join_tokens reads them
                starts, ends = starts.astype(np.int32), ends.astype(np.int32)
            lines = self._lines = (self._words, starts, ends)
        columns = np.asarray(columns, dtype=np.int64)
        return join_tokens(self._words, lines[1], lines[2], columns,
                           np.ones(len(columns), np.int64))

    @property
    def words(self) -> list[str]:
        """The text of each feature, in column order (decoded on first use)."""
        if isinstance(self._words, tuple):  # compressed: checked as it is opened
            import zlib

            from ..errors import SentimentError
            try:
                raw = zlib.decompress(self._words[0])
            except zlib.error:
                raw = None
            if raw is None or (raw.count(b"\n") + 1 if raw else 0) != len(self):
                raise SentimentError("the model's feature names are damaged; the model "
                                     "still predicts, but cannot name its features")
            self._words = raw
        if isinstance(self._words, bytes):
            raw = self._words
            self._words = raw.decode("utf-8", "surrogatepass").split("\n") if raw else []
        elif not isinstance(self._words, list):
            self._words = list(self._words)
        return self._words

    def __len__(self) -> int:
        return len(self.hashes)

    def __repr__(self) -> str:
        return (f"Vocabulary(size={len(self)}, ngrams={self.ngrams}, "
                f"min_count={self.min_count}, polarity_cutoff={self.polarity_cutoff})")

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """Return the column id of each hash, -1 for hashes not in the vocabulary."""
        self._looked_up += len(hashes)
        if compiled() is not None and self._looked_up > MANY_LOOKUPS:
            return lookup(self.table, self.hashes, hashes)
        if len(hashes) > MANY_LOOKUPS:
            index = self._index
            if index is None:
                with _INDEX_LOCK:  # threads may look up at once: one builds the index
                    if self._index is None:
                        import pandas as pd
                        index = pd.Index(self.hashes)
                        index.get_indexer(self.hashes[:1])  # fills its hash table, once
                        self._index = index
                    index = self._index
            return index.get_indexer(hashes)
        order, sorted_h = self._sorted()
        pos = np.searchsorted(sorted_h, hashes)
        pos[pos == len(sorted_h)] = 0
        found = sorted_h[pos] == hashes if len(sorted_h) else np.zeros(len(hashes), bool)
        return np.where(found, order[pos] if len(sorted_h) else -1, -1)

    def forget_lookups(self) -> None:
        """Drop :meth:`lookup`'s tables (made again if called again): after pass 2."""
        self._hash_table = self._index = self._order = self._sorted_hashes = None
        self._looked_up = 0

    @property
    def table(self) -> np.ndarray:
        """The compiled loops' hash table over the hashes (sentiment.native.loops), made once."""
        if getattr(self, "_hash_table", None) is None:
            with _INDEX_LOCK:  # threads may look up at once: one builds the table
                if getattr(self, "_hash_table", None) is None:
                    self._hash_table = lookup_table(self.hashes)
        return self._hash_table

    def _sorted(self) -> tuple[np.ndarray, np.ndarray]:
        """(argsort of the hashes, the hashes in that order), made once and kept."""
        if self._order is None:
            self._order = np.argsort(self.hashes, kind="stable")
        if self._sorted_hashes is None:
            self._sorted_hashes = self.hashes[self._order]
        return self._order, self._sorted_hashes

    def encode_arrays(self, texts, binary: bool = True):
        """Return ``(data, indices, indptr, n_known)``: the CSR arrays of ``texts``.

        Works with numpy alone (no scipy), so that ``predict`` starts fast. ``n_known`` is
        the number of known features per text (0 means the model has nothing to go on).
        """
        mine = not isinstance(texts, HashedCorpus)
        corpus = self.hash(texts) if mine else texts
        hashes, sign = signed(corpus.hashes, self.negation, inplace=mine)
        ids = self.lookup(hashes)
        known = ids >= 0
        row, ids = corpus.rows[known], ids[known]
        # sorted by (row, id, sign): duplicates side by side (a feature's signs in order)
        order = np.lexsort((ids, row) if sign is None else (sign[known], ids, row))
        row, ids = row[order], ids[order]
        new = np.ones(len(ids), dtype=bool)
        new[1:] = (ids[1:] != ids[:-1]) | (row[1:] != row[:-1])
        starts = np.flatnonzero(new)
        if sign is not None:  # said plainly, minus said negated (see negation.signed)
            sign = sign[known][order].astype(np.float32)
            if binary:  # each (text, feature, sign) once
                sign[1:][(sign[1:] == sign[:-1]) & ~new[1:]] = 0
            total = np.add.reduceat(sign, starts) if len(starts) else sign[:0]
            starts, data = starts[total != 0], total[total != 0]
        elif binary:
            data = np.ones(len(starts), dtype=np.float32)
        else:
            data = np.diff(np.append(starts, len(ids))).astype(np.float32)
        indices = ids[starts].astype(np.int32)
        counts = np.bincount(row[starts], minlength=corpus.n_texts)
        indptr = np.zeros(corpus.n_texts + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return data, indices, indptr, counts

    def encode(self, texts, binary: bool = True):
        """Return texts as a CSR matrix (rows = texts, columns = features), float32.

        Same result as :meth:`encode_arrays`; uses scipy to group and merge features,
        which is faster on large corpora.
        """
        mine = not isinstance(texts, HashedCorpus)
        corpus = self.hash(texts) if mine else texts
        hashes, sign = signed(corpus.hashes, self.negation, inplace=mine)
        ids = self.lookup(hashes)
        known = ids >= 0
        if sign is not None:
            return signed_matrix(corpus.rows[known], ids[known], sign[known],
                                 (corpus.n_texts, len(self)), binary)
        X = count_matrix(corpus.rows[known], ids[known], (corpus.n_texts, len(self)))
        if binary:
            X.data[:] = 1.0
        return X

    def hash(self, texts) -> HashedCorpus:
        """``texts`` hashed as this vocabulary's features were."""
        return hash_corpus(texts, self.ngrams, negation=self.negation, rule=self.rule)

    def input_values(self, values: str, data: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """Turn binary/count CSR ``data`` into input values: ``values='nb'`` multiplies
        each by its feature's naive-Bayes log-count ratio; ``binary``/``count`` keep it."""
        if values != "nb":
            return data
        if self._nb is None and len(indices) < len(self) // 8:
            # a few texts (predict): the ratios of their features only, not the whole table
            return data * self.log_ratio(indices=indices)
        return data * self.nb_scale()[indices]

    def nb_scale(self) -> np.ndarray:
        """The naive-Bayes log-count ratio of every feature (made once, then kept)."""
        if self._nb is None:
            self._nb = self.log_ratio()
        return self._nb

    def set_class_scale(self, counts: np.ndarray) -> None:
        """K classes: the naive-Bayes input values from per-class counts (vocabulary x K),
        :func:`class_log_ratio`; stored with the vocabulary (the two counts are not enough
        to make them again)."""
        self._nb, self.class_scaled = class_log_ratio(counts, self.smoothing), True

    def log_ratio(self, alpha: float | None = None, indices: np.ndarray | None = None):
        """Naive-Bayes log-count ratio of each feature (NBSVM's r), float32, ``alpha``
        added to every count (default: the vocabulary's ``smoothing``). With ``indices``,
        the ratio of those features only (the totals still span the whole vocabulary):
        what predicting a few texts needs, at a fraction of the cost."""
        alpha = self.smoothing if alpha is None else alpha
        pos, neg = self.pos_counts, self.neg_counts
        p_total = float(pos.sum(dtype=np.int64)) + alpha * len(pos)
        q_total = float(neg.sum(dtype=np.int64)) + alpha * len(neg)
        if indices is not None:
            pos, neg = pos[indices], neg[indices]
        return (np.log((pos + alpha) / p_total)
                - np.log((neg + alpha) / q_total)).astype(np.float32)

    def polarity(self) -> np.ndarray:
        """Log ratio of positive to negative counts of each feature, balanced by class size."""
        return polarity(self.pos_counts, self.neg_counts, self.n_pos, self.n_neg)

    # -- persistence: plain arrays and JSON-able values, no pickle ------------------------
    def to_arrays(self, compact: bool = False, level: int = 1) -> dict:
        """The vocabulary as arrays. ``compact`` (features sorted by hash, as a compact
        model has them): no lookup order (the hashes are it), no counts, the words
        zlib-compressed at ``level`` (IMDB's 6.8 MB: 1 0.08 s, 3.3 MB; 9 0.56 s, 2.9 MB)."""
        if compact:
            import zlib

            words = zlib.compress(self._joined_words(), level)
            return {"vocab_hashes": self.hashes,
                    "vocab_words_z": np.frombuffer(words, dtype=np.uint8)}
        order = self._order  # not kept if not made: a checkpoint's, while training
        order = np.argsort(self.hashes, kind="stable") if order is None else order
        return {"vocab_hashes": self.hashes, "vocab_order": order.astype(np.int32),
                "vocab_words": np.frombuffer(self._joined_words(), dtype=np.uint8),
                "vocab_pos": np.asarray(self.pos_counts, np.int32),
                "vocab_neg": np.asarray(self.neg_counts, np.int32),
                **({"vocab_scale": self._nb} if self.class_scaled else {})}

    def _joined_words(self) -> bytes:
        """The words, one per line, as stored; joined once (a checkpoint after every
        epoch stores them each time: 0.2 s a time for IMDB's 840k features)."""
        if isinstance(self._words, bytes):
            return self._words
        joined = getattr(self, "_joined", None)
        if joined is None or joined[0] is not self._words:
            words = self.words
            joined = (words, "\n".join(w.replace("\n", " ") for w in words).encode(
                "utf-8", "surrogatepass"))
            self._joined = joined
        return joined[1]

    def meta(self) -> dict:
        return {"size": len(self), "ngrams": self.ngrams, "min_count": self.min_count,
                "polarity_cutoff": self.polarity_cutoff, "n_pos": self.n_pos,
                "n_neg": self.n_neg, "hash": self.rule.name,
                **({"negation": self.negation} if self.negation else {}),
                **({"smoothing": self.smoothing} if self.smoothing != 1 else {})}

    @classmethod
    def from_arrays(cls, arrays, meta: dict, sorted_hashes: np.ndarray | None = None
                    ) -> "Vocabulary":
        """The inverse of :meth:`to_arrays` and :meth:`meta`. ``sorted_hashes``: the
        hashes in ``vocab_order``, if the caller has them already (saves a gather)."""
        words = (bytes(arrays["vocab_words_z"]),) if "vocab_words_z" in arrays \
            else bytes(arrays["vocab_words"])
        vocab = cls(arrays["vocab_hashes"], words, arrays.get("vocab_pos"),
                    arrays.get("vocab_neg"), meta["n_pos"], meta["n_neg"], meta["ngrams"],
                    meta["min_count"], meta["polarity_cutoff"], meta.get("negation", 0),
                    RULES[meta["hash"]], meta.get("smoothing", 1.0))
        if "vocab_order" in arrays:
            vocab._order = np.asarray(arrays["vocab_order"])
        else:  # compact: sorted by hash (checked on reading)
            vocab._order = np.arange(len(vocab), dtype=np.int32)
            sorted_hashes = vocab.hashes
        if "vocab_scale" in arrays:
            vocab._nb = np.asarray(arrays["vocab_scale"], dtype=np.float32)
            vocab.class_scaled = True
        vocab._sorted_hashes = sorted_hashes
        return vocab


def count_matrix(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]):
    """CSR matrix with a 1 summed at each (row, col): counts, duplicates merged, float32.

    scipy groups the entries by row with a counting sort, then sorts each row's columns to
    merge repeats; no global sort. The compiled loops (sentiment.native.loops) merge repeats by
    one lookup each, then sort each row's few columns.
    """
    import scipy.sparse as sp

    fast = compiled()
    if fast is not None and max(len(rows), *shape) < 2**31 - 1:
        return rows_matrix(fast, rows, cols, None, shape, False)
    index = np.int32 if max(shape) < 2**31 else np.int64
    X = sp.coo_matrix((np.ones(len(rows), np.float32),
                       (rows.astype(index, copy=False), cols.astype(index, copy=False))),
                      shape=shape).tocsr()
    X.sum_duplicates()
    return X


def signed_matrix(rows: np.ndarray, cols: np.ndarray, sign: np.ndarray,
                  shape: tuple[int, int], binary: bool = True):
    """CSR matrix of features said plainly minus said negated in each text (``sign``
    -1 for a negated occurrence): with ``binary``, presence (1, -1, or nothing when said
    both ways); else counts.

    One counting pass, as without negation: a feature's plain and negated occurrences are
    counted as columns 2j and 2j+1, which the sort within each row leaves side by side;
    then each pair is folded into column j.
    """
    import scipy.sparse as sp

    n, m = shape
    fast = compiled()
    if fast is not None and max(len(rows), n, 2 * m) < 2**31 - 1:
        return rows_matrix(fast, rows, cols, sign < 0, shape, binary)
    wide = count_matrix(rows, cols.astype(np.int64) * 2 + (sign < 0), (n, 2 * m))
    idx, indptr = wide.indices, wide.indptr
    value = wide.data if not binary else np.ones(len(idx), np.float32)
    value[(idx & 1) == 1] *= -1
    half = idx >> 1
    # a plain entry followed by the negated entry of the same feature, in the same row
    pair = np.zeros(len(idx), dtype=bool)
    pair[:-1] = half[1:] == half[:-1]
    ends = indptr[1:-1]
    pair[ends[ends > 0] - 1] = False  # never across rows
    pair = np.flatnonzero(pair)
    value[pair + 1] += value[pair]
    keep = np.ones(len(idx), dtype=bool)
    keep[pair] = False
    keep &= value != 0
    kept = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(keep, out=kept[1:])
    return sp.csr_matrix((value[keep], half[keep].astype(idx.dtype), kept[indptr]),
                         shape=shape)


def class_log_ratio(counts: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Naive-Bayes input value of each feature for K classes: the largest ``|r|`` of the
    one-vs-rest log-count ratios ``r_k`` (each class against the others pooled), float32.

    For two classes ``r_1 = -r_0`` is NBSVM's ratio, and ``|r|`` trains exactly as ``r``
    does: W1 starts at zero, every update is odd in the input: a row only changes sign."""
    counts = np.asarray(counts, dtype=np.float64)
    smoothed = counts + alpha
    per_class = smoothed.sum(axis=0)
    rest = counts.sum(axis=1, keepdims=True) - counts + alpha
    rest_total = counts.sum() - counts.sum(axis=0) + alpha * len(counts)
    r = np.log(smoothed / per_class) - np.log(rest / rest_total)
    return np.abs(r).max(axis=1).astype(np.float32) if r.size else np.zeros(0, np.float32)
