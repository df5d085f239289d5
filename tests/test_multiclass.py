"""K classes and star ratings: the softmax output, label schemes, and the commands."""
import csv
import json

import numpy as np
import pytest
from corpus import NEGATIVE, POSITIVE

from sentiment.cli import main
from sentiment.errors import SentimentError
from sentiment.features.vocab import Vocabulary, class_log_ratio
from sentiment.io.labels import ClassTable, canonical, natural_key, parse_cuts, star_cuts
from sentiment.model.explain import explain
from sentiment.model.model import Model
from sentiment.nn.network import Network, log_loss_logits
from sentiment.training.job import Settings, fit, train

NEUTRAL = ["an average film, some good parts and some slow parts",
           "it was fine, nothing special either way",
           "a mixed bag, watchable once",
           "okay acting, an ordinary story"]
TEXTS = (POSITIVE + NEUTRAL + NEGATIVE) * 6
RATINGS = (["10"] * 4 + ["5"] * 4 + ["1"] * 4) * 6
QUICK = Settings(epochs=15, lr=0.05, min_count=1, val_fraction=0, patience=0)


def test_softmax_gradients_match_finite_differences():
    """One full-batch SGD step moves every parameter by lr x the gradient of the mean
    cross-entropy; compare each with central differences of the loss."""
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    X = sp.random(12, 7, density=0.4, format="csr", random_state=1, dtype=np.float32)
    X.data[:] = rng.normal(size=X.nnz).astype(np.float32)
    y = rng.integers(0, 4, size=12).astype(np.float32)
    net = Network(7, 3, rng, init_scale=0.5, n_classes=4)
    net.b1[:] = rng.normal(size=3)
    net.b2[:] = rng.normal(size=4)
    before = {k: v.astype(np.float64) for k, v in net.params().items()}
    lr = 1e-3
    settings = Settings(batch_size=64, epochs=1, optimizer="sgd", lr=lr, lr_decay=False,
                        val_fraction=0, patience=0, hidden=3)
    fit(net, X, y, settings, np.random.default_rng(2), progress=False)
    moved = {k: (before[k] - v) / lr for k, v in net.params().items()}

    def loss(params):
        z = np.asarray(X.toarray().astype(np.float64) @ params["W1"]) + params["b1"]
        return log_loss_logits(z @ params["w2"] + params["b2"], y)

    eps = 1e-5
    for name, value in before.items():
        numeric = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            hi = {k: v.copy() for k, v in before.items()}
            lo = {k: v.copy() for k, v in before.items()}
            hi[name][i] += eps
            lo[name][i] -= eps
            numeric[i] = (loss(hi) - loss(lo)) / (2 * eps)
        np.testing.assert_allclose(moved[name], numeric, atol=2e-3, err_msg=name)


def test_class_log_ratio_of_two_classes_is_nbsvm_ratio_in_size():
    pos, neg = np.array([5, 0, 2, 9]), np.array([1, 3, 2, 0])
    vocab = Vocabulary(np.arange(4, dtype=np.uint64), list("abcd"), pos, neg, 10, 10)
    np.testing.assert_allclose(class_log_ratio(np.stack([neg, pos], axis=1)),
                               np.abs(vocab.log_ratio()), rtol=1e-6)


def test_classes_sort_naturally_and_numbers_are_canonical():
    assert sorted(["10", "2", "1", "b", "A"], key=natural_key) == ["1", "2", "10", "A", "b"]
    assert canonical(" 8.0 ") == "8" and canonical("-1") == "-1" and canonical("x") == "x"
    table = ClassTable()
    codes, _ = table.codes(["10", "2", "2.0", "1"])
    assert table.names == ["10", "2", "1"] and codes.tolist() == [0, 1, 1, 2]
    assert table.sorted_names() == ["1", "2", "10"]
    assert table.remap()[codes].tolist() == [2, 1, 1, 0]


@pytest.mark.parametrize("scale, cuts", [((1, 5), (2, 4)), ((1, 10), (4, 7)),
                                         ((0, 100), (40, 60)), ((0, 10), (4, 6))])
def test_star_cut_points(scale, cuts):
    assert star_cuts(*scale) == cuts


def test_star_cuts_from_the_command_line():
    assert parse_cuts("2:4") == (2, 4) and parse_cuts("4.5:6") == (4.5, 6)
    for bad in ("4:2", "3", "a:b", "1:2:3"):
        with pytest.raises(SentimentError, match="LOW:HIGH with LOW < HIGH"):
            parse_cuts(bad)


@pytest.fixture(scope="module")
def three():
    return train(TEXTS, RATINGS, QUICK, multiclass=True, progress=False)


def test_three_classes_train_and_round_trip(three, tmp_path):
    assert three.classes == ["1", "5", "10"] and three.net.w2.shape == (8, 3)
    assert three.predict(TEXTS) == RATINGS
    proba, _, best = three.predict_details(TEXTS[:3])
    assert proba.shape == (3, 3) and np.allclose(proba.sum(axis=1), 1)
    path = three.save(tmp_path / "m.npz")
    again = Model.load(path)
    assert again.classes == three.classes and again.scheme.kind == "multiclass"
    assert again.vocab.class_scaled
    np.testing.assert_array_equal(again.predict_details(TEXTS)[0],
                                  three.predict_details(TEXTS)[0])


