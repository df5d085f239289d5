"""Every feature is its own: the hash mixes every bit before negation takes the lowest, and
text is normalized as people write it (HTML entities, NFKC). Older models' rules still read."""
import numpy as np
import pytest

from sentiment.features.folding import normalize, normalized_bytes
from sentiment.features.negation import signed
from sentiment.features.rules import CURRENT, RULES
from sentiment.features.tokens import hash_corpus, tokenize
from sentiment.features.vocab import Vocabulary
from sentiment.model.model import Model
from sentiment.nn.network import Network


def feature(text: str, rule=CURRENT, negation: int = 2) -> int:
    """The feature id (sign bit dropped) of a one-token text."""
    corpus = hash_corpus([text], 1, negation=negation, rule=rule)
    return int(signed(corpus.hashes, negation)[0][0])


PAIRS = [("good", "food"), ("loved", "moved"), ("love", "move"), ("the", "she"),
         ("to", "so"), ("4", "5"), ("8", "9"), ("most", "lost")]


@pytest.mark.parametrize("a, b", PAIRS)
def test_words_that_differ_in_one_bit_are_distinct_features(a, b, loops):
    assert feature(a) != feature(b)
    assert feature(a, RULES["poly64-1+negation-words"]) == \
        feature(b, RULES["poly64-1+negation-words"])  # what the old rule merged


def test_the_food_and_the_good_score_differently_with_the_built_in_model():
    import sentiment

    model = sentiment.load()
    food, good = model.predict_proba(["the food", "the good"])[:, 1]
    assert food != good


@pytest.mark.parametrize("written, meant", [
    ("didn&#39;t like it", "didn't like it"), ("fish &amp; chips", "fish & chips"),
    ("&lt;br /&gt;great", "<br />great"), ("caf&eacute;", "café"), ("&#x27;", "'"),
    ("ｇｏｏｄ", "good"), ("ＧＯＯＤ ｍｏｖｉｅ！", "good movie!"), ("ﬁne", "fine"),
    ("it&#8217;s", "it's"), ("AT&T and &notice", "at&t and &notice")])
def test_text_is_normalized_as_people_mean_it(written, meant, loops):
    assert tokenize(written) == tokenize(meant)
    got = hash_corpus([written, meant], 2, negation=2)
    rows = [got.hashes[got.rows == r] for r in (0, 1)]
    assert np.array_equal(*rows)


@pytest.mark.parametrize("written, meant", [
    ("sooooo gooood", "soo good"), ("SOOOO", "soo"), ("nooo", "noo"), ("ÀÀÀÀh", "ààh"),
    ("哈哈哈哈", "哈哈"), ("มากกกกก", "มากก"), ("sooo<br />ooo", "soo oo"),
    ("ｇｏｏｏｏｄ", "good")])
def test_a_letter_written_three_times_or_more_is_written_twice(written, meant, loops):
    assert tokenize(written) == tokenize(meant)
    got = hash_corpus([written, meant], 2, negation=2)
    assert np.array_equal(got.hashes[got.rows == 0], got.hashes[got.rows == 1])


@pytest.mark.parametrize("text", ["1111", "!!!", "hahahaha", ":)))", "zz", "....", "ดีีีี",
                                  "q\u0301\u0301\u0301", "\u0e48\u0e48\u0e48", "___"])
def test_what_is_not_a_letters_run_is_left_alone(text, loops):
    """Digits, punctuation, marks (Thai's vowel signs, combining accents) and runs of two
    stay as written, in every implementation."""
    assert normalize(text) == text
    assert normalized_bytes([text]) == text.encode()


def test_the_older_rule_keeps_elongations_as_they_were(loops):
    old = RULES["mix64-3"]
    assert tokenize("sooo", old) == ["sooo"] and tokenize("sooo") == ["soo"]
    assert feature("sooo", old) != feature("soo", old)


def test_the_older_rule_keeps_entities_as_they_were():
    assert tokenize("didn&#39;t", RULES["poly64-1"]) == ["didn", "39", "t"]


def test_no_two_distinct_imdb_features_share_a_hash(imdb_dir):
    """Every distinct word and bigram of IMDB train (negated or not: the sign is a bit
    of its own) is a feature of its own; the rule before merged 17,127 of 1.5 million."""
    import pandas as pd

    texts = pd.read_csv(imdb_dir / "train.csv.gz")["review"].tolist()
    words, grams = set(), set()
    for text in texts:
        tokens = tokenize(text)
        words.update(tokens)
        grams.update(zip(tokens, tokens[1:]))
    hashes = signed(hash_corpus(texts, 2, negation=2).hashes, 2)[0]
    assert len(np.unique(hashes)) == len(words) + len(grams)


def old_model(tmp_path, rule):
    """A model file of two features, "good" (+1) and "bad" (-1), hashed by ``rule``."""
    hashes = hash_corpus(["good", "bad"], 1, rule=rule).hashes
    vocab = Vocabulary(hashes, ["good", "bad"], [1, 0], [0, 1], 1, 1, rule=rule)
    net = Network.from_params({"W1": np.array([[1.0], [-1.0]], np.float32),
                               "b1": np.zeros(1, np.float32), "w2": np.ones(1, np.float32),
                               "b2": np.zeros(1, np.float32)}, "linear")
    return Model(vocab, net, {"ngrams": 1, "values": "binary"}).save(tmp_path / "old.npz")


@pytest.mark.parametrize("name", sorted(RULES))
def test_a_model_of_any_known_rule_scores_as_it_was_made(tmp_path, name):
    back = Model.load(old_model(tmp_path, RULES[name]))
    assert back.vocab.rule == RULES[name]
    np.testing.assert_allclose(back.logits(["good", "bad", "plain"]).ravel(), [1, -1, 0])
    # "goood" is "good" only under a rule that shortens elongations
    assert back.logits(["goood"]).ravel()[0] == (1 if RULES[name].elongation else 0)

