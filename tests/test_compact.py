"""Compact models: folded, pruned, float16; the same predictions and explanations."""
import numpy as np
import pytest
from corpus import NEGATIVE, POSITIVE

from sentiment.cli import main
from sentiment.errors import SentimentError
from sentiment.model.compact import compact
from sentiment.model.explain import explain, similar
from sentiment.model.model import Model
from sentiment.training.job import Settings, train

TEXTS = (POSITIVE + NEGATIVE) * 5
LABELS = ([1] * len(POSITIVE) + [0] * len(NEGATIVE)) * 5
QUICK = Settings(epochs=10, lr=0.05, min_count=1, ngrams=2, val_fraction=0, patience=0)
PROBES = TEXTS[:8] + ["great but boring", "a film", "unknown words only"]


@pytest.fixture(scope="module", params=["nb", "binary", "count"])
def model(request):
    return train(TEXTS, LABELS, QUICK.with_(values=request.param), progress=False)


def test_folding_keeps_the_logits(model, tmp_path):
    small = compact(model, None)
    full = model.net.logits(model.encode(PROBES))
    folded = small.net.logits(small.encode(PROBES))
    np.testing.assert_allclose(folded, full, rtol=2e-3, atol=2e-3)  # float16 weights
    assert small.predict(PROBES) == model.predict(PROBES)
    # the compact model's sums of weights (no sparse matrix) are the network's logits
    np.testing.assert_allclose(small.logits(PROBES), folded, rtol=1e-6, atol=1e-6)
    again = Model.load(small.save(tmp_path / "c.npz"))
    assert again.compact and not again.vocab.has_counts
    np.testing.assert_array_equal(again.net.logits(again.encode(PROBES)), folded)
    with np.load(tmp_path / "c.npz") as z:
        assert z["W1"].dtype == np.float16
        assert not {"vocab_pos", "vocab_neg", "vocab_order", "vocab_words"} & set(z.files)


def test_pruning_keeps_the_strongest_features(model):
    small = compact(model, 5)
    assert len(small.vocab) == 5
    weights = np.abs(compact(model, None).net.W1[:, 0])
    kept = np.abs(small.net.W1[:, 0])
    assert kept.min() >= np.sort(weights)[-5] - 1e-6


def test_a_compact_model_explains_and_finds_neighbours(model, tmp_path):
    again = Model.load(compact(model, None).save(tmp_path / "c.npz"))
    e = explain(again, POSITIVE[0])
    assert e.bias + e.contributions.sum() == pytest.approx(e.logit, abs=1e-9)
    assert e.label == model.predict([POSITIVE[0]])[0] and "wonderful" in e.features
    nb = similar(again, "great", 3, min_count=50)
    assert len(nb.words) == 3 and "no counts" in nb.note


def test_k_classes_fold_too(tmp_path):
    texts = TEXTS + ["an average film, nothing special"] * 10
    labels = ["pos" if y else "neg" for y in LABELS] + ["meh"] * 10
    model = train(texts, labels, QUICK, multiclass=True, progress=False)
    small = Model.load(compact(model, None).save(tmp_path / "k.npz"))
    np.testing.assert_allclose(small.net.logits(small.encode(texts)),
                               model.net.logits(model.encode(texts)), rtol=2e-3, atol=2e-3)
    assert small.classes == model.classes


def test_relu_does_not_fold():
    model = train(TEXTS, LABELS, QUICK.with_(activation="relu", init_scale=0.1),
                  progress=False)
    with pytest.raises(SentimentError, match="relu hidden units does not fold"):
        compact(model)


def test_compress_command(model, tmp_path, capsys):
    path = model.save(tmp_path / "full.npz")
    assert main(["compress", "--model", str(path), "--max-features", "0"]) == 0
    out = tmp_path / "full-compact.npz"
    assert out.exists() and out.stat().st_size < path.stat().st_size
    assert "one float16 weight each" in capsys.readouterr().err
    assert Model.load(out).predict(PROBES) == model.predict(PROBES)
    assert main(["compress", "--model", str(path), "--output", str(path)]) == 2
    assert "--output" in capsys.readouterr().err


def test_the_builtin_model_answers_from_python_and_the_command_line(capsys):
    import sentiment

    assert sentiment.predict(["What a wonderful, moving film.",
                              "A dull, lifeless mess."]) == ["positive", "negative"]
    model = sentiment.load()
    assert model.compact and list(model.classes_) == ["negative", "positive"]
    proba = model.predict_proba(["great", "awful", "a film"])
    assert proba.shape == (3, 2) and np.allclose(proba.sum(axis=1), 1)
    with pytest.raises(TypeError, match=r"wrap it in a list: \['great'\]"):
        model.predict("great")
    assert main(["predict", "What a wonderful, moving film."]) == 0  # no model anywhere
    out, err = capsys.readouterr()
    assert out.startswith("positive\t") and "using the built-in model (trained on IMDB" in err
    assert main(["predict", "-q", "A dull, lifeless mess."]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("negative\t") and err == ""


def test_version(capsys):
    import sentiment

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"sentiment {sentiment.__version__}\n"


def test_predict_answers_each_stdin_line_as_it_arrives(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "SENTIMENT_HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "sentiment", "predict", "-q"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        proc.stdin.write("What a wonderful, moving film.\n")
        proc.stdin.flush()
        import select
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no answer while stdin stays open"
        first = proc.stdout.readline()  # answered while stdin is still open
        proc.stdin.write("A dull, lifeless mess.\n")
        proc.stdin.close()
        rest = proc.stdout.read()
    finally:
        proc.kill() if proc.poll() is None else None
    assert first.startswith("positive\t") and rest.startswith("negative\t")
    assert proc.wait(timeout=30) == 0
