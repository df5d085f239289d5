"""The vocabulary on a six-review corpus: exact words, counts, pruning and CSR encoding."""
import numpy as np
import pytest

from sentiment.features.vocab import Vocabulary
from sentiment.training.pipeline import fit_vocabulary

SIX = ["a great movie, great fun!",
       "loved it, a great story",
       "the best movie I've seen",
       "a bad movie, bad acting",
       "boring story, I hated it",
       "the worst movie ever!"]
LABELS = [1, 1, 1, 0, 0, 0]

# (word, positive texts, negative texts), in order of first appearance
COUNTS = [("a", 2, 1), ("great", 2, 0), ("movie", 2, 2), ("fun", 1, 0), ("!", 1, 1),
          ("loved", 1, 0), ("it", 1, 1), ("story", 1, 1), ("the", 1, 1), ("best", 1, 0),
          ("i've", 1, 0), ("seen", 1, 0), ("bad", 0, 1), ("acting", 0, 1), ("boring", 0, 1),
          ("i", 0, 1), ("hated", 0, 1), ("worst", 0, 1), ("ever", 0, 1)]


def test_fit_counts_each_word_once_per_text():
    vocab = fit_vocabulary(SIX, LABELS)[0]
    assert list(zip(vocab.words, vocab.pos_counts.tolist(), vocab.neg_counts.tolist())) \
        == COUNTS
    assert (vocab.n_pos, vocab.n_neg) == (3, 3)
    assert len(vocab) == 19


@pytest.mark.parametrize("min_count, cutoff, words", [
    (2, 0.0, ["a", "great", "movie", "!", "it", "story", "the"]),
    (3, 0.0, ["a", "movie"]),
    (5, 0.0, []),
    # polarity = log((pos + 1) / (neg + 1)) here (3 texts a side): 1.10, 0.69 or 0.41
    (1, 0.5, ["great", "fun", "loved", "best", "i've", "seen", "bad", "acting", "boring",
              "i", "hated", "worst", "ever"]),
    (1, 1.0, ["great"]),
    (2, 0.5, ["great"]),
    (1, 1.2, []),
])
def test_min_count_and_polarity_cutoff(min_count, cutoff, words):
    vocab = fit_vocabulary(SIX, LABELS, min_count=min_count, polarity_cutoff=cutoff)[0]
    assert vocab.words == words
    assert len(vocab.hashes) == len(vocab.pos_counts) == len(words)


def test_polarity_is_the_balanced_log_ratio():
    vocab = fit_vocabulary(SIX, LABELS, min_count=2)[0]
    expected = np.log([3 / 2, 3 / 1, 3 / 3, 2 / 2, 2 / 2, 2 / 2, 2 / 2])
    np.testing.assert_allclose(vocab.polarity(), expected)


def test_log_ratio_is_nbsvm_r_whole_or_for_some_features():
    vocab = fit_vocabulary(SIX, LABELS, min_count=2)[0]  # a great movie ! it story the
    pos, neg = np.array([2, 2, 2, 1, 1, 1, 1]) + 1.0, np.array([1, 0, 2, 1, 1, 1, 1]) + 1.0
    expected = np.log(pos / pos.sum()) - np.log(neg / neg.sum())
    np.testing.assert_allclose(vocab.log_ratio(), expected, rtol=1e-6)
    some = np.array([6, 1, 1, 0])
    assert np.array_equal(vocab.log_ratio(indices=some), vocab.log_ratio()[some])


ENCODE = ["great great movie!", "nothing known here", "", "A bad movie, the end."]


def test_encode_is_exact_csr():
    vocab = fit_vocabulary(SIX, LABELS, min_count=2)[0]  # a great movie ! it story the
    X = vocab.encode(ENCODE)
    assert X.shape == (4, 7)
    assert X.indptr.tolist() == [0, 3, 3, 3, 6]
    assert X.indices.tolist() == [1, 2, 3, 0, 2, 6]
    assert X.data.tolist() == [1.0] * 6
    assert vocab.encode(ENCODE, binary=False).data.tolist() == [2.0, 1, 1, 1, 1, 1]


@pytest.mark.parametrize("texts", [
    ENCODE,
    ["great movie", ""],  # empty texts at the end
    ["", "", "great"],
    ["", ""],
    ["nothing", "known"],
    [],
    SIX,
])
@pytest.mark.parametrize("binary", [True, False])
def test_encode_and_encode_arrays_agree(texts, binary):
    vocab = fit_vocabulary(SIX, LABELS, min_count=2)[0]
    X = vocab.encode(texts, binary=binary)
    data, indices, indptr, known = vocab.encode_arrays(texts, binary=binary)
    assert X.shape == (len(texts), len(vocab))
    assert X.indptr.tolist() == indptr.tolist()
    assert X.indices.tolist() == indices.tolist()
    assert X.data.tolist() == data.tolist()
    assert known.tolist() == np.diff(indptr).tolist()


def test_bigrams_have_exact_ids():
    vocab = fit_vocabulary(["good movie", "bad movie"], [1, 0], ngrams=2)[0]
    # unigrams first, then bigrams, each in order of first appearance
    assert vocab.words == ["good", "movie", "bad", "good movie", "bad movie"]
    assert vocab.pos_counts.tolist() == [1, 1, 0, 1, 0]
    assert vocab.neg_counts.tolist() == [0, 1, 1, 0, 1]
    X = vocab.encode(["bad movie good", "movie good movie"])
    # "movie good" is not in the vocabulary; "good movie" (id 3) is
    assert X.indptr.tolist() == [0, 4, 7]
    assert X.indices.tolist() == [0, 1, 2, 4, 0, 1, 3]


def test_lookup_small_and_large_paths_agree():
    vocab = fit_vocabulary(SIX, LABELS)[0]
    rng = np.random.default_rng(0)
    probe = np.concatenate([vocab.hashes, rng.integers(0, 2**63, 60_000, dtype=np.uint64)])
    rng.shuffle(probe)
    parts = np.array_split(probe, 4)

    def searched(part):  # a vocabulary that looked nothing up yet: a binary search
        vocab.forget_lookups()
        return vocab.lookup(part)

    small = np.concatenate([searched(part) for part in parts])
    large = vocab.lookup(probe)  # more than 50,000 hashes: the hash table (or pandas)
    assert large.tolist() == small.tolist()
    # past 50,000 hashes in all, small lookups use the table too (pass 2's validation
    # chunks, a server's requests)
    vocab.forget_lookups()
    assert np.concatenate([vocab.lookup(part) for part in parts]).tolist() == small.tolist()
    assert sorted(large[large >= 0].tolist()) == list(range(len(vocab)))


def test_fit_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="6 texts but 5 labels"):
        fit_vocabulary(SIX, LABELS[:5])[0]


def test_arrays_round_trip():
    vocab = fit_vocabulary(SIX, LABELS, ngrams=2, min_count=2)[0]
    again = Vocabulary.from_arrays(vocab.to_arrays(), vocab.meta())
    assert again.words == vocab.words
    assert again.hashes.tolist() == vocab.hashes.tolist()
    assert again.encode(SIX).toarray().tolist() == vocab.encode(SIX).toarray().tolist()
    assert repr(again) == ("Vocabulary(size=8, ngrams=2, min_count=2, "
                           "polarity_cutoff=0.0)")
