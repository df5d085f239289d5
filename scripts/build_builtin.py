"""Build the model shipped inside the package: ``sentiment/model/imdb.npz``.

It is what the default ``train`` writes on the IMDB train split (the compact model),
scored on the test split; the file records what it was trained on, which ``predict``
says when it uses it. Run it again whenever the model format or the tokenizer changes
(the tests load the built-in model and check its predictions)::

    SENTIMENT_DATA=../shared/data python scripts/build_builtin.py
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from sentiment.io.paths import BUILTIN
from sentiment.io.reader import imdb_paths
from sentiment.model.model import Model


def main() -> None:
    train, test = imdb_paths()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.npz"
        out = subprocess.run([sys.executable, "-m", "sentiment", "train", str(train),
                              "--test", str(test), "--model", str(path), "--json"],
                             check=True, capture_output=True, text=True).stdout
        result = [json.loads(x) for x in out.splitlines() if "test_accuracy" in x][0]
        model = Model.load(path)
    model.info["source"] = "IMDB movie reviews, train split (25,000)"
    model.info["test_accuracy"] = result["test_accuracy"]
    model.info.pop("cache", None)  # the folders of the machine that built it
    BUILTIN.parent.mkdir(exist_ok=True)
    model.save(BUILTIN, smallest=True)
    print(f"{BUILTIN}: {BUILTIN.stat().st_size / 1e6:.1f} MB, {len(model.vocab):,} features, "
          f"{result['test_accuracy']:.2%} on {result['n_test']:,} test reviews")


if __name__ == "__main__":
    main()