def test_explanation_of_k_classes_adds_up_to_the_predicted_logit(three):
    for text in (POSITIVE[0], NEUTRAL[1], NEGATIVE[2], "great but boring"):
        e = explain(three, text)
        logits = three.net.logits(three.encode([text]))[0]
        assert e.label == three.predict([text])[0]
        assert e.logit == pytest.approx(float(logits.max()), abs=1e-4)
        assert e.bias + e.contributions.sum() == pytest.approx(e.logit, abs=1e-9)
        assert sum(e.class_probabilities().values()) == pytest.approx(1, abs=1e-5)


def test_binary_model_files_are_as_before(tmp_path):
    model = train(POSITIVE + NEGATIVE, [1] * 4 + [0] * 4, QUICK, progress=False)
    path = model.save(tmp_path / "b.npz")
    with np.load(path) as z:
        meta = json.loads(z["meta"].tobytes())
        assert "scheme" not in meta and "vocab_scale" not in z.files
    assert meta["labels"] == ["negative", "positive"]
    assert Model.load(path).scheme.kind == "binary"


def write_csv(path, rows, header=("review", "rating")):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def run(args, capsys):
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


TRAIN_FLAGS = ["--epochs", "15", "--lr", "0.05", "--min-count", "1", "--val-fraction", "0"]


def test_minus_one_zero_one_is_three_classes_or_an_error(tmp_path, capsys):
    labels = (["1"] * 4 + ["0"] * 4 + ["-1"] * 4) * 6
    path = write_csv(tmp_path / "r.csv", zip(TEXTS, labels), ("review", "sentiment"))
    code, _, err = run(["train", path, "--model", tmp_path / "m.npz", *TRAIN_FLAGS], capsys)
    assert code == 2 and "holds both 0 and -1" in err and "--multiclass" in err
    assert not (tmp_path / "m.npz").exists()
    code, _, err = run(["train", path, "--model", tmp_path / "m.npz", "--multiclass",
                        *TRAIN_FLAGS], capsys)
    assert code == 0, err
    assert "3 classes: -1, 0, 1" in err
    assert Model.load(tmp_path / "m.npz").classes == ["-1", "0", "1"]


def test_multiclass_commands_end_to_end(tmp_path, capsys):
    path = write_csv(tmp_path / "r.csv", zip(TEXTS, RATINGS))
    model = tmp_path / "m.npz"
    code, _, err = run(["train", path, "--model", model, "--multiclass", *TRAIN_FLAGS,
                        "--test", path], capsys)
    assert code == 0, err
    code, out, _ = run(["evaluate", path, "--model", model, "--json"], capsys)
    m = json.loads(out)
    assert m["accuracy"] == 1.0 and m["labels"] == ["1", "5", "10"]
    assert np.array(m["confusion"]).shape == (3, 3) and m["macro_f1"] == 1.0
    assert set(m["per_class"]) == {"1", "5", "10"} and "within_one" in m
    code, out, _ = run(["evaluate", path, "--model", model], capsys)
    assert "macro F1" in out and "confusion" in out
    code, out, _ = run(["predict", "--model", model, "--json", POSITIVE[0]], capsys)
    answer = json.loads(out)
    assert answer["label"] == "10" and set(answer["probabilities"]) == {"1", "5", "10"}
    out_path = tmp_path / "scored.csv"
    code, _, err = run(["predict", "--model", model, "--file", path, "--output", out_path,
                        "--threshold", "0.999"], capsys)
    assert code == 0, err
    with open(out_path) as f:
        labels = [row["label"] for row in csv.DictReader(f)]
    assert len(labels) == len(TEXTS) and set(labels) <= {"1", "5", "10", "uncertain"}
    code, _, err = run(["predict", "--model", model, "--threshold", "0.2", "x"], capsys)
    assert code == 2 and "between 0.333 and 1" in err
    other = write_csv(tmp_path / "o.csv", [(TEXTS[0], "7")])
    code, _, err = run(["evaluate", other, "--model", model], capsys)
    assert code == 2 and "row 2, column 'rating': class '7' is not one the model knows" in err


