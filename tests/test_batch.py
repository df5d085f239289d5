"""predict --file (batch scoring) and train --log/--plot, through the real CLI."""
import csv
import io
import json
import struct
import subprocess
import sys

import numpy as np
import pytest
from corpus import NEGATIVE, POSITIVE
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from sentiment.cli import main
from sentiment.plots import plot_history, read_log
from sentiment.training.job import Settings, train

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# mixed reviews, so that a weak model gets some wrong and some close to 0.5
ROWS = [(str(i), t, "positive" if i % 8 < 4 else "negative", str(i % 5))
        for i, t in enumerate((POSITIVE + NEGATIVE) * 2
                              + ["great acting, awful story", "boring but moving music",
                                 "i loved the worst film", "a story"])]


def run(*args, input=None):
    return subprocess.run([sys.executable, "-m", "sentiment", *map(str, args)],
                          capture_output=True, text=True, input=input)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A weak model (few epochs), saved: (path, model)."""
    model = train(POSITIVE + NEGATIVE, [1] * 4 + [0] * 4,
                  Settings(min_count=1, epochs=2, lr=0.02, val_fraction=0.0), progress=False)
    return model.save(tmp_path_factory.mktemp("batch") / "m.npz"), model


@pytest.fixture
def reviews_csv(tmp_path):
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "review", "sentiment", "stars"])
        w.writerows(ROWS)
    return path


def _csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_keeps_the_columns_and_adds_label_and_probability(model_file, reviews_csv,
                                                              tmp_path):
    path, model = model_file
    out = tmp_path / "out.csv"
    r = run("predict", "--file", reviews_csv, "--model", path, "--output", out)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert f"scored {len(ROWS)} rows" in r.stderr
    rows = _csv(out.read_text(encoding="utf-8"))
    assert list(rows[0]) == ["id", "review", "sentiment", "stars", "label", "probability"]
    assert [(r["id"], r["review"], r["sentiment"], r["stars"]) for r in rows] == ROWS
    p = model.predict_proba([row[1] for row in ROWS])[:, 1]  # the per-text (numpy) path
    assert [r["label"] for r in rows] == ["positive" if x > 0.5 else "negative" for x in p]
    np.testing.assert_allclose([float(r["probability"]) for r in rows],
                               np.maximum(p, 1 - p), atol=2e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "reviews.csv"]


FIELD = st.text(st.sampled_from('ab ,"\n\r\x00é\u2019'), max_size=6)


@hyp_settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.tuples(FIELD, FIELD), min_size=1, max_size=5),
       st.lists(st.one_of(st.floats(0, 1), st.just(float("nan"))), min_size=5, max_size=5),
       st.booleans())
def test_the_csv_writer_writes_what_pandas_writes(rows, probability, header):
    """write_frame's CSV is DataFrame.to_csv's, byte for byte, except that a field with a
    carriage return is quoted (the csv module leaves it bare after "\\n" line ends, which
    splits the row when read back); either way it reads back as it was (a NUL aside, which
    the lowest pandas supported reads as the end of its field)."""
    import pandas as pd

    from sentiment.model.scoring import write_frame

    frame = pd.DataFrame(rows, columns=["a,b", "text"], dtype=object)
    frame["probability"] = probability[:len(rows)]
    out = io.StringIO()
    write_frame(frame, out, "csv", header=header)
    if not any("\r" in f for row in rows for f in row):
        want = frame.to_csv(index=False, header=header, lineterminator="\n")
        assert out.getvalue() == want
    back = pd.read_csv(io.StringIO(out.getvalue()), dtype={"a,b": str, "text": str},
                       keep_default_na=False, header=0 if header else None,
                       names=None if header else list(frame.columns),
                       converters={"probability": lambda v: float(v) if v else np.nan})
    if not any("\x00" in f for row in rows for f in row):
        assert back[["a,b", "text"]].values.tolist() == [list(r) for r in rows]
    np.testing.assert_array_equal(back["probability"].to_numpy(),
                                  frame["probability"].to_numpy())


def test_accuracy_equals_evaluate(model_file, reviews_csv, capsys):
    path, _ = model_file
    assert main(["predict", "--file", str(reviews_csv), "--model", str(path)]) == 0
    rows = _csv(capsys.readouterr().out)  # CSV on stdout without --output
    accuracy = np.mean([r["label"] == r["sentiment"] for r in rows])
    assert main(["evaluate", str(reviews_csv), "--model", str(path), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)["accuracy"]
    assert 0.5 < accuracy < 1  # the weak model gets some wrong: a real comparison
    assert accuracy == evaluated


def test_one_rule_from_logits_to_labels_and_probabilities():
    from sentiment.model.scoring import UNCERTAIN, Scores
    from sentiment.nn.network import (
        class_probabilities,
        label_codes,
        label_probability,
        sigmoid,
    )

    z = np.array([-3.0, -1e-8, 0.0, 1e-8, 0.2, 40.0], dtype=np.float32)
    assert label_codes(z).tolist() == [0, 0, 0, 1, 1, 1]  # the sign, never p > 0.5
    p = class_probabilities(z)
    np.testing.assert_array_equal(p[:, 1], sigmoid(z))
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    assert label_probability(z).dtype == np.float64
    np.testing.assert_array_equal(label_probability(z), sigmoid(np.abs(z.astype(np.float64))))
    scores = Scores(z, ["neg", "pos"])
    assert scores.labels().tolist() == ["neg", "neg", "neg", "pos", "pos", "pos"]
    assert scores.labels(0.9).tolist() == ["neg"] + [UNCERTAIN] * 4 + ["pos"]
    k = np.array([[0.0, 2.0, 1.0], [3.0, 3.0, -1.0]], dtype=np.float32)
    assert label_codes(k).tolist() == [1, 0]  # a tie: the first class
    three = Scores(k, ["a", "b", "c"])
    assert three.labels().tolist() == ["b", "a"]
    np.testing.assert_allclose(three.label_probability(), three.probabilities().max(axis=1),
                               rtol=1e-6)


def test_in_order_keeps_the_order_and_a_bounded_queue():
    from concurrent.futures import Future

    from sentiment.model.scoring import in_order, prefetch

    submitted, out = [], []

    def submit(item):
        submitted.append(item)
        future = Future()
        future.set_result(item * 2)
        return future

    for item, result in in_order(submit, range(7), ahead=2):
        out.append((item, result))
        assert len(submitted) - len(out) <= 2  # at most two calls ahead of the caller
    assert out == [(i, 2 * i) for i in range(7)]
    assert list(prefetch(lambda i: i * i, range(5), ahead=0)) == [(i, i * i) for i in range(5)]


def test_threshold_marks_uncertain_rows(model_file, reviews_csv, capsys):
    path, _ = model_file
    main(["predict", "--file", str(reviews_csv), "--model", str(path)])
    plain = _csv(capsys.readouterr().out)
    threshold = float(np.median([float(r["probability"]) for r in plain]))
    main(["predict", "--file", str(reviews_csv), "--model", str(path), "--threshold",
          str(threshold)])
    marked = _csv(capsys.readouterr().out)
    assert [r["probability"] for r in marked] == [r["probability"] for r in plain]
    for a, b in zip(plain, marked):
        expected = "uncertain" if float(a["probability"]) < threshold else a["label"]
        assert b["label"] == expected
    assert 0 < sum(r["label"] == "uncertain" for r in marked) < len(marked)


def test_json_lines_by_suffix_or_flag(model_file, reviews_csv, tmp_path, capsys):
    path, _ = model_file
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--file", str(reviews_csv), "--model", str(path), "--output",
                 str(out)]) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(ROWS)
    assert list(records[0]) == ["id", "review", "sentiment", "stars", "label", "probability"]
    assert records[0]["review"] == ROWS[0][1] and isinstance(records[0]["probability"], float)
    assert main(["predict", "--file", str(reviews_csv), "--model", str(path), "--json"]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == records


def test_existing_label_column_is_kept(model_file, tmp_path, capsys):
    path, _ = model_file
    data = tmp_path / "labelled.csv"
    data.write_text("text,label\nwonderful film,pos\n", encoding="utf-8")
    assert main(["predict", "--file", str(data), "--model", str(path)]) == 0
    out, err = capsys.readouterr()
    rows = _csv(out)
    assert list(rows[0]) == ["text", "label", "predicted_label", "probability"]
    assert rows[0]["label"] == "pos" and "'predicted_label'" in err


def test_threshold_with_texts(model_file, capsys):
    path, _ = model_file
    assert main(["predict", "--model", str(path), "--threshold", "1", "wonderful"]) == 0
    assert capsys.readouterr().out.startswith("uncertain\t")


@pytest.mark.parametrize("args, message", [
    (["--threshold", "0.3"], "--threshold 0.3: must be between 0.5 and 1"),
    (["--output", "{tmp}/missing/out.csv"], "out.csv: folder {tmp}/missing does not exist"),
    (["--output", "{tmp}"], ": is a directory; pass a file name to --output"),
    (["some text"], "pass either texts or --file, not both"),
    (["--text-column", "body"], "no column 'body' (found: id, review, sentiment, stars)"),
])
def test_batch_mistakes(model_file, reviews_csv, tmp_path, capsys, args, message):
    path, _ = model_file
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(["predict", "--file", str(reviews_csv), "--model", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert message.replace("{tmp}", str(tmp_path)) in err and "Traceback" not in err


def test_output_needs_a_file(model_file, capsys):
    path, _ = model_file
    assert main(["predict", "--model", str(path), "--output", "x.csv", "text"]) == 2
    assert "pass --file FILE" in capsys.readouterr().err


# -- train --log / --plot --------------------------------------------------------------------

def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_train_log_and_plot(tiny_csv, tmp_path):
    log, plot, model = tmp_path / "run.jsonl", tmp_path / "curves.png", tmp_path / "m.npz"
    r = run("train", tiny_csv, "--model", model, "--epochs", "4", "--min-count", "1",
            "--val-fraction", "0.2", "--patience", "0", "--json", "--log", log, "--plot", plot)
    assert r.returncode == 0, r.stderr
    records = read_log(log)
    assert [rec["epoch"] for rec in records] == [1, 2, 3, 4]
    assert records == [json.loads(line) for line in r.stdout.splitlines()]  # same as --json
    width, height = _png_size(plot)
    assert width >= 600 and height >= 300 and plot.stat().st_size > 10_000
    assert f"plotted {plot}" in r.stderr


def test_plot_from_python_without_validation(tmp_path):
    history = [{"epoch": e, "loss": 1 / e, "train_accuracy": 0.5 + e / 10, "val_loss": None,
                "val_accuracy": None, "best": False} for e in (1, 2, 3)]
    path = plot_history(history, tmp_path / "c.png", title="three epochs")
    assert _png_size(path)[0] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png"]


def test_bad_plot_path_fails_before_training(tiny_csv, tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert main(["train", str(tiny_csv), "--model", str(model), "--plot",
                 str(tmp_path / "curves.xyz")]) == 2
    assert "curves.xyz: cannot draw a .xyz file; use one of" in capsys.readouterr().err
    assert not model.exists()


def test_predict_with_texts_imports_numpy_only(model_file):
    path, _ = model_file
    code = ("import sys; from sentiment.cli import main; "
            f"main(['predict', '--model', {str(path)!r}, 'wonderful']); "
            "print(sorted({m.split('.')[0] for m in sys.modules} "
            "& {'scipy', 'sklearn', 'pandas', 'matplotlib'})); "
            "print(sorted(set(sys.modules) & {'sentiment.training.job', 'sentiment.lab.stages', "
            "'sentiment.training.settings', 'sentiment.io.reader'}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.splitlines()[-2:] == ["[]", "[]"], r.stderr


def test_parser_for_one_command_has_that_command_only():
    from sentiment.cli import COMMANDS, build_parser

    def commands(parser):
        return list(parser._subparsers._group_actions[0].choices)

    assert commands(build_parser()) == list(COMMANDS)
    assert commands(build_parser("predict")) == ["predict"]
    assert commands(build_parser("--help")) == list(COMMANDS)
    assert commands(build_parser("predcit")) == list(COMMANDS)  # typo: argparse names all
