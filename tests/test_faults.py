"""Faults through the real command line: what the user sees, the exit code, what is kept."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus import NEGATIVE, POSITIVE

from sentiment.cli import main

TEXTS = (POSITIVE + NEGATIVE) * 5
LABELS = (["positive"] * 4 + ["negative"] * 4) * 5


def write_csv(path: Path, rows, header=("review", "sentiment")) -> Path:
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def cli(*args, stdout=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sentiment", *map(str, args)],
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("model")
    data = write_csv(d / "r.csv", zip(TEXTS, LABELS))
    r = cli("train", data, "--model", d / "m.npz", "--min-count", "1", "--epochs", "3")
    assert r.returncode == 0, r.stderr
    return d / "m.npz"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["predict", "a wonderful film"],
                                  ["explain", "a wonderful film"],
                                  ["similar", "wonderful", "--min-count", "0"],
                                  ["evaluate", "DATA"], ["predict", "--file", "DATA"]])
def test_a_full_stdout_is_one_line_and_exit_1(model, tmp_path, args):
    data = write_csv(tmp_path / "r.csv", zip(TEXTS, LABELS))
    args = [data if a == "DATA" else a for a in args]
    with open("/dev/full", "w") as full:
        r = cli(*args, "--model", model, stdout=full)
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        "error: writing failed (No space left on device) before the output was complete; "
        "what was written is whole up to there")
    assert "Traceback" not in r.stderr


def test_a_reader_that_leaves_is_one_line_and_exit_1(model, tmp_path):
    data = write_csv(tmp_path / "r.csv", zip(TEXTS * 300, LABELS * 300))
    proc = subprocess.Popen([sys.executable, "-m", "sentiment", "predict", "--file", str(data),
                             "--model", str(model)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("review,sentiment,label")
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    assert "error: the reader of stdout left before the output was complete" in err
    assert "Traceback" not in err


def test_an_internal_error_is_one_line_and_exit_1(monkeypatch, capsys, model):
    from sentiment.cli import predict

    def broken(args):
        raise RuntimeError("something the code did not expect")

    monkeypatch.setattr(predict, "cmd_explain", broken)
    assert main(["explain", "a film", "--model", str(model)]) == 1
    err = capsys.readouterr().err
    assert err == ("internal error: RuntimeError: something the code did not expect; please "
                   "report it with the command (SENTIMENT_DEBUG=1 shows the traceback)\n")
    monkeypatch.setenv("SENTIMENT_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["explain", "a film", "--model", str(model)])


def test_the_data_report_counts_classes_duplicates_and_overlap(tmp_path):
    train = write_csv(tmp_path / "train.csv", zip(TEXTS, LABELS))  # each text 5 times
    test = write_csv(tmp_path / "test.csv", zip(TEXTS[:8] + ["a new text"], LABELS[:9]))
    r = cli("train", train, "--test", test, "--model", tmp_path / "m.npz", "--min-count",
            "1", "--epochs", "2")
    assert r.returncode == 0, r.stderr
    assert (f"{train}: 40 rows; negative 20 (50.0%), positive 20 (50.0%); 32 duplicate "
            "texts (80.0%)") in r.stderr
    assert f"{test}: warning: 8 of its 9 texts are also in {train}" in r.stderr


@pytest.mark.parametrize("n,m", [(0, 0), (0, 5), (7, 0), (1000, 300), (50, 5000)])
def test_the_reports_unique_and_overlap_equal_numpys(n, m):
    import numpy as np

    from sentiment.cli.report import is_in_sorted, sorted_unique

    rng = np.random.default_rng(n + m)
    a = rng.integers(0, 400, n).astype(np.uint64) * np.uint64(2**54)  # repeats, and past
    b = rng.integers(0, 500, m).astype(np.uint64) * np.uint64(2**54)  # either end
    u = sorted_unique(b)
    assert np.array_equal(u, np.unique(b))
    assert np.array_equal(is_in_sorted(a, u), np.isin(a, b))


def test_duplicate_header_names_and_spanning_quotes_are_said(tmp_path):
    rows = [(t, t, y) for t, y in zip(TEXTS, LABELS)]
    dup = write_csv(tmp_path / "dup.csv", rows, ("review", "review", "sentiment"))
    r = cli("train", dup, "--model", tmp_path / "m.npz", "--min-count", "1", "--epochs", "1")
    assert r.returncode == 0, r.stderr
    assert ("the header names column 'review' more than once; the first is 'review', this "
            "one is read as 'review.1'") in r.stderr
    span = write_csv(tmp_path / "span.csv", zip(TEXTS, LABELS))
    with open(span, "a") as f:  # a quote opened in row 42 and closed 121 lines later
        f.write('"an open quote,positive\n' + "".join(f"row {i},negative\n" for i in range(120))
                + 'closed",negative\n')
    r = cli("train", span, "--model", tmp_path / "m.npz", "--min-count", "1", "--epochs", "1")
    assert r.returncode == 0, r.stderr
    assert (f"{span}: warning: 1 text in column 'review' span 100 lines or more (row 42): a "
            "quote left open swallows the rows after it") in r.stderr


def test_stdin_in_any_state_gets_a_clear_answer(model):
    cmd = [sys.executable, "-m", "sentiment", "predict", "--model", str(model)]
    r = subprocess.run(["bash", "-c", '"$@" <&-', "bash", *cmd], capture_output=True,
                       text=True, timeout=60)  # stdin closed
    assert r.returncode == 2
    assert r.stderr == "error: no TEXT given and stdin is closed; pass texts, or --file FILE\n"
    r = subprocess.run(cmd, input=b"\xef\xbb\xbfwonderful\na wonderful \xff film\n",
                       capture_output=True, timeout=60, env={**os.environ, "LC_ALL": "C"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 2 and all(x.split("\t")[0] in ("positive", "negative") for x in lines)
    plain = subprocess.run(cmd + ["wonderful"], capture_output=True, timeout=60).stdout
    assert lines[0] == plain.decode().strip()  # the byte-order mark is not a word


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_log_that_cannot_be_written_does_not_stop_training(tmp_path):
    data = write_csv(tmp_path / "r.csv", zip(TEXTS, LABELS))
    r = cli("train", data, "--model", tmp_path / "m.npz", "--min-count", "1", "--epochs", "2",
            "--log", "/dev/full")
    assert r.returncode == 0, r.stderr
    assert "warning: /dev/full: cannot write the log (No space left on device)" in r.stderr
    assert (tmp_path / "m.npz").exists()


def test_quiet_leaves_the_environment_as_it_was(monkeypatch, capsys, model):
    from sentiment.cli import common

    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert main(["predict", "-q", "--model", str(model), "a film"]) == 0
    assert main(["predict", "--model", str(model), "a film"]) == 0
    assert os.environ.get("TQDM_DISABLE") == "1" and common.QUIET is False


def test_two_trains_writing_one_model_at_once_leave_a_whole_model(tmp_path):
    from sentiment.model.model import Model

    data = write_csv(tmp_path / "r.csv", zip(TEXTS * 20, LABELS * 20))
    model = tmp_path / "m.npz"
    cmd = [sys.executable, "-m", "sentiment", "train", str(data), "--model", str(model),
           "--min-count", "1", "--epochs", "3", "-q"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert Model.load(model).predict(["a wonderful film"]) == ["positive"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "r.csv"]  # no temp left


def test_a_chart_that_cannot_be_written_keeps_the_model(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    import errno

    from matplotlib.figure import Figure

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full)
    data = write_csv(tmp_path / "r.csv", zip(TEXTS, LABELS))
    code = main(["train", str(data), "--model", str(tmp_path / "m.npz"), "--min-count", "1",
                 "--epochs", "2", "--plot", str(tmp_path / "c.png")])
    err = capsys.readouterr().err
    assert code == 1 and "writing failed (No space left on device)" in err
    assert (tmp_path / "m.npz").exists() and not (tmp_path / "c.png").exists()
    assert "Traceback" not in err


def test_explain_json_of_bytes_that_are_not_utf8(model):
    r = subprocess.run([sys.executable, "-m", "sentiment", "explain", b"caf\xe9 wonderful",
                        "--json", "--model", str(model)], capture_output=True, timeout=60,
                       env={**os.environ, "LC_ALL": "C.UTF-8"})
    assert r.returncode == 0, r.stderr
    assert b'"label": "positive"' in r.stdout and b"Traceback" not in r.stderr
