"""The stages: the per-review kernels agree, every stage trains, the comparison's rows
(stages and the scikit-learn references)."""
import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from corpus import NEGATIVE, POSITIVE

from sentiment.cli import build_parser
from sentiment.lab.compare import command_line, compare, with_references
from sentiment.lab.compare_report import ROW_KEYS, summary
from sentiment.lab.references import (
    REFERENCES,
    nb_log_ratio,
    reference_features,
    vectorizer,
)
from sentiment.lab.stages import STAGES
from sentiment.nn.network import Network, layer1_dense, layer1_rows
from sentiment.training.job import Settings, fit, train
from sentiment.training.pipeline import fit_vocabulary

PER_REVIEW = ("1", "2", "3")  # the lesson's network: kernels dense, dense, rows
# one review of a 7-word vocabulary: word 1 twice, words 4 and 6 once (stage 1 counts)
INDICES = np.array([1, 4, 6], dtype=np.int32)
COUNTS = np.array([2.0, 1.0, 1.0], dtype=np.float32)
# enough repeats that stage 4's filter (words in at least 20 reviews) keeps some words
TEXTS = (POSITIVE + NEGATIVE) * 25
LABELS = np.array(([1] * len(POSITIVE) + [0] * len(NEGATIVE)) * 25)


def _review(stage_key):
    values = COUNTS if STAGES[stage_key].settings.values == "count" else np.ones(3, np.float32)
    return sp.csr_matrix((values, INDICES, [0, 3]), shape=(1, 7))


def _net(seed=1):
    return Network(7, 10, np.random.default_rng(seed), init_scale=0.5)


