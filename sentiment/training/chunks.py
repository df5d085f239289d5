"""Pass 1 on one chunk of labelled texts: hash, count per text, keep.

:func:`hash_rows` is the part that touches nothing shared (a worker thread runs it while
the next chunk is read): the n-grams hashed (:func:`~sentiment.features.tokens.hash_corpus`),
numbered (:func:`~sentiment.features.counting.factorize`) and counted once per text.
:func:`keep_rows` is the rest, in chunk order: the counts added to the
:class:`~sentiment.features.counting.FeatureCounter`, the rows kept in the
:class:`~sentiment.training.spool.Spool` as local codes.
"""
from __future__ import annotations

import time

import numpy as np

from ..features.counting import factorize
from ..features.negation import signed
from ..features.tokens import hash_corpus, join_tokens
from ..features.vocab import Vocabulary, count_matrix, signed_matrix
from ..native.loops import compiled, rows_arrays
from .settings import Settings
from .spool import Spool, csr


def count_rows(texts, labels, counted, is_val, settings: Settings, counter, spool: Spool,
               c: int, times: dict, threads=None) -> tuple[int, list[str]]:
    """Pass 1 for chunk ``c``: its training rows counted (with a ``counter``) and kept, its
    validation rows (``is_val``) kept apart; return the entries and the spool keys made."""
    return keep_rows(hash_rows(texts, labels, counted, is_val, settings,
                               counter is not None, c, threads), counter, spool, c, times)


def hash_rows(texts, labels, counted, is_val, settings: Settings, counting: bool, c: int,
              threads=None) -> list[tuple[str, dict]]:
    """The work of pass 1 on chunk ``c`` that touches nothing shared (a worker thread may
    do it while the next chunk is read): its training and validation rows hashed and
    counted per text, as :func:`hash_part` says."""
    parts = []
    for part, held_out in (("train", ~is_val), ("val", is_val)):
        if held_out.any():
            rows = np.flatnonzero(held_out)
            parts.append((part, hash_part([texts[i] for i in rows], labels[rows],
                                          counted[rows], settings,
                                          counting and part == "train", c, threads)))
    return parts


def keep_rows(parts: list[tuple[str, dict]], counter, spool: Spool, c: int,
              times: dict) -> tuple[int, list[str]]:
    """The rest of pass 1 on chunk ``c``, in chunk order: its ``parts`` (from
    :func:`hash_rows`) counted into ``counter`` and kept in ``spool``; return the entries
    and the spool keys made."""
    nnz, keys = 0, []
    for part, made in parts:
        times["tokenize"] += made["seconds"][0]
        times["vocabulary"] += made["seconds"][1]
        if counter is not None and "entries" in made:
            counter.add(made["entries"], made["bounds"], *made["texts"])
            spool.put(f"text{c}", made["text"])
        spool.put(f"{part}-chunk{c}", made["chunk"])
        nnz += len(made["chunk"]["indices"])
        keys.append(f"{part}-chunk{c}")
    return nnz, keys


def hash_part(texts, labels, counted, settings: Settings, counting: bool, c: int,
              threads=None) -> dict:
    """Pass 1 for the training (or validation) rows of chunk ``c``: hash them and count
    their features per text. Returns the ``chunk`` to keep (local codes, ``labels``), the
    ``seconds`` spent (tokenize, count) and, when ``counting`` (``counted`` > 0 counts as
    positive), the ``entries`` for the counter with their ``bounds``, the ``texts`` (positive,
    negative) and the ``text`` to read words back from."""
    t = time.perf_counter()
    corpus = hash_corpus(texts, settings.ngrams, keep_text=counting,
                         workers=threads, negation=settings.negation)
    t1 = time.perf_counter()
    hashes, sign = signed(corpus.hashes, settings.negation, inplace=True)
    codes, uniques, first, bounds = factorize(hashes)
    corpus.hashes = hashes = None
    shape = (corpus.n_texts, len(uniques))
    # counts per text; with negation, said plainly minus said negated
    binary = settings.values != "count"
    counts = np.zeros(2 * len(uniques), np.int32) if counting else None
    if (fast := compiled()) is not None:
        # the arrays alone (no scipy: the test-reading child), each text's columns in any
        # order: pass 2 maps them to vocabulary columns, whose order they do not keep;
        # the texts of each feature counted by class on the way
        X = rows_arrays(fast, corpus.rows, codes, None if sign is None else sign < 0, shape,
                        binary, positive=(counted > 0).view(np.uint8) if counting else None,
                        counts=counts)
    elif sign is None:
        X = count_matrix(corpus.rows, codes, shape)
    else:
        X = signed_matrix(corpus.rows, codes, sign, shape, binary=binary)
    made = {}
    if counting:
        if fast is None:
            positive = np.repeat(counted > 0, np.diff(X.indptr))
            if sign is not None:  # a negated feature is evidence for the other class
                positive ^= X.data < 0
            counts[:len(uniques)] = np.bincount(X.indices[positive], minlength=len(uniques))
            counts[len(uniques):] = np.bincount(X.indices[~positive], minlength=len(uniques))
        pos, neg = counts[:len(uniques)], counts[len(uniques):]
        # the first token of each feature, and what to read its words back from
        tokens, n = corpus.feature_tokens(first)
        made["entries"] = {"hash": uniques, "pos": pos, "neg": neg, "n": n.astype(np.int8),
                           "chunk": np.full(len(uniques), c, np.int32),
                           "token": tokens.astype(np.int32)}
        made.update(bounds=bounds, texts=(int((counted > 0).sum()), int((counted <= 0).sum())),
                    text={"data": np.frombuffer(token_lines(corpus), np.uint8)})
    del codes, corpus, first
    chunk = {"indptr": X.indptr, "indices": X.indices, "uniques": uniques,
             "labels": np.asarray(labels, np.int8)}
    if settings.values == "count":
        chunk["data"] = X.data
    elif sign is not None:
        chunk["sign"] = np.sign(X.data).astype(np.int8)
    made.update(chunk=chunk, seconds=(t1 - t, time.perf_counter() - t1))
    return made