def test_stars_cut_the_scale_and_the_model_keeps_the_cuts(tmp_path, capsys):
    stars = (["5"] * 4 + ["3"] * 4 + ["1"] * 4) * 6
    path = write_csv(tmp_path / "r.csv", zip(TEXTS, stars))
    model = tmp_path / "m.npz"
    code, _, err = run(["train", path, "--model", model, "--stars", *TRAIN_FLAGS], capsys)
    assert code == 0, err
    assert "read as ratings 1-5: ratings <= 2 negative, >= 4 positive" in err
    assert "dropped 24 rows rated in the middle of the scale" in err
    loaded = Model.load(model)
    assert loaded.scheme.kind == "stars" and loaded.classes == ["negative", "positive"]
    assert (loaded.scheme.negative_max, loaded.scheme.positive_min) == (2, 4)
    code, out, err = run(["evaluate", path, "--model", model, "--json"], capsys)  # no flag
    assert code == 0 and json.loads(out)["n"] == 48 and "dropped 24 rows" in err
    code, _, err = run(["train", path, "--model", model, "--stars", "3:5", *TRAIN_FLAGS],
                       capsys)
    assert code == 0 and "dropped 0 rows" in err  # 3 is negative now
    code, _, err = run(["train", path, "--model", model, "--stars", "--multiclass"], capsys)
    assert code == 2 and "exclude each other" in err
    code, _, err = run(["train", "--stars", path, "--model", model], capsys)  # took the file
    assert code == 2 and "put the file first (train FILE --stars)" in err
    words = write_csv(tmp_path / "w.csv", [(TEXTS[0], "five")])
    code, _, err = run(["train", words, "--model", model, "--stars"], capsys)
    assert code == 2 and "row 2, column 'rating': rating 'five' is not a number" in err


def test_compare_runs_the_stages_that_train_k_classes(tmp_path, capsys):
    path = write_csv(tmp_path / "r.csv", zip(TEXTS * 3, RATINGS * 3))
    code, out, err = run(["compare", path, "--multiclass", "--label-column", "rating",
                          "--json", "--limit", "0"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["stage"] for r in rows] == ["7"]  # the others: per review, mse or a cutoff
    assert all(r["kind"] == "stage" and r["test_accuracy"] >= 0.9 for r in rows)
    code, _, err = run(["compare", path, "--multiclass", "--stages", "1"], capsys)
    assert code == 2 and "stage 1 (dense baseline) trains two classes only" in err


def test_two_named_classes_keep_their_names_everywhere(tmp_path, capsys):
    names = (["good"] * 4 + ["bad"] * 4) * 6
    texts = (POSITIVE + NEGATIVE) * 6
    path = write_csv(tmp_path / "r.csv", zip(texts, names), ("review", "label"))
    model = tmp_path / "m.npz"
    code, _, err = run(["train", path, "--model", model, "--multiclass", *TRAIN_FLAGS],
                       capsys)
    assert code == 0, err
    out_path = tmp_path / "scored.csv"
    code, _, err = run(["predict", "--model", model, "--file", path, "--output", out_path],
                       capsys)
    with open(out_path) as f:
        assert {row["label"] for row in csv.DictReader(f)} == {"good", "bad"}
    assert "bad 24, good 24" in err
    code, out, _ = run(["explain", "--model", model, POSITIVE[0], "--json"], capsys)
    e = json.loads(out)
    assert e["label"] == "good" and set(e["probabilities"]) == {"bad", "good"}
    code, out, _ = run(["evaluate", path, "--model", model], capsys)
    assert "macro F1" in out and "good" in out and "actual positive" not in out


def test_estimator_float_classes_evaluate_from_the_command_line(tmp_path, capsys):
    from sentiment import SentimentClassifier

    y = np.array([float(r) for r in RATINGS])
    clf = SentimentClassifier(epochs=15, lr=0.05, min_count=1, val_fraction=0).fit(TEXTS, y)
    assert clf.model_.classes == ["1", "5", "10"]
    model = clf.model_.save(tmp_path / "est.npz")
    path = write_csv(tmp_path / "r.csv", zip(TEXTS, [f"{r}.0" for r in RATINGS]))
    code, out, err = run(["evaluate", path, "--model", model, "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["accuracy"] == 1.0


def test_stars_refuse_a_rating_beyond_the_scale_read_first(tmp_path, capsys):
    rows = [(f"review {i}", str(1 + i % 5)) for i in range(60_000)]  # past the first chunk
    rows += [(f"late review {i}", "9") for i in range(10)]  # a 1-10 file sorted by rating
    path = write_csv(tmp_path / "r.csv", rows)
    code, _, err = run(["train", path, "--model", tmp_path / "m.npz", "--stars",
                        "--max-memory", "64M"], capsys)
    assert code == 2
    assert "rating '9' is outside the scale 1-5 read from the first rows" in err


def test_k_classes_train_without_negation_unless_asked(three, tmp_path, capsys):
    """A negated word counts with its weights flipped: the opposite for two classes, the
    other end of a scale of K (docs/multiclass.md), so K classes leave negation off by
    default; a window asked for is kept, on the command line and in Python."""
    assert QUICK.negation is None and three.vocab.negation == 0
    assert three.settings["negation"] == 0
    two = train(TEXTS[:48], [1] * 24 + [0] * 24, QUICK, progress=False)
    assert two.vocab.negation == Settings().for_labels(multiclass=False).negation == 2
    asked = train(TEXTS, RATINGS, QUICK.with_(negation=3), multiclass=True, progress=False)
    assert asked.vocab.negation == 3
    path = write_csv(tmp_path / "r.csv", zip(TEXTS, RATINGS))
    for flags, window in (([], 0), (["--negation", "1"], 1)):
        model = tmp_path / f"m{window}.npz"
        code, _, err = run(["train", path, "--model", model, "--multiclass", *TRAIN_FLAGS,
                            *flags], capsys)
        assert code == 0, err
        assert Model.load(model).vocab.negation == window