@pytest.mark.parametrize("key", PER_REVIEW)
def test_same_hidden_layer(key):
    X = _review(key)
    W1 = _net().W1
    dense = layer1_dense(W1, X.indices, X.data)
    rows = layer1_rows(W1, X.indices, X.data)
    batch = (X @ W1)[0]
    np.testing.assert_allclose(dense, rows, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(batch, rows, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("key", PER_REVIEW)
def test_same_one_step_update(key):
    """One SGD step on one review leaves the same weights with either kernel."""
    settings = STAGES[key].settings
    X, y = _review(key), np.array([1.0])
    after = {}
    for kernel in ("dense", "rows"):
        net = _net()
        fit(net, X, y, settings.with_(kernel=kernel), np.random.default_rng(0),
            progress=False)
        after[kernel] = net.params()
    moved = after["dense"]["W1"] != _net().W1
    assert moved.any(axis=1).tolist() == [False, True, False, False, True, False, True]
    for name, value in after["dense"].items():
        np.testing.assert_allclose(value, after["rows"][name], rtol=1e-5, atol=1e-7,
                                   err_msg=name)


def test_stages_2_and_3_differ_only_in_kernel():
    a, b = STAGES["2"].settings, STAGES["3"].settings
    assert a.with_(kernel=b.kernel) == b


def test_the_last_stage_is_trains_defaults():
    last = list(STAGES.values())[-1]
    assert last.settings == Settings()
    assert f"1-{Settings().ngrams} grams" in last.changed


@pytest.mark.parametrize("key", list(STAGES))
def test_every_stage_trains(key):
    stage = STAGES[key]
    model = train(TEXTS, LABELS, stage.settings, progress=False)
    if stage.settings.patience and stage.settings.val_fraction:  # may stop early
        assert 1 <= len(model.history) <= model.settings["epochs"]
    else:
        assert len(model.history) == model.settings["epochs"]
    assert model.settings["epochs"] == stage.settings.for_rows(model.info["n_train"]).epochs
    assert np.isfinite(model.history[-1]["loss"])
    predicted = model.net.logits(model.encode(TEXTS)) > 0
    assert np.mean(predicted == (LABELS == 1)) >= 0.75


def _write_csv(path):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["review", "sentiment"])
        w.writerows([t, "positive" if y else "negative"] for t, y in zip(TEXTS, LABELS))
    return path


def test_compare_json_through_the_cli(tmp_path):
    data = _write_csv(tmp_path / "reviews.csv")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "sentiment", "compare", str(data), "--test",
                        str(data), "--limit", "50", "--json", "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    # the full run: every stage, then the references
    assert [row["stage"] for row in rows] == list(STAGES) + list(REFERENCES)
    assert [row["kind"] for row in rows] == ["stage"] * len(STAGES) + ["reference"] * 2
    for row in rows:
        assert set(row) == set(ROW_KEYS)
        assert row["test_accuracy"] >= 0.75
        assert row["vectorize_seconds"] > 0 and row["fit_seconds"] > 0
    stages = rows[:len(STAGES)]
    assert [row["limited"] for row in stages] == [50 if s.slow else None
                                                  for s in STAGES.values()]
    assert rows[0]["speedup"] == 1.0
    defaults = stages[-1]
    for ref in rows[len(STAGES):]:
        # the defaults' features and training reviews; timed over the whole fit
        assert ref["vocabulary"] == defaults["vocabulary"]
        assert ref["train_reviews"] == defaults["train_reviews"] < len(TEXTS)
        assert ref["epochs"] is ref["seconds_per_epoch"] is ref["speedup"] is None
        assert ref["limited"] is ref["time_ratio"] is None
        assert ref["reviews_per_second"] == pytest.approx(ref["train_reviews"]
                                                          / ref["fit_seconds"])
        assert ref["changed"].startswith("reference, not a stage: binary 1-3 grams")
        assert "the best on the validation split" in ref["changed"]
    written = {p.name for p in out.iterdir()}
    assert {"comparison.csv", "comparison.md", "README.md"} <= written
    readme = (out / "README.md").read_text()
    assert "python -m sentiment compare" in readme
    assert "## The references" in readme and "| ref. NBSVM recipe |" in readme
    with open(out / "comparison.csv", newline="", encoding="utf-8") as f:
        assert [row["kind"] for row in csv.DictReader(f)][-2:] == ["reference"] * 2


@pytest.mark.parametrize("argv, references, flag", [
    ([], True, None),
    (["--no-references"], False, "--no-references"),
    (["--stages", "5", "7"], False, None),
    (["--stages", "7", "--references"], True, "--references"),
])
def test_references_come_with_the_full_run(argv, references, flag):
    """References run with every stage (or when asked), not with chosen stages."""
    args = build_parser().parse_args(["compare", *argv])
    assert with_references(args) is references
    command = command_line(args).split()
    assert ("--references" in command, "--no-references" in command) == (
        flag == "--references", flag == "--no-references")


def test_references_only_beside_stage_7():
    rows = compare(TEXTS, LABELS, TEXTS, LABELS, ["7"], references=True, progress=False)
    assert [(r["stage"], r["kind"]) for r in rows] == [
        ("7", "stage"), ("lr", "reference"), ("nbsvm", "reference")]
    assert any("against reference NBSVM recipe" in line for line in summary(rows))


def test_nbsvm_ratio_is_our_nb_scaling():
    """The reference's r, column by column, is the log ratio the defaults scale by."""
    features = reference_features(TEXTS, LABELS, TEXTS[:2], Settings(val_fraction=0.0))
    r = nb_log_ratio(features.X, features.y)
    vocab = fit_vocabulary(TEXTS, LABELS, ngrams=3, min_count=2)[0]
    ours = dict(zip(vocab.words, vocab.log_ratio()))
    theirs = dict(zip(vectorizer(3, 2).fit(TEXTS).get_feature_names_out(), r))
    assert ours.keys() == theirs.keys()
    for word, value in ours.items():
        assert theirs[word] == pytest.approx(value, rel=1e-5), word


def test_compare_rejects_a_negative_limit(tiny_csv):
    r = subprocess.run([sys.executable, "-m", "sentiment", "compare", str(tiny_csv),
                        "--limit", "-1"], capture_output=True, text=True)
    assert r.returncode == 2
    assert "--limit" in r.stderr and "Traceback" not in r.stderr


def test_a_diverging_stage_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    """A stage whose loss becomes NaN ends compare with one line and exit 2."""
    from dataclasses import replace

    from sentiment.cli import main
    from sentiment.lab import stages

    data = _write_csv(tmp_path / "reviews.csv")
    wild = replace(stages.STAGES["5"], settings=stages.STAGES["5"].settings.with_(
        lr=1e30, lr_decay=False, init_scale=1.0))
    monkeypatch.setitem(stages.STAGES, "5", wild)
    assert main(["compare", str(data), "--test", str(data), "--stages", "5"]) == 2
    err = capsys.readouterr().err
    assert "a stage diverged" in err and "lower the learning rate" in err
    assert "Traceback" not in err
