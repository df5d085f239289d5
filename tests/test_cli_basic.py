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
