"""explain: contributions plus bias are the model's logit; similar: the nearest rows."""
import json

import numpy as np
import pytest
from corpus import NEGATIVE, POSITIVE

from sentiment.cli import main
from sentiment.errors import SentimentError
from sentiment.model.explain import explain, feature_rows, rank_ratio, similar
from sentiment.training.job import Settings, train

TEXTS = (POSITIVE + NEGATIVE) * 5
LABELS = ([1] * len(POSITIVE) + [0] * len(NEGATIVE)) * 5
PROBE = ["a wonderful film, but boring and awful music", "loved it! great fun", "",
         "no known zzzz words", "terrible terrible terrible, the worst"]
QUICK = Settings(min_count=1, epochs=10, lr=0.05, val_fraction=0.0)
VARIANTS = {"linear nb": QUICK,
            "relu nb": QUICK.with_(activation="relu", init_scale=0.1),
            "counts": QUICK.with_(values="count"),
            "dropout": QUICK.with_(dropout=0.5, values="binary")}


@pytest.fixture(scope="module", params=list(VARIANTS))
def model(request):
    return train(TEXTS, LABELS, VARIANTS[request.param], progress=False)


@pytest.fixture(scope="module")
def default_model():
    return train(TEXTS, LABELS, QUICK, progress=False)


@pytest.mark.parametrize("text", PROBE)
def test_contributions_plus_bias_is_the_logit(model, text):
    e = explain(model, text)
    logit = float(model.net.logits(model.encode([text]))[0])
    assert e.bias + e.contributions.sum() == pytest.approx(e.logit, abs=1e-12)
    assert e.logit == pytest.approx(logit, abs=1e-5)
    assert e.probability == pytest.approx(model.predict_proba([text]).max(), abs=1e-5)
    assert list(e.contributions) == sorted(e.contributions, reverse=True)
    assert len(set(e.features)) == len(e.features)  # each known feature once


def test_a_linear_contribution_is_value_times_row_through_w2(default_model):
    m = default_model
    e = explain(m, "wonderful music")
    j = m.vocab.words.index("wonderful")
    i = e.features.index("wonderful")
    assert e.values[i] == pytest.approx(m.vocab.nb_scale()[j])
    assert e.contributions[i] == pytest.approx(m.vocab.nb_scale()[j] * m.net.W1[j] @ m.net.w2,
                                               rel=1e-5)
    assert e.bias == pytest.approx(m.net.b1 @ m.net.w2 + m.net.b2[0], rel=1e-5)
    assert set(e.features) == {"wonderful", "music", "wonderful music"}


def test_the_words_that_push_each_way(default_model):
    e = explain(default_model, "a wonderful film, but awful music")
    pos, neg = e.top(2)
    assert "wonderful" in [e.features[i] for i in pos]
    assert "awful" in [e.features[i] for i in neg]


def test_explain_json_parts_add_up_through_the_cli(default_model, tmp_path, capsys):
    path = default_model.save(tmp_path / "m.npz")
    assert main(["explain", "a wonderful film, but boring", "--model", str(path), "--json",
                 "--top", "2"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert len(d["positive"]) <= 2 and len(d["negative"]) <= 2
    total = (d["bias"] + d["other"]["contribution"]
             + sum(f["contribution"] for f in d["positive"] + d["negative"]))
    assert total == pytest.approx(d["logit"], abs=1e-5)
    assert d["label"] == ("positive" if d["logit"] > 0 else "negative")
    assert main(["explain", "a wonderful film, but boring", "--model", str(path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[-2].endswith("(bias)") and table[-1].endswith("= logit")
    assert float(table[-1].split()[0]) == pytest.approx(d["logit"], abs=1e-4)


# -- similar -------------------------------------------------------------------------------

def _cosine_order(rows, j, candidates):
    q = rows[j]
    cos = rows[candidates] @ q / (np.linalg.norm(rows[candidates], axis=1) * np.linalg.norm(q))
    return [candidates[i] for i in np.argsort(-cos, kind="stable")]


def test_similar_returns_the_nearest_rows_by_cosine():
    m = train(TEXTS, LABELS, QUICK, progress=False)
    rng = np.random.default_rng(0)
    m.net.W1 = rng.standard_normal(m.net.W1.shape).astype(np.float32)  # full rank
    words = m.vocab.words
    j = words.index("great")
    wonderful = words.index("wonderful")
    m.net.W1[wonderful] = m.net.W1[j] / m.vocab.nb_scale()[wonderful] * m.vocab.nb_scale()[j]
    nb = similar(m, "great", top=5, min_count=1)
    assert nb.metric == "cosine" and nb.note == ""
    assert nb.words[0] == "wonderful" and nb.scores[0] == pytest.approx(1.0, abs=1e-6)
    unigrams = [i for i, w in enumerate(words) if " " not in w and i != j]
    expected = _cosine_order(feature_rows(m), j, unigrams)[:5]
    assert nb.words == [words[i] for i in expected]


def test_similar_by_dot_on_a_rank_one_layer(default_model):
    m = default_model  # linear units, W1 from zero, no dropout: rank one
    rows = feature_rows(m)
    assert rank_ratio(rows) < 1e-3
    nb = similar(m, "wonderful", top=3, min_count=1)
    assert nb.metric == "dot" and "rank one" in nb.note
    weights = rows @ m.net.w2
    assert all(w > 0 for w in nb.weights)  # the words that push the same way as the query
    assert nb.weights.tolist() == sorted(nb.weights.tolist(), reverse=True)
    assert nb.weights[0] == pytest.approx(max(weights[i] for i, w in enumerate(m.vocab.words)
                                              if " " not in w and w != "wonderful"),
                                          rel=1e-5)
    forced = similar(m, "wonderful", top=3, min_count=1, metric="cosine")
    assert "noise" in forced.note


def test_similar_filters_and_ngrams(default_model):
    nb = similar(default_model, "great", top=50, min_count=6)
    counts = default_model.vocab.pos_counts + default_model.vocab.neg_counts
    index = {w: i for i, w in enumerate(default_model.vocab.words)}
    assert all(counts[index[w]] >= 6 and " " not in w for w in nb.words)
    assert "great" not in nb.words
    with_ngrams = similar(default_model, "WONDERFUL music", top=200, min_count=1, ngrams=True)
    assert with_ngrams.word == "wonderful music"
    assert any(" " in w for w in with_ngrams.words)


@pytest.mark.parametrize("word, message", [
    ("zzzz", r"'zzzz' \(read as 'zz'\) is not in the model's vocabulary"),
    ("qq", "'qq' is not in the model's vocabulary"),
    ("...", "has no word in it"),
    ("a wonderful film and", "is a 4-gram; this model knows features of up to 3 words"),
    ("great", "no other single word was seen in at least 1000 training texts; lower "
              "--min-count"),
])
def test_similar_refuses_unknown_words(default_model, word, message):
    with pytest.raises(SentimentError, match=message):
        similar(default_model, word, min_count=1000)


def test_similar_json_through_the_cli(default_model, tmp_path, capsys):
    path = default_model.save(tmp_path / "m.npz")
    assert main(["similar", "awful", "--model", str(path), "--top", "3", "--min-count", "1",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["word"] == "awful" and d["metric"] == "dot" and len(d["neighbours"]) == 3
    assert all(n["weight"] < 0 for n in d["neighbours"])
    assert main(["similar", "qzx", "--model", str(path)]) == 2
    assert capsys.readouterr().err.startswith("error: 'qzx' is not in the model's")
