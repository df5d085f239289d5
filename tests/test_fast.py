"""The compiled loops (sentiment.native._fast) do what the numpy/scipy path does: the same
weights after training, the same logits, and clear errors instead of a crash on arrays
that do not fit together."""
import os
from contextlib import contextmanager

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from sentiment.features.counting import factorize
from sentiment.features.rules import RULES
from sentiment.features.tokens import _hash_chunk, normalize, normalized_bytes
from sentiment.features.vocab import count_matrix, signed_matrix
from sentiment.native import loops as fast
from sentiment.nn.network import Network
from sentiment.training.job import Settings, fit

pytestmark = pytest.mark.skipif(fast._compiled is None,
                                reason="the compiled loops (sentiment.native._fast) were not built")


@contextmanager
def pure(on: bool):
    """The numpy/scipy path (on) or the compiled loops, for the block."""
    old = os.environ.get("SENTIMENT_PURE")
    os.environ["SENTIMENT_PURE"] = "1" if on else "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SENTIMENT_PURE")
        else:
            os.environ["SENTIMENT_PURE"] = old


def data(n=300, features=2000, seed=0, binary=False, index=np.int32, density=0.01):
    """Reviews whose label follows the sign of a hidden linear score of their features
    (a vocabulary large next to a batch, as text has: where Adagrad's dense buffer does
    not pay)."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, features, density=density, random_state=seed, format="csr",
                  dtype=np.float32)
    if binary:
        X.data[:] = 1
    else:
        X.data[:] = rng.standard_normal(X.nnz).astype(np.float32)
    X.indptr = X.indptr.astype(index)
    X.indices = X.indices.astype(index)
    truth = rng.standard_normal(features)
    y = (X @ truth + 0.1 * rng.standard_normal(n) > 0).astype(np.float32)
    return X, y


def trained(monkeypatch, pure: bool, X, y, settings, X_val=None, y_val=None):
    monkeypatch.setenv("SENTIMENT_PURE", "1" if pure else "0")
    net = Network(X.shape[1], settings.hidden, np.random.default_rng(settings.seed),
                  activation=settings.activation, init_scale=0.1)
    history = fit(net, X, y, settings, np.random.default_rng(settings.seed), X_val=X_val,
                  y_val=y_val, progress=False)
    return net, history


@pytest.mark.parametrize("settings", [
    Settings(),
    Settings(activation="relu"),
    Settings(optimizer="sgd", lr=0.1),
    Settings(hidden=5, batch_size=7),
    Settings(hidden=1, batch_size=1000, optimizer="sgd", lr=0.1),
], ids=["defaults", "relu", "sgd", "hidden5-batch7", "hidden1-one-batch"])
@pytest.mark.parametrize("binary", [False, True], ids=["values", "binary"])
def test_compiled_epochs_train_the_numpy_weights(monkeypatch, settings, binary):
    monkeypatch.setattr(fast, "SLICE_ROWS", 40)  # several calls per epoch, as on big files
    X, y = data(binary=binary)
    Xv, yv = data(n=80, seed=1, binary=binary)
    settings = settings.with_(epochs=3, patience=0)
    calls = []
    real = fast._compiled.epoch
    monkeypatch.setattr(fast._compiled, "epoch", lambda *a: calls.append(1) or real(*a))
    a, ha = trained(monkeypatch, False, X, y, settings, Xv, yv)
    assert calls, "the compiled epoch was not used"
    calls.clear()
    b, hb = trained(monkeypatch, True, X, y, settings, Xv, yv)
    assert not calls
    for name, value in a.params().items():
        np.testing.assert_allclose(value, b.params()[name], rtol=2e-4, atol=2e-6,
                                   err_msg=name)
    for ea, eb in zip(ha, hb):
        assert ea.loss == pytest.approx(eb.loss, rel=1e-4)
        assert ea.val_loss == pytest.approx(eb.val_loss, rel=1e-4)
        assert ea.train_accuracy == eb.train_accuracy


@pytest.mark.parametrize("hidden,batch,relu,adagrad,ordered", [
    (8, 128, False, True, True),  # the defaults
    (8, 7, True, True, False),
    (5, 16, True, False, True),
    (1, 1000, False, False, False),  # one batch larger than the rows
    (3, 1, False, True, True),  # batches of one row: the second thread has none
])
@pytest.mark.parametrize("binary", [False, True], ids=["values", "binary"])
def test_compiled_epoch_on_two_threads_equals_one_bit_for_bit(hidden, batch, relu, adagrad,
                                                              ordered, binary):
    X, y = data(n=500, features=3000, binary=binary, index=np.int64, density=0.02)
    rng = np.random.default_rng(3)
    order = rng.permutation(X.shape[0]).astype(np.int64) if ordered else None
    start = {"W1": rng.standard_normal((X.shape[1], hidden)).astype(np.float32) * 0.1,
             "b1": rng.standard_normal(hidden).astype(np.float32) * 0.1,
             "w2": rng.standard_normal(hidden).astype(np.float32),
             "b2": np.zeros(1, np.float32),
             "acc": np.full(X.shape[1], 0.1, np.float32)}
    ys = y if order is None else y[order]
    done = []
    for threads in (1, 2, 1):
        w = {k: v.copy() for k, v in start.items()}
        logits = np.zeros(X.shape[0], np.float32)
        fast._compiled.epoch(X.indptr, X.indices, X.data, order, ys, w["W1"], w["b1"], w["w2"],
                             w["b2"], w["acc"], logits, 0.05, batch, relu, adagrad, threads)
        done.append((w, logits))
    (one, z1), (two, z2), _ = done
    assert not np.array_equal(one["W1"], start["W1"])  # it trained
    for name in start:
        assert np.array_equal(one[name], two[name]), name
    assert np.array_equal(z1, z2)


def test_an_epoch_whose_threads_change_between_slices_trains_the_same(monkeypatch):
    # train --test's child frees the other core within an epoch: the slices after it
    # take two threads, the weights those of one
    from types import SimpleNamespace

    monkeypatch.setattr(fast, "SLICE_ROWS", 100)
    X, y = data(n=1000, features=3000, binary=True, index=np.int64, density=0.02)
    rng = np.random.default_rng(5)
    order = rng.permutation(X.shape[0]).astype(np.int64)
    start = {"W1": rng.standard_normal((X.shape[1], 8)).astype(np.float32) * 0.1,
             "b1": np.zeros(8, np.float32), "w2": rng.standard_normal(8).astype(np.float32),
             "b2": np.zeros(1, np.float32)}
    said = iter([1, 1, 1, 2, 2, 1, 2, 2, 2, 2])
    asked = []
    done = []
    for threads in (1, lambda: asked.append(next(said)) or asked[-1]):
        w = {k: v.copy() for k, v in start.items()}
        net = SimpleNamespace(activation="linear", **w)
        logits = np.zeros(X.shape[0], np.float32)
        fast.epoch(fast._compiled, net, X, order, y[order], np.full(3000, 0.1, np.float32),
                   0.05, logits, 20, lambda rows: None, threads)
        done.append((w, logits))
    assert asked == [1, 1, 1, 2, 2, 1, 2, 2, 2, 2]  # once a slice (of 100 rows)
    (one, z1), (mixed, z2) = done
    assert not np.array_equal(one["W1"], start["W1"])
    for name in start:
        assert np.array_equal(one[name], mixed[name]), name
    assert np.array_equal(z1, z2)


def test_epochs_take_two_threads_where_two_cores_are_theirs(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert fast.epoch_threads() == fast.epoch_threads(2) == fast.epoch_threads(8) == 2
    assert fast.epoch_threads(1) == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert fast.epoch_threads() == fast.epoch_threads(2) == 1


@pytest.mark.parametrize("index", [np.int32, np.int64])
@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_compiled_logits_equal_the_sparse_product(monkeypatch, index, activation):
    X, _ = data(index=index)
    X.indptr[5:] = X.indptr[5:] - (X.indptr[5] - X.indptr[4])  # row 4 empty
    X = sp.csr_matrix((X.data[:X.indptr[-1]], X.indices[:X.indptr[-1]], X.indptr),
                      shape=X.shape)
    net = Network(X.shape[1], 8, np.random.default_rng(0), activation=activation,
                  init_scale=0.3)
    net.b1[:] = 0.05
    monkeypatch.setenv("SENTIMENT_PURE", "0")
    got = net.logits(X)
    z = X.toarray().astype(np.float64) @ net.W1 + net.b1
    if activation == "relu":
        z = np.maximum(z, 0)
    np.testing.assert_allclose(got, z @ net.w2 + net.b2[0], rtol=1e-5, atol=1e-5)
    monkeypatch.setenv("SENTIMENT_PURE", "1")
    np.testing.assert_allclose(net.logits(X), got, rtol=1e-5, atol=1e-6)


def test_bad_arrays_raise_instead_of_crashing():
    X, y = data(n=20)
    net = Network(X.shape[1], 4, np.random.default_rng(0))
    out = np.zeros(20, np.float32)
    args = [net.W1, net.b1, net.w2, net.b2]
    bad = X.indices.copy()
    bad[3] = X.shape[1]  # one past the last feature
    with pytest.raises(IndexError, match="outside"):
        fast._compiled.logits(X.indptr, bad, X.data, *args, False, out)
    with pytest.raises(TypeError, match="float32"):
        fast._compiled.logits(X.indptr, X.indices, X.data.astype(np.float64), *args, False,
                              out)
    with pytest.raises(ValueError, match="inconsistent"):
        fast._compiled.logits(X.indptr, X.indices, X.data, *args, False, out[:5])
    W1 = net.W1.copy()
    acc = np.ones(X.shape[1], np.float32)
    with pytest.raises(IndexError):
        fast._compiled.epoch(X.indptr, bad, X.data, None, y, net.W1, net.b1, net.w2,
                             net.b2, acc, out, 0.1, 4, False, True)
    with pytest.raises(IndexError, match="row outside"):
        fast._compiled.epoch(X.indptr, X.indices, X.data, np.array([0, 20]), y[:2], net.W1,
                             net.b1, net.w2, net.b2, acc, out, 0.1, 4, False, True)
    assert np.array_equal(net.W1, W1)  # checked before any weight moved


def test_pure_switch(monkeypatch):
    monkeypatch.setenv("SENTIMENT_PURE", "1")
    assert fast.compiled() is None and "SENTIMENT_PURE" in fast.describe()
    monkeypatch.setenv("SENTIMENT_PURE", "0")
    assert fast.compiled() is fast._compiled and fast.describe() == "compiled loops"


# -- pass 1: tokens, n-grams, negation, factorize, counts ---------------------------------

PIECES = st.one_of(
    st.sampled_from(list("aZ09'!? \x00<br/>.,;:()\"nt\u2019\u201c\u00c9\u0130&#;\u00bd\u00b5"
                         "\u00b4\u00a0\uff47\uff2f")),
    st.sampled_from(["not ", "n't ", "never ", "but ", "<br />", "<BR>", "don't ", "can't ",
                     "enough ", "couldn't ", "the ", "it ", "a very ", "&#39;", "&amp;",
                     "&lt;br /&gt;", "&#x27;", "&notice", "&AMP;", "&#0;", ":)", ":-(",
                     ":'(", ";D", ":p", ":d's", "<3", "</3", ")))", "((", "^_^", "-__-", ">_<",
                     "质量", "，", "。", "ホテル", "สวัสดี", "😀", "👍🏽", "\u200d", "\ufe0f", "«",
                     "\u00d7", "ｇ", "ooo", "OoOo", "ÉÉÉ", "哈哈哈", "ววว", "111"]),
    st.characters())
TEXTS = st.lists(st.lists(PIECES, max_size=12).map("".join), max_size=8)


@hyp_settings(max_examples=200, derandomize=True, deadline=None)
@given(TEXTS, st.integers(1, 3), st.sampled_from([0, 1, 3]), st.booleans(),
       st.sampled_from(sorted(RULES)))
def test_compiled_hashing_equals_numpy(texts, n, negation, keep_text, rule):
    rule = RULES[rule]
    with pure(False):
        got = _hash_chunk(texts, n, keep_text, negation, rule)
    with pure(True):
        want = _hash_chunk(texts, n, keep_text, negation, rule)
    assert set(got) == set(want) | {"whole", "blocks"}
    assert np.array_equal(got["whole"][0], np.concatenate(want["hashes"]))
    assert np.array_equal(got["whole"][1], np.concatenate(want["rows"]))
    for key, value in want.items():
        if isinstance(value, list):
            assert len(got[key]) == len(value), key
            for a, b in zip(got[key], value):
                assert np.array_equal(a, b) and a.dtype == b.dtype, key
        elif isinstance(value, bytes):
            assert got[key] == value
        else:
            assert np.array_equal(got[key], value) and got[key].dtype == value.dtype, key


@hyp_settings(max_examples=200, derandomize=True, deadline=None)
@given(TEXTS)
def test_normalizing_text_by_text_equals_normalizing_the_joined_texts(texts):
    joined = "\x00".join(t.replace("\x00", " ") for t in texts)
    assert normalized_bytes(texts) == normalize(joined).encode("utf-8", "surrogatepass")


LATIN = st.lists(st.lists(st.one_of(
    st.sampled_from(["<br />", "<BR/>", "<bR>", "<br", "<br<br />/>", "<br\x00/>", "<br\xa0/>",
                     "<", "a", "Q", "`", "\x00", " ", "aaa", "\xe9\xc9\xe9", "ÿÿÿ", "\xdf" * 3]),
    st.characters(max_codepoint=255), st.sampled_from(["\u2019", "\u2014", "\u0130"])),
    max_size=10).map("".join), max_size=6)


@hyp_settings(max_examples=300, derandomize=True, deadline=None)
@given(LATIN)
def test_compiled_normalizing_equals_pythons(texts):
    """The compiled loops normalize a one-byte (ASCII, Latin-1) text themselves: as
    str.lower, the break replacements and the folds do, in that order."""
    with pure(False):
        got = normalized_bytes(texts)
    with pure(True):
        want = normalized_bytes(texts)
    assert got == want


def test_compiled_normalizing_knows_every_latin1_character():
    every = [chr(c) for c in range(256)] + ["".join(chr(c) for c in range(256)) * 2] + \
        [chr(c) * 3 for c in range(256)]  # runs of each: a letter's kept twice
    with pure(False):
        assert normalized_bytes(every) == b"\x00".join(
            normalize(t.replace("\x00", " ")).encode() for t in every)


WIDE = st.lists(st.lists(st.one_of(
    st.sampled_from(["<br />", "<BR/>", "<br\u2014/>", "&amp;", "&", "A", "\u2019", "\u2026",
                     "\u00e9", "\u00bd", "\u00b4", "\u0301", "\u3000", "\uff21", "\u30fc",
                     "\u304b\u3099", "\u0e33", "\u0e38\u0e48", "\u0e48\u0e38", "\u0e4d\u0e32",
                     "\uac00\u11a8", "\u1100\u1161", "\uf900", "\U0001f44d\U0001f3fd", "\x00"]),
    st.characters(min_codepoint=0x0E00, max_codepoint=0x0E5F),
    st.characters(min_codepoint=0x3000, max_codepoint=0x30FF),
    st.characters()), max_size=10).map(lambda p: "".join(p) + "\u4e2d"), max_size=6)


@hyp_settings(max_examples=300, derandomize=True, deadline=None)
@given(WIDE)
def test_compiled_normalizing_of_wide_texts_equals_pythons(texts):
    """Texts past Latin-1 whose characters NFKC and lower-casing leave alone (Chinese,
    Japanese, Thai, Korean, emoji) are normalized by the compiled loops themselves."""
    for rule in RULES.values():
        with pure(False):
            got = normalized_bytes(texts, rule)
        with pure(True):
            want = normalized_bytes(texts, rule)
        assert got == want


def test_compiled_normalizing_knows_every_character():
    """Every code point of the first two planes, alone and after a Thai mark and a Han
    character (a text of two bytes a character, or four)."""
    every = [chr(c) for c in range(0x20000) if not 0xD800 <= c < 0xE000]
    texts = [c + "\u4e2d" for c in every] + ["\u0e38" + c for c in every] + \
        [c * 3 + "\u4e2d" for c in every]  # a run of each: a letter's is kept twice
    with pure(False):
        got = normalized_bytes(texts)
    with pure(True):
        want = normalized_bytes(texts)
    assert got == want


@pytest.mark.parametrize("n", [0, 1, 5, 20_000])
def test_compiled_factorize_equals_pandas(n):
    rng = np.random.default_rng(n)
    keys = rng.integers(0, 2**64, size=max(n // 3, 1), dtype=np.uint64)[
        rng.integers(0, max(n // 3, 1), size=n)]
    with pure(False):
        got = factorize(keys)
    with pure(True):
        want = factorize(keys)
    for a, b in zip(got, want):
        assert np.array_equal(a, b)
        assert a.dtype == b.dtype


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("binary", [False, True])
def test_compiled_counts_equal_scipys(signed, binary):
    rng = np.random.default_rng(3)
    n, shape = 5000, (40, 300)
    rows = np.sort(rng.integers(0, shape[0], n)).astype(np.int32)
    cols = rng.integers(0, shape[1], n).astype(np.int32)
    sign = np.where(rng.random(n) < 0.3, -1, 1).astype(np.int8)

    def made():
        if signed:
            return signed_matrix(rows, cols, sign, shape, binary)
        return count_matrix(rows, cols, shape)

    with pure(True):
        want = made()
    with pure(False):
        ordered = made()
    # what pass 1 keeps: each row's columns in order of first occurrence
    arrays = fast.rows_arrays(fast._compiled, rows, cols, sign < 0 if signed else None,
                              shape, binary)
    loose = sp.csr_matrix((arrays.data, arrays.indices, arrays.indptr), shape=shape)
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(ordered, name), getattr(want, name)), name
    assert not np.array_equal(loose.indices, want.indices)  # first occurrence order
    loose.sort_indices()
    assert (loose != want).nnz == 0 and np.array_equal(loose.indptr, want.indptr)
    if signed:
        assert (want.data < 0).any() and (want.data > 0).any()


def test_compiled_lookup_equals_the_pandas_index():
    rng = np.random.default_rng(5)
    hashes = rng.integers(0, 2**64, 70_000, dtype=np.uint64)
    queries = np.concatenate([hashes[rng.integers(0, len(hashes), 60_000)],
                              rng.integers(0, 2**64, 30_000, dtype=np.uint64),
                              hashes[:1]])
    from sentiment.features.vocab import Vocabulary

    with pure(False):
        got = Vocabulary(hashes, [""] * len(hashes), None, None, 1, 1).lookup(queries)
    with pure(True):
        want = Vocabulary(hashes, [""] * len(hashes), None, None, 1, 1).lookup(queries)
    assert np.array_equal(got, want) and (got >= 0).sum() == 60_001
    assert np.array_equal(got[:60_000], want[:60_000])
    with pytest.raises(ValueError, match="power of two"):
        fast._compiled.lookup_table(hashes, np.empty(1000, np.int32))


@hyp_settings(max_examples=100, derandomize=True, deadline=None)
@given(TEXTS, st.integers(1, 3))
def test_compiled_join_tokens_equals_numpy(texts, n):
    from sentiment.features.tokens import hash_corpus, join_tokens

    corpus = hash_corpus(texts, n, keep_text=True, workers=1)
    rng = np.random.default_rng(len(corpus.hashes))
    positions = rng.permutation(len(corpus.hashes))[:50]
    first, k = corpus.feature_tokens(positions)
    with pure(False):
        got = join_tokens(corpus.data, corpus.starts, corpus.ends, first, k)
    with pure(True):
        want = join_tokens(corpus.data, corpus.starts, corpus.ends, first, k)
    assert got == want
    if len(first):
        with pytest.raises(IndexError):
            fast._compiled.join_tokens(corpus.data, corpus.starts, corpus.ends,
                                       first + len(corpus.starts), k)


def test_compiled_merge_counts_equals_numpy():
    from sentiment.features.counting import FeatureCounter

    rng = np.random.default_rng(11)
    pool = rng.integers(0, 2**64, 3000, dtype=np.uint64)

    def chunk(c):
        keys = pool[rng.integers(0, len(pool), 2500)]
        _, uniques, first, bounds = factorize(keys)
        m = len(uniques)
        return ({"hash": uniques, "pos": rng.integers(0, 5, m).astype(np.int32),
                 "neg": rng.integers(0, 5, m).astype(np.int32),
                 "n": rng.integers(1, 4, m).astype(np.int8),
                 "chunk": np.full(m, c, np.int32), "token": first.astype(np.int32)}, bounds)

    chunks = [chunk(c) for c in range(6)]
    tables, thresholds = [], []
    for on in (False, True):
        with pure(on):
            counter = FeatureCounter(capacity=2000)  # small: merges prune on the way
            for c, (entries, bounds) in enumerate(chunks):
                counter.add(entries, bounds, 10, 10)
                if c % 2:
                    counter.merge()
            tables.append(counter.finish(min_count=2))
            thresholds.append(counter.threshold)
    assert thresholds[0] == thresholds[1] > 1
    for k in tables[1]:
        assert np.array_equal(tables[0][k], tables[1][k]), k
        assert tables[0][k].dtype == tables[1][k].dtype, k
    assert len(tables[0]["hash"]) > 100


@hyp_settings(max_examples=60, derandomize=True, deadline=None)
@given(TEXTS, st.integers(1, 3), st.sampled_from([0, 3]), st.sampled_from([8, 1 << 22]))
def test_compiled_corpus_equals_numpy(texts, n, negation, chunk_bytes):
    """Whole corpora, in one part or several (small chunks), in one array or joined."""
    from unittest import mock

    from sentiment.features.tokens import hash_corpus

    with mock.patch("sentiment.features.tokens._CHUNK_BYTES", chunk_bytes):
        with pure(False):
            got = hash_corpus(texts, n, keep_text=True, workers=1, negation=negation)
        with pure(True):
            want = hash_corpus(texts, n, keep_text=True, workers=1, negation=negation)
    assert np.array_equal(got.n_tokens, want.n_tokens)
    # the text may be cut in other chunks (the compiled loops take bigger ones), which
    # orders the features otherwise: the same features, each with the same text, hash,
    # first token, n and words
    def features(corpus):
        everything = np.arange(len(corpus.hashes))
        first, k = corpus.feature_tokens(everything)
        order = np.lexsort((k, first))
        words = corpus.words_bytes(everything).split(b"\n") if len(everything) else []
        return (corpus.hashes[order], corpus.rows[order], first[order], k[order],
                [words[i] for i in order])

    for a, b in zip(features(got), features(want)):
        assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b


@pytest.mark.parametrize("values", ["binary", "count"])
@pytest.mark.parametrize("negation", [0, 3])
def test_compiled_pass1_counts_equal_numpy(negation, values):
    """Pass 1's counts of each feature's texts by class (the compiled rows_matrix counts
    them as it keeps each row's features) are numpy's bincounts."""
    from sentiment.training.chunks import hash_part

    rng = np.random.default_rng(negation)
    words = [f"w{i}" for i in range(60)] + ["not", "never", "good", "bad", ".", "!"]
    texts = [" ".join(rng.choice(words, rng.integers(0, 40))) for _ in range(300)]
    counted = rng.integers(0, 2, len(texts)).astype(np.int8)
    settings = Settings(ngrams=2, negation=negation, values=values)
    made = {}
    for on in (False, True):
        with pure(on):
            made[on] = hash_part(texts, counted, counted, settings, True, 0, threads=1)
    got, want = made[False]["entries"], made[True]["entries"]
    assert set(got) == set(want)
    for key in want:
        assert np.array_equal(got[key], want[key]) and got[key].dtype == want[key].dtype, key
    assert (want["neg"] > 0).any() and (want["pos"] > 0).any()


@pytest.mark.parametrize("values", ["nb", "binary", "count"])
@pytest.mark.parametrize("negation", [0, 3])
def test_compiled_chunk_columns_equal_numpy(negation, values):
    """Pass 2 on one chunk (its codes as vocabulary columns, signed, scaled by the
    naive-Bayes ratios) in one compiled pass: numpy's arrays to the last bit."""
    from sentiment.training.chunks import chunk_arrays, hash_texts
    from sentiment.training.job import train

    rng = np.random.default_rng(negation)
    words = [f"w{i}" for i in range(80)] + ["not", "never", "good", "bad", ".", "!"]
    texts = [" ".join(rng.choice(words, rng.integers(0, 40))) for _ in range(300)]
    settings = Settings(ngrams=2, negation=negation, values=values, min_count=3, epochs=1,
                        val_fraction=0, patience=0)
    model = train(texts[:200], [i % 2 for i in range(200)], settings, progress=False)
    chunk = hash_texts(texts, settings)
    with pure(False):
        got = chunk_arrays(model.vocab, values, chunk)
    with pure(True):
        want = chunk_arrays(model.vocab, values, chunk)
    for a, b in zip(got, want):
        assert np.array_equal(a, b) and a.dtype == b.dtype
    assert len(got[1]) < len(chunk["indices"])  # some features unknown, dropped


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("values", ["binary", "count"])
@pytest.mark.parametrize("negation", [0, 3])
def test_compiled_compact_logits_equal_numpy(negation, values, classes):
    """A compact model's logits over many features (feature_sums: lookups, each feature
    once per text and sign, weights summed in one pass) are numpy's to the last bit."""
    from sentiment.model.compact import compact
    from sentiment.training.job import train

    rng = np.random.default_rng(negation + classes)
    words = [f"w{i}" for i in range(400)] + ["not", "never", "good", "bad", ".", "!"]
    texts = [" ".join(rng.choice(words, rng.integers(0, 80))) for _ in range(1500)]
    labels = [f"c{i % classes}" for i in range(len(texts))] if classes > 2 \
        else [i % 2 for i in range(len(texts))]
    settings = Settings(epochs=2, min_count=1, ngrams=2, negation=negation, values=values,
                        activation="linear", val_fraction=0, patience=0, lr=0.05)
    model = compact(train(texts, labels, settings, multiclass=classes > 2, progress=False),
                    None)
    assert len(model.vocab.hash(texts).hashes) > 50_000  # past the compiled path's floor
    with pure(False):
        got = model.logits(texts)
    with pure(True):
        want = model.logits(texts)
    assert got.shape == ((len(texts), classes) if classes > 2 else (len(texts),))
    assert np.array_equal(got, want) and np.abs(got).max() > 0


def test_malformed_arrays_are_refused_not_read_out_of_bounds():
    c = fast._compiled
    i32 = np.zeros(0, np.int32)
    with pytest.raises(ValueError, match="at least 0"):
        c.rows_matrix(i32, i32, None, -1, 5, False, False, np.zeros(0, np.int32), i32,
                      np.zeros(0, np.float32))
    hashes = np.arange(1, 11, dtype=np.uint64)
    out = np.empty(3, np.int64)
    c.lookup(np.zeros(32, np.int32), hashes, np.array([5, 99, 1], np.uint64), out)
    assert out.tolist() == [-1, -1, 0]  # a table with no empty slot: probed once round
    c.lookup(np.full(32, 1000, np.int32), hashes, np.array([5], np.uint64), out[:1])
    assert out[0] == -1  # columns past the hashes are not read
    starts, ends = np.array([0, 2], np.int32), np.array([1, 3], np.int32)
    with pytest.raises(IndexError):
        c.join_tokens(b"a b", starts, ends, np.array([2**62], np.int64),
                      np.array([2**62], np.int64))
    with pytest.raises(ValueError, match="at least 0"):
        c.interleave_lines((), -1)
    table = np.empty(32, np.int32)
    c.lookup_table(hashes, table)
    sums = np.zeros((2, 1)), np.zeros((2, 1))
    with pytest.raises(ValueError, match="out of range"):  # a text past the sums
        c.feature_sums(table, hashes, hashes[:2], np.array([0, 2], np.int32), False, True,
                       np.ones(10, np.float32), np.full(10, -1, np.int32), *sums)
    with pytest.raises(ValueError, match="inconsistent"):  # stamps for one sign only
        c.feature_sums(table, hashes, hashes[:2], np.array([0, 1], np.int32), True, True,
                       np.ones(10, np.float32), np.full(10, -1, np.int32), *sums)
    i32, ids = np.array([0, 2], np.int32), np.array([1, -1], np.int64)
    outs = np.empty(2, np.int64), np.empty(2, np.int32), np.empty(2, np.float32)
    with pytest.raises(IndexError, match="out of range"):  # a code past the ids
        c.chunk_columns(np.array([0, 2], np.int32), np.array([0, 5], np.int32), ids, None,
                        None, None, *outs)
    with pytest.raises(ValueError, match="inconsistent"):  # rows past the codes
        c.chunk_columns(np.array([0, 9], np.int32), i32, ids, None, None, None, *outs)
    fields = (hashes, np.ones(10, np.int32), np.ones(10, np.int32), np.ones(10, np.int8),
              np.zeros(10, np.int32), np.zeros(10, np.int32), np.zeros(257, np.int64))
    fields[6][1:] = 12  # bounds past the entries
    with pytest.raises(ValueError, match="bounds outside"):
        c.prune_counts(fields, 10, 5, 1)
    with pytest.raises(ValueError, match="bounds outside"):
        c.prune_counts(fields, 12, 5, 1)  # more entries than the arrays hold
    X, y = data(n=20)
    net = Network(X.shape[1], 4, np.random.default_rng(0))
    bad = X.indptr.copy()
    bad[3] = bad[-1] + 10  # row 2 ends past the non-zeros
    logits = np.zeros(20, np.float32)
    with pytest.raises(IndexError, match="outside"):
        c.epoch(bad, X.indices, X.data, np.array([2], np.int64), y[:1], net.W1, net.b1,
                net.w2, net.b2, np.ones(X.shape[1], np.float32), logits, 0.1, 4, False, True)


def test_a_small_vocabulary_keeps_adagrads_dense_buffer(monkeypatch):
    """Stage 5's case: the vocabulary small next to a batch trains through numpy's dense
    buffer, which is faster there than a step per non-zero."""
    calls = []
    real = fast._compiled.epoch
    monkeypatch.setattr(fast._compiled, "epoch", lambda *a: calls.append(1) or real(*a))
    X, y = data(features=60, density=0.1)
    trained(monkeypatch, False, X, y, Settings(epochs=1, patience=0))
    assert not calls
    trained(monkeypatch, False, *data(), Settings(epochs=1, patience=0))
    assert calls


@given(st.lists(st.text(max_size=40), max_size=8))
def test_compiled_text_hashes_equal_numpy(texts):
    """The data report's hash of each text (duplicates, the test file's overlap): the
    compiled loop and its twin, on texts of one, two and four bytes a character."""
    from sentiment.features.texthashes import text_hashes, text_hashes_numpy

    texts = texts + ["", "\xe9t\xe9", "\u4e2d\u6587", "\ud800x", "\U0001f600 ok", "x" * 17]
    got = text_hashes(texts)
    assert np.array_equal(got, text_hashes_numpy(texts))
    assert len(np.unique(got)) == len(set(texts))


def test_compiled_prune_past_the_small_histogram_equals_numpys_rule():
    """More entries than fit that are counted 65,536 times or more: the compiled prune's
    full histogram, its threshold by FeatureCounter.prune's numpy rule."""
    rng = np.random.default_rng(5)
    n = 3000
    pos = rng.integers(0, 150_000, n).astype(np.int32)
    neg = rng.integers(0, 800_000, n).astype(np.int32)
    total = pos.astype(np.int64) + neg
    size = 200  # of 3,000: the threshold lands far past 65,536
    hist = np.bincount(np.minimum(total, 1 << 20))
    at_least = np.cumsum(hist[::-1])[::-1]
    fits = np.flatnonzero(at_least <= size)
    want = int(fits[0]) if len(fits) else len(hist)
    assert want > 1 << 16
    hashes = np.sort(rng.integers(0, 2**64, n, dtype=np.uint64))
    bounds = np.searchsorted(hashes >> np.uint64(56), np.arange(257)).astype(np.int64)
    table = (hashes.copy(), pos.copy(), neg.copy(), np.ones(n, np.int8), np.zeros(n, np.int32),
             np.arange(n, dtype=np.int32), bounds)
    kept, threshold = fast._compiled.prune_counts(table, n, size, 1)
    assert threshold == want
    keep = total >= want
    assert kept == keep.sum() <= size
    assert table[0][:kept].tolist() == hashes[keep].tolist()
    assert table[5][:kept].tolist() == np.flatnonzero(keep).tolist()
    assert table[6][-1] == kept
