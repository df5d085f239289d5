"""The peers, side by side with us: whole processes on the same data in the same run.

* ours: ``python -m sentiment train TRAIN --test TEST`` (the defaults);
* Vowpal Wabbit (``vowpalwabbit``), logistic loss, 2^24 hashed features, bigrams, 1 pass;
  the text lower-cased, ``<br />`` dropped, punctuation split off, in Python (as
  ``PEERS.md`` measures it);
* fastText (``fasttext``), bigrams, dim 10, 5 epochs, lr 0.5, 2 threads; the same text;
* ``predict --file TEST`` against ``pandas.read_csv`` of the same file.

Both peers get the training rows shuffled (seeded): the IMDB train file is sorted by label,
which an online learner does not survive (VW scored 50%, fastText 68% unshuffled). A peer
whose package is not importable is left out: they are never dependencies of this project
(install them in the benchmarking environment only). Used by ``bench`` (rows ``peer_vw``,
``peer_fasttext``, ``predict_file``) and ``scripts/peers.py``.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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

READ = "import sys, pandas as pd; pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)"

OURS = "sentiment (defaults)"
NAMES = {"vowpalwabbit": "Vowpal Wabbit, bigrams, 1 pass",
         "fasttext": "fastText, bigrams, 5 epochs, 2 threads"}


def importable(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"],
                          capture_output=True).returncode == 0


def commands(train, test, tmp: Path) -> dict[str, list[str]]:
    """The command of each system that can run here: ours, then the importable peers."""
    py = sys.executable
    out = {OURS: [py, "-m", "sentiment", "train", str(train), "--test", str(test),
                  "--model", str(tmp / "peers-model.npz"), "--json", "-q"]}
    if importable("vowpalwabbit"):
        out[NAMES["vowpalwabbit"]] = [py, "-c", VW, str(train), str(test)]
    if importable("fasttext"):
        out[NAMES["fasttext"]] = [py, "-c", FASTTEXT, str(train), str(test), str(tmp / "ft")]
    return out


def accuracy(name: str, stdout: str) -> float:
    """The test accuracy a system printed."""
    if name == OURS:
        return [json.loads(x) for x in stdout.splitlines() if "test_accuracy" in x][0][
            "test_accuracy"]
    return float(stdout.strip().splitlines()[-1])


def run_all(train, test, repeat: int, tmp: Path, note=None) -> dict[str, list[tuple]]:
    """``repeat`` rounds of every system, alternated (ours, VW, fastText, ours, ...): per
    system a list of (wall seconds, peak MB, test accuracy)."""
    from .timing import peak_memory

    systems = commands(train, test, tmp)
    results: dict[str, list[tuple]] = {name: [] for name in systems}
    for i in range(repeat):
        for name, cmd in systems.items():
            peak, wall = peak_memory(cmd, tmp / "stdout")
            results[name].append((wall, peak, accuracy(name, (tmp / "stdout").read_text())))
            if note is not None:
                note(f"round {i + 1}: {name}: {wall:.2f} s, {peak:,.0f} MB")
    return results


def scoring_command(model, test, tmp: Path) -> list[str]:
    """``predict --file TEST`` with ``model``, written into ``tmp``."""
    return [sys.executable, "-m", "sentiment", "predict", "--model", str(model), "--file",
            str(test), "--output", str(tmp / "scores.csv")]


def scoring(model, test, repeat: int, tmp: Path) -> tuple[list, list]:
    """``predict --file TEST`` and ``pandas.read_csv(TEST)``, alternated: per side a list
    of (wall seconds, peak MB)."""
    from .timing import peak_memory

    ours = scoring_command(model, test, tmp)
    pandas = [sys.executable, "-c", READ, str(test)]
    mine, theirs = [], []
    for _ in range(repeat):
        peak, wall = peak_memory(ours)
        mine.append((wall, peak))
        peak, wall = peak_memory(pandas)
        theirs.append((wall, peak))
    return mine, theirs


def measure_peers(data, repeat: int, note, tmp: Path) -> list[dict]:
    """The bench rows: our whole ``train --test`` against each importable peer's (our wall
    / theirs), and ``predict --file`` against ``pandas.read_csv`` (wall and peak)."""
    from .measures import make_row

    missing = [m for m in NAMES if not importable(m)]
    if missing:
        note(f"peers: {', '.join(missing)} not importable, left out (pip install "
             f"{' '.join(missing)} in the benchmarking environment to time them)")
    note(f"peers: {repeat} rounds of whole processes, alternated")
    results = run_all(data.train_path, data.test_path, repeat, tmp, note)
    ours = results.pop(OURS)
    rows = []
    for module, name in NAMES.items():
        if name not in results:
            continue
        theirs = results[name]
        details = {"accuracy_ours": ours[-1][2], f"accuracy_{module}": theirs[-1][2],
                   "peak_mb_ours": max(p for _, p, _ in ours),
                   f"peak_mb_{module}": max(p for _, p, _ in theirs)}
        rows.append(make_row(f"peer_{module}", f"train + test against {name.split(',')[0]}",
                             "python -m sentiment train TRAIN --test TEST", name,
                             [w for w, _, _ in ours], [w for w, _, _ in theirs], "cost",
                             details=details))
    note(f"predict --file against pandas.read_csv: {repeat} pairs")
    model = tmp / "peers-model.npz"  # trained by our runs above
    mine, pandas = scoring(model, data.test_path, repeat, tmp)
    for key, what, i in (("predict_file", "wall", 0), ("predict_file_memory", "peak", 1)):
        rows.append(make_row(key, f"predict --file of the test split, {what}",
                             "python -m sentiment predict --file TEST --output OUT",
                             "pandas.read_csv(TEST)", [m[i] for m in mine],
                             [p[i] for p in pandas], "cost", unit="s" if i == 0 else "MB",
                             details={"model": str(model)}))
    return rows
