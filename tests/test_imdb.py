"""IMDB end to end through the real CLI: one seeded training run shared by every check.

Runs when SENTIMENT_DATA holds imdb/train.csv.gz and imdb/test.csv.gz (see conftest).
"""
import json
import subprocess
import sys

import pytest

ACCURACY_FLOOR = 0.88


def run(*args):
    return subprocess.run([sys.executable, "-m", "sentiment", *map(str, args)],
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def trained(imdb_dir, tmp_path_factory):
    """Train once with the default settings: (model path, the train run)."""
    model = tmp_path_factory.mktemp("imdb") / "model.npz"
    r = run("train", imdb_dir / "train.csv.gz", "--model", model, "--seed", "0", "--json")
    assert r.returncode == 0, r.stderr
    return model, r


def test_train_reports_what_it_read_and_every_epoch(trained, imdb_dir):
    model, r = trained
    assert (f"{imdb_dir / 'train.csv.gz'}: text column 'review', label column 'sentiment' "
            "('positive' -> positive, 'negative' -> negative); 25,000 rows"
            ) in r.stderr.splitlines()
    epochs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["epoch"] for e in epochs] == list(range(1, len(epochs) + 1))
    for e in epochs:
        assert {"loss", "train_accuracy", "val_accuracy", "reviews_per_second",
                "seconds"} <= set(e)
    assert max(e["val_accuracy"] for e in epochs) >= ACCURACY_FLOOR
    assert model.exists() and not model.with_name(model.name + ".tmp").exists()


def test_test_accuracy_floor(trained, imdb_dir):
    model, _ = trained
    r = run("evaluate", imdb_dir / "test.csv.gz", "--model", model, "--json")
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout)
    assert metrics["n"] == 25_000
    assert metrics["accuracy"] >= ACCURACY_FLOOR, metrics


def test_predict_plain_sentences(trained):
    model, _ = trained
    r = run("predict", "--model", model, "--json",
            "This movie was wonderful, I loved every minute of it",
            "Awful, boring, a complete waste of time")
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["label"] for line in r.stdout.splitlines()] == \
        ["positive", "negative"]
