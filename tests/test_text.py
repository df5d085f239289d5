"""The tokenizer: the readable regex (`tokenize`) and the vectorized hasher agree exactly."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentiment.features.tokens import hash_corpus, ngrams, normalize, tokenize
from sentiment.training.pipeline import fit_vocabulary

TRICKY = [
    ("Great movie!<br />Didn't like the END...", ["great", "movie", "!", "didn't", "like",
                                                  "the", "end"]),
    ("'quoted' and rock 'n' roll", ["quoted", "and", "rock", "n", "roll"]),
    ("the actors' lines, it's", ["the", "actors", "lines", "it's"]),
    ("a''b o'' ''", ["a", "b", "o"]),
    ("rock'n'roll", ["rock'n'roll"]),
    ("WOW!?!", ["wow", "!", "?", "!"]),
    ("Good.<BR/>Bad<br>worse<br /><br />", ["good", "bad", "worse"]),
    ("naïve CAFÉ über", ["naïve", "café", "über"]),
    ("don’t ‘quote’ me", ["don't", "quote", "me"]),
    ("“Superb”—really…", ["superb", "really"]),
    ("3.5/10, 10/10", ["3", "5", "10", "10", "10"]),
    ("emoji 😀 here", ["emoji", "😀", "here"]),
    ("tabs\tand\r\nnewlines\n", ["tabs", "and", "newlines"]),
    ("nul\x00inside\x00", ["nul", "inside"]),
    ("\x00", []),
    ("", []),
    ("   ...---   ", []),
    ("!", ["!"]),
]
TEXTS = [text for text, _ in TRICKY]


@pytest.mark.parametrize("text, tokens", TRICKY)
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_normalize_lowercases_drops_breaks_and_folds_typography():
    assert normalize("A<br />B’C“D”") == "a b'c d "


def test_ngrams_joins_neighbours():
    assert ngrams(["a", "b", "c"], 2) == ["a", "b", "c", "a b", "b c"]
    assert ngrams(["a", "b", "c"], 3) == ["a", "b", "c", "a b", "b c", "a b c"]
    assert ngrams([], 2) == []


def test_hash_corpus_counts_the_same_tokens_as_tokenize():
    corpus = hash_corpus(TEXTS)
    assert corpus.n_tokens.tolist() == [len(tokens) for _, tokens in TRICKY]
    assert corpus.feature_counts().sum() == sum(len(tokens) for _, tokens in TRICKY)


def test_vocabulary_words_are_the_regex_tokens():
    vocab = fit_vocabulary(TEXTS, [0] * len(TEXTS), ngrams=1)[0]
    expected = list(dict.fromkeys(tok for _, tokens in TRICKY for tok in tokens))
    assert vocab.words == expected


def test_hash_corpus_bigrams_never_cross_texts():
    corpus = hash_corpus(["a b", "c", "", "d e f"], n=2)
    # unigrams then bigrams of each text: 2+1, 1+0, 0, 3+2
    assert corpus.n_tokens.tolist() == [2, 1, 0, 3]
    assert corpus.feature_counts().tolist() == [3, 1, 0, 5]


def test_same_token_same_hash_in_any_text():
    corpus = hash_corpus(["good film", "film good", "GOOD!"])
    h = corpus.hashes.tolist()
    assert h[0] == h[3] == h[4] and h[1] == h[2] and h[0] != h[1]


def test_hash_corpus_of_no_texts():
    corpus = hash_corpus([], n=2)
    assert corpus.n_texts == 0 and len(corpus.hashes) == 0


@pytest.mark.parametrize("text", ["\ud800", "x\udcff", "a\udcffb c"])
def test_lone_surrogates_count_like_tokenize(text):
    # predict reads stdin with surrogateescape: invalid UTF-8 bytes become lone surrogates
    assert hash_corpus([text]).n_tokens.tolist() == [len(tokenize(text))]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.text(alphabet=st.one_of(
    st.sampled_from(list("aZ09'!? \x00<br/>.,\u2019\u201c\u00c9\u0130")),
    st.characters())), max_size=6))
def test_hash_corpus_agrees_with_tokenize_on_any_text(texts):
    corpus = hash_corpus(texts)
    assert corpus.n_tokens.tolist() == [len(tokenize(t)) for t in texts]


def test_threads_hash_chunks_to_the_same_corpus(monkeypatch):
    import sentiment.features.tokens as text_module

    monkeypatch.setattr(text_module, "_CHUNK_BYTES", 64)  # many chunks from a small corpus
    texts = [f"review {i}: it was great, wasn't it? not bad at all {i % 7}!" for i in range(200)]
    one = hash_corpus(texts, n=3, keep_text=True, workers=1)
    two = hash_corpus(texts, n=3, keep_text=True, workers=2)
    assert len(one.blocks) > 10
    for field in ("hashes", "rows", "n_tokens", "blocks", "starts", "ends"):
        assert getattr(one, field).tolist() == getattr(two, field).tolist(), field
    assert one.data == two.data
    assert one.words(range(len(one.hashes))) == two.words(range(len(two.hashes)))


def test_ngram_words_equal_the_readable_reference():
    # the vectorized n-gram words (rebuilt from byte spans) against ngrams(tokenize(t))
    expected = list(dict.fromkeys(g for t in TEXTS for g in ngrams(tokenize(t), 3)))
    vocab = fit_vocabulary(TEXTS, [0] * len(TEXTS), ngrams=3)[0]
    assert sorted(vocab.words) == sorted(expected)
