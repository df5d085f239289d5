"""The benchmark on a tiny synthetic corpus: the report's structure, the vocabulary check,
the ratios and targets, the CLI. Speed itself is never asserted here."""
import csv
import json
import sys

import numpy as np
import pytest

from sentiment.cli import main
from sentiment.features.tokens import tokenize
from sentiment.lab import bench, measures, references, timing
from sentiment.lab.bench_report import format_table, markdown, result_text
from sentiment.native import loops as fast

ROW_KEYS = ["tokenize", "tokenize_unigrams", "epoch", "epoch_stage5", "end_to_end",
            "predict_startup", "memory", "threads_epoch", "threads_tokenize"] + (
    ["compiled"] if fast.compiled() is not None else [])
PEER_KEYS = ["peer_vowpalwabbit", "peer_fasttext", "predict_file", "predict_file_memory"]
POS = "great wonderful loved brilliant best fun moving superb".split()
NEG = "awful boring hated worst dull stupid waste terrible".split()
NEUTRAL = "the a film movie story acting music it was and of i this plot".split()


def _write(path, n, rng):
    """A balanced CSV of short reviews: neutral words, a few polar ones, '!' or '?'."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["review", "sentiment"])
        for i in range(n):
            words = [*rng.choice(NEUTRAL, 10), *rng.choice(POS if i % 2 else NEG, 3)]
            rng.shuffle(words)
            w.writerow([" ".join(words) + str(rng.choice(["!", ".", " ?"])),
                        "positive" if i % 2 else "negative"])
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("bench")
    return _write(folder / "train.csv", 240, rng), _write(folder / "test.csv", 60, rng)


@pytest.fixture(scope="module")
def report(files):
    return bench.run(*files, repeat=1, warmup=0, startup_runs=1, profile=True,
                     only=[m for m in measures.MEASUREMENTS if m != "peers"])


def test_report_structure(report, files):
    assert {"date", "machine", "version", "code", "repeat", "warmup", "settings", "data",
            "rows", "passed", "seconds"} <= set(report)
    assert {"cores", "cpu", "numpy", "scipy", "scikit-learn", "blas"} <= set(report["machine"])
    assert report["data"] == {"train": str(files[0]), "test": str(files[1]),
                              "train_reviews": 240, "test_reviews": 60}
    assert [r["key"] for r in report["rows"]] == ROW_KEYS
    for row in report["rows"]:
        for side in ("ours_value", "reference_value", "ratio"):
            assert set(row[side]) == {"median", "min", "max", "runs"}
            assert row[side]["median"] > 0
        assert (row["pass"] is None) == (row["key"] not in measures.TARGETS)
    assert set(report["passed"]) == set(measures.TARGETS) - set(PEER_KEYS)
    memory = report["rows"][ROW_KEYS.index("memory")]
    assert memory["unit"] == "MB" and 10 < memory["ours_value"]["max"] < 1500
    e2e = report["rows"][ROW_KEYS.index("end_to_end")]["details"]
    assert 0.5 <= e2e["accuracy_ours"] <= 1 and 0.5 <= e2e["accuracy_sklearn"] <= 1
    json.dumps(report)  # JSON-able as it is


def test_vocabularies_agree_when_configured_alike(report):
    for row in report["rows"][:2]:
        a = row["details"]["agreement"]
        assert a["identical"] and a["agree"]
        assert a["ours"] == a["sklearn"] == a["common"] > 20
        assert a["only_ours"] == a["only_sklearn"] == a["duplicates_ours"] == 0
        assert a["train"]["rows_differing"] == a["test"]["rows_differing"] == 0
        assert a["train"]["nnz_ours"] == a["train"]["nnz_sklearn"] > 0


def test_agreement_check_sees_a_different_tokenizer(files):
    """CountVectorizer's default pattern drops '!', '?' and one-letter words: reported."""
    from sklearn.feature_extraction.text import CountVectorizer

    data = bench.load_data(*files)
    mine = measures.our_features(data.train_texts, data.train_labels, data.test_texts, 1, 1)
    theirs = measures.sklearn_features(data.train_texts, data.test_texts, 1, 1,
                                    vec=CountVectorizer(binary=True))
    a = references.agreement(*mine, *theirs)
    assert not a["identical"] and not a["agree"]
    assert a["only_sklearn"] == 0 and set(a["examples_only_ours"]) == {"!", "?", "a", "i"}
    dropped = {"!", "?", "a", "i"}
    for split, texts in (("train", data.train_texts), ("test", data.test_texts)):
        expected = sum(bool(dropped & set(tokenize(t))) for t in texts)
        assert 0 < a[split]["rows_differing"] == expected


def test_vocabulary_agreement_counts():
    a = references.vocabulary_agreement(["good", "bad film", "bad film", "!"],
                                   np.array(["good", "bad film", "great"]))
    assert a == {"ours": 4, "sklearn": 3, "common": 2, "duplicates_ours": 1,
                 "only_ours": 1, "only_sklearn": 1, "examples_only_ours": ["!"],
                 "examples_only_sklearn": ["great"], "identical": False}


