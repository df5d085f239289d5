"""Models that cannot work are refused, not saved; ones that answer one class, or trained
on imbalanced classes, are warned about."""

import numpy as np
import pytest
from corpus import NEGATIVE, POSITIVE, run, write

from sentiment.errors import DataError, SentimentError
from sentiment.model.compact import compact
from sentiment.model.model import Model
from sentiment.training.job import Settings, train
from sentiment.training.usable import balance_warning, check_saveable

QUICK = Settings(epochs=5, lr=0.05, min_count=1, val_fraction=0, patience=0)


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.fixture
def old_model(tmp_path):
    """A file where the model goes, already there: a refused save leaves it as it was."""
    path = tmp_path / "m.npz"
    path.write_bytes(b"the previous model")
    return path


def test_no_feature_that_tells_the_classes_apart_is_refused(tmp_path, old_model):
    rows = [["good film", "positive"], ["good film", "negative"]] * 20
    data = write(tmp_path / "flat.csv", ["review", "sentiment"], rows)
    r = run("train", data, "--model", old_model, "--val-fraction", "0")
    assert r.returncode == 2, r.stderr
    assert errors(r.stderr) == [
        f"error: {data}: no feature tells the classes apart: each of the 3 features kept "
        "occurs in every class as often as in the others, so every text would get the same "
        "answer; nothing was trained: add more (and more varied) texts, or lower --min-count"]
    assert "Traceback" not in r.stderr
    assert old_model.read_bytes() == b"the previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flat.csv", "m.npz"]


def test_a_compact_model_with_no_feature_left_is_refused():
    model = train((POSITIVE + NEGATIVE) * 3, [1] * 4 + [0] * 4 + [1] * 4 + [0] * 4 + [1] * 4
                  + [0] * 4, QUICK, progress=False)
    check_saveable(model)
    model.net.W1[:] = 0  # no feature moves the answer: the compact model keeps none
    small = compact(model)
    assert len(small.vocab) == 0
    with pytest.raises(DataError, match=r"^no feature moves the model's answer \(the "
                       r"\d+ features kept all ended with weight 0\)"):
        check_saveable(small)


def test_weights_past_float16_stay_float32(tmp_path, tiny_csv):
    model = tmp_path / "m.npz"
    r = run("train", tiny_csv, "--model", model, "--optimizer", "adam", "--lr", "1e8",
            "--min-count", "1", "--epochs", "2")
    assert r.returncode == 0, r.stderr
    [line] = [x for x in r.stderr.splitlines() if "warning: weights" in x]
    assert line.startswith(f"{tiny_csv}: warning: weights up to ")
    assert line.endswith(", past the 65,504 a compact model's float16 holds: kept as float32 "
                         "(a file twice the size); weights this large mean the learning "
                         "rate (--lr) is too high")
    loaded = Model.load(model)  # loads: no infinity in the file
    assert np.abs(loaded.net.W1).max() > 65504
    assert loaded.info["compact"]["weights"] == "float32"
    with np.load(model) as f:
        assert f["W1"].dtype == np.float32
    assert run("predict", "--model", model, "loved it").returncode == 0


def test_non_finite_weights_are_never_written(tmp_path, old_model):
    model = train((POSITIVE + NEGATIVE) * 3, ([1] * 4 + [0] * 4) * 3, QUICK, progress=False)
    small = compact(model)
    small.save(tmp_path / "ok.npz")  # float16 as always
    with np.load(tmp_path / "ok.npz") as f:
        assert f["W1"].dtype == np.float16
    small.net.W1[0] = np.inf
    with pytest.raises(DataError, match=r"the weights grew past what a model file holds "
                       r"\(W1 hold infinity or NaN\); nothing saved: lower the learning"):
        check_saveable(small)
    with pytest.raises(SentimentError, match="W1 hold infinity or NaN; nothing written"):
        small.save(old_model)
    assert old_model.read_bytes() == b"the previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "ok.npz"]


