"""The main path through the real CLI on a tiny corpus: train, predict, evaluate."""
import json
import subprocess
import sys


def run(*args, input=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "sentiment", *map(str, args)],
                          capture_output=True, text=True, input=input, cwd=cwd)


def test_train_predict_evaluate(tiny_csv, tmp_path):
    model = tmp_path / "m.npz"
    r = run("train", tiny_csv, "--model", model, "--epochs", "20", "--val-fraction", "0",
            "--min-count", "1", "--lr", "0.05")
    assert r.returncode == 0, r.stderr
    assert model.exists()
    r = run("predict", "--model", model, "--json", "loved it, wonderful", "awful and boring")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["label"] for row in rows] == ["positive", "negative"]
    assert set(rows[0]["probabilities"]) == {"negative", "positive"}
    r = run("evaluate", tiny_csv, "--model", model, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["accuracy"] == 1.0


_BLAS_THREADS = """\
import atexit, runpy, sys
from threadpoolctl import threadpool_info
atexit.register(lambda: print("blas", sorted({p["num_threads"] for p in threadpool_info()
                                              if p["internal_api"] == "openblas"})))
sys.argv = ["sentiment", "predict", "a fine film"]
if DOOR == "module":  # python -m sentiment
    runpy.run_module("sentiment", run_name="__main__")
else:  # the `sentiment` script: sentiment.cli:main, as pip writes it
    from sentiment.cli import main
    sys.exit(main())
"""


def test_the_command_line_runs_one_blas_thread_unless_told(monkeypatch):
    # OpenBLAS's threads spin after numpy's import and each product: the command line
    # starts one, unless the user's OPENBLAS_NUM_THREADS says otherwise
    import os

    import pytest

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: OpenBLAS starts one thread anyway")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    told = {}
    for value in (None, "2"):
        if value is not None:
            monkeypatch.setenv("OPENBLAS_NUM_THREADS", value)
        for door in ("module", "script"):
            r = subprocess.run([sys.executable, "-c", f"DOOR = {door!r}\n" + _BLAS_THREADS],
                               capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            told[value, door] = r.stdout.splitlines()[-1]
    assert told == {(None, "module"): "blas [1]", (None, "script"): "blas [1]",
                    ("2", "module"): "blas [2]", ("2", "script"): "blas [2]"}
