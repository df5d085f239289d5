"""End to end on IMDB, side by side with the peers: whole processes, one run, alternated.

Each system trains on the IMDB train split and scores the whole test split, start to
finish, as PEERS.md measures them:

* this project: ``python -m sentiment train TRAIN --test TEST`` (the defaults);
* Vowpal Wabbit (``vowpalwabbit``), logistic loss, 2^24 hashed features, bigrams, 1 pass;
  the text lower-cased, ``<br />`` dropped, punctuation split off, in Python;
* fastText (``fasttext``), bigrams, dim 10, 5 epochs, lr 0.5, 2 threads; the same text.

Both peers get the training rows shuffled (seeded): the IMDB train file is sorted by label,
which an online learner does not survive (VW scored 50%, fastText 68% unshuffled).

A peer whose package is not importable is left out (they are never dependencies of this
project: install them in the benchmarking environment only). Runs alternate (ours, VW,
fastText, ours, ...) so that a noisy neighbour hits all; medians of ``--repeat``. Usage::

    SENTIMENT_DATA=../shared/data python scripts/peers.py [--repeat 3] [--out docs/peers.md]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sentiment.data import imdb_paths
from sentiment.lab.scripts import write_report
from sentiment.lab.timing import peak_memory

PY = sys.executable

PREP = r"""
import csv, gzip, random, re
def rows(path, shuffle=False):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8") as f:
        r = csv.reader(f); next(r)
        out = []
        for text, label, *_ in r:
            text = re.sub(r"<br\s*/?>", " ", text.lower())
            text = re.sub(r"([!?.,;:()\"])", r" \1 ", text)
            out.append((" ".join(text.split()), label == "positive"))
    if shuffle:  # the IMDB train file is sorted by label; online learners need a shuffle
        random.Random(0).shuffle(out)
    return out
"""

VW = PREP + r"""
import sys, vowpalwabbit
train = [(t.replace(":", ";").replace("|", "/"), y) for t, y in rows(sys.argv[1], True)]
test = [(t.replace(":", ";").replace("|", "/"), y) for t, y in rows(sys.argv[2])]
ws = vowpalwabbit.Workspace("--loss_function logistic -b 24 --ngram 2 --quiet")
for t, y in train:
    ws.learn(f"{1 if y else -1} | {t}")
right = sum((ws.predict(f"| {t}") > 0) == y for t, y in test)  # the raw margin
print(right / len(test))
"""

FASTTEXT = PREP + r"""
import sys, fasttext
for path, out, mix in ((sys.argv[1], sys.argv[3] + ".train", True),
                       (sys.argv[2], sys.argv[3] + ".test", False)):
    with open(out, "w") as o:
        for t, y in rows(path, mix):
            o.write(f"__label__{int(y)} {t}\n")
m = fasttext.train_supervised(sys.argv[3] + ".train", wordNgrams=2, dim=10, epoch=5, lr=0.5,
                              thread=2, verbose=0)
print(m.test(sys.argv[3] + ".test")[1])
"""


def run_measured(cmd: list[str], tmp: Path) -> tuple[float, float, str]:
    """(wall seconds, peak resident MB, stdout) of one whole process."""
    peak, wall = peak_memory(cmd, tmp / "stdout")
    return wall, peak, (tmp / "stdout").read_text()


def importable(module: str) -> bool:
    return subprocess.run([PY, "-c", f"import {module}"], capture_output=True).returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", help="write the report (Markdown) here")
    args = ap.parse_args()
    train, test = map(str, imdb_paths())
    with tempfile.TemporaryDirectory() as tmp:
        systems = {"sentiment (defaults)": [PY, "-m", "sentiment", "train", train, "--test",
                                            test, "--model", str(Path(tmp) / "m.npz"),
                                            "--json", "-q"]}
        if importable("vowpalwabbit"):
            systems["Vowpal Wabbit, bigrams, 1 pass"] = [PY, "-c", VW, train, test]
        if importable("fasttext"):
            systems["fastText, bigrams, 5 epochs, 2 threads"] = [
                PY, "-c", FASTTEXT, train, test, str(Path(tmp) / "ft")]
        results = {name: [] for name in systems}
        for _ in range(args.repeat):
            for name, cmd in systems.items():
                wall, peak, out = run_measured(cmd, Path(tmp))
                if name.startswith("sentiment"):
                    acc = [json.loads(x) for x in out.splitlines() if "test_accuracy" in x][0]
                    acc = acc["test_accuracy"]
                else:
                    acc = float(out.strip().splitlines()[-1])
                results[name].append((wall, peak, acc))
    ours = statistics.median(w for w, _, _ in results["sentiment (defaults)"])
    lines = ["# End to end on IMDB, side by side with the peers", "",
             f"`python scripts/peers.py --repeat {args.repeat}`; {time.strftime('%Y-%m-%d')}; "
             "whole processes (train on the 25,000 train reviews, score the 25,000 test "
             f"reviews), alternated, medians of {args.repeat}.", "",
             "| system | wall | peak memory | test accuracy | our wall / its wall |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        wall = statistics.median(w for w, _, _ in r)
        peak = statistics.median(m for _, m, _ in r)
        acc = statistics.median(a for _, _, a in r)
        lines.append(f"| {name} | {wall:.2f} s | {peak:,.0f} MB | {acc:.2%} | "
                     f"{ours / wall:.2f} |")
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