def imbalanced_rows(n_minor: int = 16, n: int = 400) -> list[list[str]]:
    """Mostly positive texts with words in common; a few negative ones, each of words of
    its own (below --min-count 2): nothing learned of the negative class."""
    rows = []
    for i in range(n):
        if i % (n // n_minor) == 0:
            rows.append([f"zz{i} qq{i} ww{i}", "negative"])
        else:
            rows.append([POSITIVE[i % 4], "positive"])
    return rows


def test_one_class_for_every_held_out_row_is_warned_about(tmp_path):
    data = write(tmp_path / "skewed.csv", ["review", "sentiment"], imbalanced_rows())
    model = tmp_path / "m.npz"
    r = run("train", data, "--model", model, "--val-fraction", "0.2")
    assert r.returncode == 0, r.stderr
    [line] = [x for x in r.stderr.splitlines() if "warning: the model answers" in x]
    assert line.startswith(f"{data}: warning: the model answers 'positive' for ")
    assert line.endswith("(100.0%): the classes are imbalanced (negative 4.0%, positive "
                         "96.0%) and it learned little of 'negative'; add texts of "
                         "'negative', or train with --class-weight balanced")
    assert model.exists()  # the model still works: a warning, not a refusal


def test_balance_warnings():
    classes = ["negative", "positive"]
    assert balance_warning(classes, [500, 500], [240, 260]) is None
    assert balance_warning(classes, [500, 500], None) is None
    assert balance_warning(classes, [500, 500], [1, 99]) == (
        "warning: the model answers 'positive' for 99 of the 100 held-out rows (99.0%), "
        "though 50.0% of the texts are 'positive': it learned little that tells the classes "
        "apart; check the labels, or train on more texts")
    assert balance_warning(classes, [40, 960], [10, 90]) == (
        "warning: the classes are imbalanced (negative 4.0%, positive 96.0%): the model will "
        "miss many texts of 'negative'; add texts of 'negative', or train with "
        "--class-weight balanced")
    assert balance_warning(classes, [40, 960], [10, 90], weighted=True) is None
    assert balance_warning(classes, [40, 960], [0, 10]) is not None  # too few to judge
    assert "answers" not in balance_warning(classes, [40, 960], [0, 10])
    assert balance_warning(["1", "2", "3"], [300, 20, 400], [100, 0, 100]) == (
        "warning: the classes are imbalanced (1 41.7%, 2 2.8%, 3 55.6%): the model will "
        "miss many texts of '2'; add texts of '2', or train with --class-weight balanced")


@pytest.mark.parametrize("k", [2, 3])
def test_balanced_class_weights_step_as_repeated_rows(k):
    """One full-batch SGD step with --class-weight balanced is the step on the rows with
    each class repeated in inverse proportion to its count (the gradient is a weighted
    mean): classes of 30, 10 (and 15) rows weigh 1, 3 (and 2) relative to the first."""
    import scipy.sparse as sp

    from sentiment.nn.network import Network
    from sentiment.training.job import fit
    from sentiment.training.loop import class_weights
    from sentiment.training.spool import ShardedRows

    rng = np.random.default_rng(0)
    sizes = [30, 10, 15][:k]
    y = np.repeat(np.arange(k), sizes).astype(np.float32)
    X = sp.random(len(y), 9, density=0.5, format="csr", random_state=1, dtype=np.float32)
    repeat = np.repeat(np.arange(len(y)), [{30: 1, 10: 3, 15: 2}[sizes[int(c)]] for c in y])
    settings = Settings(batch_size=1000, epochs=1, optimizer="sgd", lr=0.1, lr_decay=False,
                        val_fraction=0, patience=0, hidden=3, init_scale=0.5)
    weighted, repeated = (Network(9, 3, np.random.default_rng(2), init_scale=0.5,
                                  n_classes=k) for _ in range(2))
    fit(weighted, X, y, settings.with_(class_weight="balanced"), rng, progress=False)
    fit(repeated, X[repeat], y[repeat], settings, rng, progress=False)
    for name, value in repeated.params().items():
        np.testing.assert_allclose(weighted.params()[name], value, rtol=1e-5, atol=1e-7,
                                   err_msg=name)
    rows = ShardedRows.from_matrix(X, y)
    expected = [len(y) / (k * n) for n in sizes]
    np.testing.assert_allclose(class_weights(settings.with_(class_weight="balanced"), rows, k),
                               expected, rtol=1e-6)
    assert class_weights(settings, rows, k) is None


def test_class_weight_balanced_on_the_command_line(tmp_path):
    rows = [[POSITIVE[i % 4], "positive"] for i in range(96)]
    rows += [[NEGATIVE[i % 4], "negative"] for i in range(4)]
    data = write(tmp_path / "skewed.csv", ["review", "sentiment"], rows * 2)
    model = tmp_path / "m.npz"
    r = run("train", data, "--model", model, "--class-weight", "balanced", "--min-count", "1")
    assert r.returncode == 0, r.stderr
    assert "warning: the classes are imbalanced" not in r.stderr  # weighed already
    assert Model.load(model).settings["class_weight"] == "balanced"
    r = run("train", data, "--model", model, "--class-weight", "equal")
    assert r.returncode == 2
    assert errors(r.stderr) == ["error: --class-weight must be one of none, balanced; got "
                                "'equal'"]