def token_lines(corpus) -> bytes:
    """Every token of a corpus hashed with its text, one per line: what the words of its
    features are read back from (:func:`sentiment.training.pipeline.words_of`), token t on line t.
    The text with two offsets per token was half again as many bytes, all of it written
    to the cache of a large file."""
    n = len(corpus.starts)
    return join_tokens(corpus.data, corpus.starts, corpus.ends, np.arange(n),
                       np.ones(n, np.int64))


def hash_texts(texts, settings: Settings) -> dict:
    """``texts`` as pass 1 keeps them, counting nothing: each text's distinct features as
    codes into the chunk's own distinct hashes (``settings``: a model's n-grams, negation
    and input values); :func:`chunk_logits` scores them."""
    none = np.zeros(len(texts), np.int8)
    return hash_part(texts, none, none, settings, False, 0, threads=1)["chunk"]


def chunk_matrix(vocab: Vocabulary, values: str, chunk: dict):
    """A chunk as pass 1 keeps it (local codes, :func:`hash_part`) as the CSR matrix of
    ``vocab``'s columns with input ``values``; unknown features dropped."""
    return csr(*chunk_arrays(vocab, values, chunk), len(vocab))


def chunk_arrays(vocab: Vocabulary, values: str, chunk: dict):
    """:func:`chunk_matrix`'s CSR arrays (indptr, indices, data), without scipy."""
    ids = vocab.lookup(chunk["uniques"])
    if compiled() is not None:  # the input values in the same pass
        return chunk_columns(chunk, ids, vocab.nb_scale() if values == "nb" else None)
    indptr, indices, data = chunk_columns(chunk, ids)
    return indptr, indices, vocab.input_values(values, data, indices).astype(np.float32,
                                                                      copy=False)


def chunk_columns(chunk: dict, ids: np.ndarray, scale: np.ndarray | None = None):
    """A chunk's CSR arrays over the columns ``ids`` gives its distinct hashes (-1: the
    feature is dropped), its values as kept: presence (signed) or counts, float32; times
    ``scale`` of their column if given. One pass in the compiled loops."""
    fast = compiled()
    if fast is not None and chunk["indptr"].dtype == chunk["indices"].dtype == np.int32:
        n = len(chunk["indices"])
        indptr = np.empty(len(chunk["indptr"]), np.int64)
        indices, data = np.empty(n, np.int32), np.empty(n, np.float32)
        nnz = fast.chunk_columns(chunk["indptr"], chunk["indices"],
                                 np.ascontiguousarray(ids, dtype=np.int64), chunk.get("data"),
                                 chunk.get("sign"), scale, indptr, indices, data)
        for a in (indices, data):  # sized for every entry: shrunk in place
            a.resize(nnz, refcheck=False)
        return indptr, indices, data
    new = ids[chunk["indices"]]
    present = np.flatnonzero(new >= 0)
    indptr = np.searchsorted(present, chunk["indptr"]).astype(np.int64)
    indices = new[present].astype(np.int32)
    data = chunk["data"][present] if "data" in chunk else np.ones(len(present), np.float32)
    if "sign" in chunk:
        data = data * chunk["sign"][present]
    if scale is not None:
        data = data * scale[indices]
    return indptr, indices, data.astype(np.float32, copy=False)


def chunk_logits(model, chunk: dict) -> np.ndarray:
    """``model``'s logits of texts kept as :func:`hash_texts` keeps them with its
    settings: equal to ``model.logits(texts)``, by one lookup of the chunk's distinct
    hashes."""
    indptr, indices, data = chunk_arrays(model.vocab, model.values, chunk)
    return model.net.logits_arrays(data, indices, indptr)
