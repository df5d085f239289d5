"""Label columns of two numbers (Sentiment140's 0/4, 1/2) read as two classes, the lower
negative: through the command line, and chunk by chunk in the label reader."""

import pandas as pd
import pytest
from corpus import NEGATIVE, POSITIVE, run, write

from sentiment.errors import SentimentError
from sentiment.io.labels import LabelReader, LabelScheme
from sentiment.model.model import Model


def test_a_zero_four_column_reads_as_two_classes(tmp_path):
    rows = [["4", p] for p in POSITIVE] + [["0", n] for n in NEGATIVE]
    data = write(tmp_path / "s140.csv", ["target", "text"], rows * 10)
    model = tmp_path / "m.npz"
    r = run("train", data, "--model", model, "--min-count", "1", "--lr", "0.05",
            "--epochs", "20", "--val-fraction", "0")
    assert r.returncode == 0, r.stderr
    assert (f"{data}: text column 'text', label column 'target' ('4' -> positive, '0' -> "
            "negative: two numbers, the lower negative); 80 rows") in r.stderr.splitlines()
    assert Model.load(model).scheme.describe() == "negative/positive (0 negative, 4 positive)"
    test = write(tmp_path / "test.csv", ["target", "text"],
                 [["0", "awful and boring"], ["2", "a film"], ["4", "loved it, wonderful"]])
    r = run("evaluate", test, "--model", model, "--json")
    assert r.returncode == 0, r.stderr
    assert f"{test}: dropped 1 rows labelled between 0 and 4 (neither class)" in r.stderr
    assert '"accuracy": 1.0' in r.stdout and '"n": 2' in r.stdout
    # read ahead (by a second process) before the training labels were known: read again
    r = run("train", data, "--model", model, "--min-count", "1", "--lr", "0.05",
            "--epochs", "20", "--val-fraction", "0", "--test", test)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == f"test accuracy 100.00% on 2 reviews ({test})"


def test_one_two_column_reads_the_lower_as_negative(tmp_path):
    rows = [["2", p] for p in POSITIVE] + [["1", n] for n in NEGATIVE]
    data = write(tmp_path / "amazon.csv", ["label", "text"], rows * 10)
    model = tmp_path / "m.npz"
    r = run("train", data, "--model", model, "--min-count", "1", "--lr", "0.05",
            "--epochs", "20", "--val-fraction", "0")
    assert r.returncode == 0, r.stderr
    r = run("predict", "--model", model, "loved it, wonderful", "awful and boring")
    assert [line.split("\t")[0] for line in r.stdout.splitlines()] == ["positive", "negative"]


def reader(fixed=False, scheme=None):
    return LabelReader("f.csv", "target", scheme or LabelScheme(), fixed)


def test_two_numbers_across_chunks():
    r = reader()
    codes, keep = r(pd.Series(["0", "0"]))  # 0: negative, as always
    assert codes.tolist() == [0, 0] and keep.all()
    codes, keep = r(pd.Series(["4", "0", "4"], index=[2, 3, 4]))
    assert codes.tolist() == [1, 0, 1] and keep.all()
    assert (r.scheme.negative_max, r.scheme.positive_min) == (0, 4)
    with pytest.raises(SentimentError, match=r"^f.csv: row 7, column 'target': label '2' is "
                       r"not 0 or 4, the two numbers the column holds \(read as negative and "
                       r"positive\); train with --multiclass"):
        r(pd.Series(["4", "2"], index=[4, 5]))


def test_two_numbers_refused_where_earlier_rows_read_one_otherwise():
    r = reader()
    r(pd.Series(["1", "1"]))  # 1: positive, its usual meaning
    with pytest.raises(SentimentError, match=r"earlier rows were read with '1' as positive, "
                       r"its usual meaning; say which is which with --stars 1:2"):
        r(pd.Series(["2", "1"], index=[2, 3]))


def test_one_number_alone_names_stars():
    with pytest.raises(SentimentError, match=r"^f.csv: row 2, column 'target': label '4' is "
                       r"not one of positive/negative.*--stars 0:4 for Sentiment140's 0/4\)$"):
        reader()(pd.Series(["4", "4"]))


def test_a_models_two_numbers_drop_the_middle_when_scoring():
    scheme = LabelScheme(negative_max=0.0, positive_min=4.0)
    r = reader(fixed=True, scheme=scheme)
    codes, keep = r(pd.Series(["0", "2", "4"]))
    assert keep.tolist() == [True, False, True] and codes[keep].tolist() == [0, 1]
    assert r.notes() == ["f.csv: dropped 1 rows labelled between 0 and 4 (neither class)"]
    assert (scheme.negative_max, scheme.positive_min) == (0.0, 4.0)