def test_ratios_and_targets():
    row = measures.make_row("tokenize", "t", "ours", "ref", [1.0, 2.0], [3.0, 8.0], "speedup")
    assert row["ratio"]["runs"] == [3.0, 4.0] and row["ratio"]["median"] == 3.5
    assert row["pass"] is True and row["margin"] == pytest.approx(3.5 / 3 - 1)
    row = measures.make_row("epoch", "e", "ours", "floor", [3.0, 5.0], [1.0, 2.0], "cost")
    assert row["ratio"]["runs"] == [3.0, 2.5] and row["pass"] is False
    assert row["margin"] == pytest.approx(2 / 2.75 - 1)
    row = measures.make_row("memory", "m", "train", "budget", [900.0, 1600.0],
                         [1500.0, 1500.0], "cost", unit="MB")
    assert row["pass"] is False  # the largest run counts
    assert row["margin"] == pytest.approx(1500 / 1600 - 1)
    assert result_text(row) == "FAIL (-6%)"
    assert measures.make_row("threads_epoch", "x", "2", "1", [1.0], [1.0], "speedup")["pass"] \
        is None


def test_paired_alternates_and_discards_warmup():
    calls = []
    ours, ref, last = timing.paired(lambda: calls.append("o") or "O",
                                   lambda: calls.append("r") or "R", repeat=2, warmup=1)
    assert calls == ["o", "r", "r", "o", "o", "r"]
    assert len(ours) == len(ref) == 2 and last == ("O", "R")


def test_table_and_markdown(report):
    table = format_table(report)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["measurement", "ours", "reference"]
    results = [line.split()[-2] for line in lines[2:2 + len(ROW_KEYS)]]
    judged = set(measures.TARGETS) - set(PEER_KEYS)
    assert sum(r in ("PASS", "FAIL") for r in results) == len(judged)
    assert "vocabularies" in table and "identical" in table
    md = markdown(report, "python -m sentiment bench --repeat 1")
    assert md.startswith("# Benchmarks\n")
    assert "python -m sentiment bench --repeat 1" in md and "## Results" in md
    assert "scikit-learn" in md and "cores" in md
    assert md.count("\n| ") == len(ROW_KEYS) + 2  # header, rule, rows
    if not all(report["passed"].values()):
        assert "## Profiles of the rows that miss their target or meet it by less" in md


def test_cli_json_and_markdown_out(files, tmp_path, capsys):
    out = tmp_path / "benchmarks.md"
    code = main(["bench", "--train", str(files[0]), "--test", str(files[1]), "--repeat", "1",
                 "--only", "tokenize", "--json", "--out", str(out)])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["key"] for r in report["rows"]] == ["tokenize", "tokenize_unigrams"]
    assert report["command"].endswith("--repeat 1 --only tokenize --out " + str(out))
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks") and report["command"] in text


@pytest.mark.parametrize("args, message", [
    (["--only", "nope"], "--only: unknown measurement 'nope'; choose from tokenize"),
    (["--repeat", "0"], "--repeat must be at least 1; got 0"),
    (["--train", "x.csv"], "pass both --train and --test, or neither (IMDB)"),
    (["--out", "/nonexistent/folder/b.md"], "folder /nonexistent/folder does not exist"),
])
def test_cli_usage_errors(args, message, capsys, files):
    code = main(["bench", *args] if "--train" in args or "--out" not in args else
                ["bench", "--train", str(files[0]), "--test", str(files[1]), *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_peak_memory_is_the_commands_own():
    """The bench process's memory must not leak into the measured command's peak."""
    held = np.ones(400_000_000 // 8)  # 400 MB, touched
    peak, seconds = timing.peak_memory([sys.executable, "-c", "pass"])
    assert held.sum() > 0
    assert 1 < peak < 150 and seconds > 0
    peak_big, _ = timing.peak_memory([sys.executable, "-c",
                                     "import numpy; a = numpy.ones(50_000_000)"])
    assert peak_big > 400 > peak  # 400 MB of its own does count


def test_peak_memory_sums_children_with_memory_of_their_own_only():
    """A child that has not exec'd holds its parent's pages (subprocess's vfork, a fork):
    counted, the parent's memory counted twice; a child that has its own counts."""
    script = ("import os, subprocess, sys, time, numpy\n"
              "held = numpy.ones(300_000_000 // 8)\n"
              "pid = os.fork()\n"
              "if pid == 0:\n"
              "    time.sleep(1.5)\n"
              "    os._exit(0)\n"
              "os.waitpid(pid, 0)\n"
              "if sys.argv[1] == 'own':\n"
              "    subprocess.run([sys.executable, '-c', 'import numpy, time; "
              "a = numpy.ones(300_000_000 // 8); time.sleep(1.5)'], check=True)\n")
    shared, _ = timing.peak_memory([sys.executable, "-c", script, "shared"])
    own, _ = timing.peak_memory([sys.executable, "-c", script, "own"])
    assert 300 < shared < 450  # the parent's 300 MB, once
    assert own > 550  # and the child's own 300 MB beside it


def test_peers_are_timed_when_importable_and_predict_file_against_pandas(files):
    from sentiment.lab import peers

    report = bench.run(*files, repeat=1, warmup=0, only=["peers"], profile=True)
    present = [k for k in PEER_KEYS
               if not k.startswith("peer_") or peers.importable(k.removeprefix("peer_"))]
    assert [r["key"] for r in report["rows"]] == present
    for row in report["rows"]:
        assert row["ratio_kind"] == "cost" and row["ratio"]["median"] > 0
        assert row["pass"] is not None
        if row["key"].startswith("peer_"):
            assert 0.5 <= row["details"]["accuracy_ours"] <= 1
        if row["margin"] < measures.CLOSE:  # where the whole command spent its time
            assert row["profile"] and {"function", "own_seconds"} <= set(row["profile"][0])
    memory = report["rows"][-1]
    assert memory["unit"] == "MB" and 10 < memory["reference_value"]["median"] < 1500
