"""How time and memory grow with the file: train and predict --file on synthetic files.

Builds the synthetic files first if they are missing (scripts/make_synthetic.py: sentences
of the IMDB train reviews joined into new reviews), then runs each command as a whole
process and reads its peak memory and wall time (sentiment.lab.timing.peak_memory):

- ``train FILE --test IMDB_TEST`` on IMDB train, 100k and 1M (and 500k with --fasttext);
- ``predict --file`` on the IMDB test split and on the 1M file, beside ``pandas.read_csv``
  of the same file in its own process;
- with --fasttext, fastText (pip package, 2 threads, bigrams, 5 epochs) on the 500k file in
  the same run, preprocessing in Python included;
- with --vw, Vowpal Wabbit (pip package, logistic loss, bigrams, 1 pass, streamed from the
  CSV 50,000 rows at a time, tokenized in Python) on the largest file, in rounds alternated
  with ``train`` at the defaults and at ``--max-memory BUDGET``: each round's ratios.

    SENTIMENT_DATA=../shared/data python scripts/scale.py --out docs/scale.md

Run it alone on the machine: it is a benchmark.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from sentiment.io.reader import imdb_paths  # noqa: E402
from sentiment.lab.peers import READ  # noqa: E402
from sentiment.lab.timing import code_version, machine, machine_line, peak_memory  # noqa: E402

PY = sys.executable
SIZES = {"100k": 100_000, "500k": 500_000, "1m": 1_000_000}

FASTTEXT = r"""
import csv, gzip, re, sys, time, fasttext
def prep(path, out):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8") as f, open(out, "w") as o:
        r = csv.reader(f); next(r)
        for text, label, *_ in r:
            text = re.sub(r"<br\s*/?>", " ", text.lower())
            text = re.sub(r"([!?.,;:()\"])", r" \1 ", text)
            o.write(f"__label__{label} {' '.join(text.split())}\n")
t = time.perf_counter()
prep(sys.argv[1], sys.argv[3] + ".train"); prep(sys.argv[2], sys.argv[3] + ".test")
m = fasttext.train_supervised(sys.argv[3] + ".train", wordNgrams=2, dim=10, epoch=5, lr=0.5,
                              thread=2, verbose=0)
n, p, _ = m.test(sys.argv[3] + ".test")
print(p)
"""

VW = r"""
import csv, gzip, itertools, re, sys, vowpalwabbit
def rows(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8") as f:
        r = csv.reader(f); next(r)
        while True:  # 50,000 rows at a time: memory flat whatever the file
            block = list(itertools.islice(r, 50_000))
            if not block:
                return
            for text, label, *_ in block:
                text = re.sub(r"<br\s*/?>", " ", text.lower())
                text = re.sub(r"([!?.,;:()\"])", r" \1 ", text)
                text = " ".join(text.split()).replace(":", ";").replace("|", "/")
                yield text, label == "positive"
ws = vowpalwabbit.Workspace("--loss_function logistic -b 24 --ngram 2 --quiet")
for t, y in rows(sys.argv[1]):
    ws.learn(f"{1 if y else -1} | {t}")
right = n = 0
for t, y in rows(sys.argv[2]):
    right += (ws.predict(f"| {t}") > 0) == y; n += 1
print(right / n)
"""


def run_train(path, test, tmp, extra=()) -> dict:
    model = Path(tmp) / "model.npz"
    log = Path(tmp) / "train.json"
    cmd = [PY, "-m", "sentiment", "train", str(path), "--test", str(test), "--model",
           str(model), "--json", *extra]
    peak, wall = peak_memory(cmd, log)
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    acc = next(x["test_accuracy"] for x in lines if "test_accuracy" in x)
    return {"peak_mb": peak, "seconds": wall, "test_accuracy": acc,
            "model_mb": model.stat().st_size / 1e6, "model": str(model)}


def vw_rounds(path, test, tmp, budget: str, rounds: int) -> dict:
    """``rounds`` rounds of train (defaults), train --max-memory ``budget`` and Vowpal
    Wabbit on ``path``, alternated: per system, each round's wall, peak and accuracy."""
    out = {"defaults": [], "budget": [], "vw": []}
    for i in range(rounds):  # alternated: the host's load hits all alike
        out["defaults"].append(run_train(path, test, tmp))
        out["budget"].append(run_train(path, test, tmp, ("--max-memory", budget)))
        peak, wall = peak_memory([PY, "-c", VW, str(path), str(test)], Path(tmp) / "vw.out")
        acc = float((Path(tmp) / "vw.out").read_text().split()[-1])
        out["vw"].append({"peak_mb": peak, "seconds": wall, "test_accuracy": acc})
        print(f"round {i + 1}: " + "; ".join(
            f"{k} {v[-1]['seconds']:.1f} s, {v[-1]['peak_mb']:,.0f} MB, "
            f"{v[-1]['test_accuracy']:.2%}" for k, v in out.items()), file=sys.stderr)
    return out


def against_vw(vw: dict, size: str, budget: str) -> str:
    """The alternated rounds against Vowpal Wabbit: medians, and each round's ratios."""
    from statistics import median

    def med(runs, key):
        return median(x[key] for x in runs)

    rows = [("this project, `train` defaults", vw["defaults"]),
            (f"this project, `train --max-memory {budget}`", vw["budget"]),
            ("Vowpal Wabbit 9, bigrams, 1 pass, streamed from the CSV (Python tokenizing "
             "included)", vw["vw"])]
    out = ["", f"## Against Vowpal Wabbit on the {size} file (same run)", "",
           f"The three were run {len(vw['vw'])} times, alternated (medians below; each "
           "round's ratios after the table; the ratio column is the median of the rounds' "
           "ratios to Vowpal Wabbit's wall time).", "",
           "| system | wall | ratio to VW | peak memory | IMDB test accuracy |",
           "| --- | ---: | ---: | ---: | ---: |"]
    for name, runs in rows:
        ratio = median(r["seconds"] / v["seconds"] for r, v in zip(runs, vw["vw"]))
        out.append(f"| {name} | {med(runs, 'seconds'):.1f} s | {ratio:.2f}x | "
                   f"{med(runs, 'peak_mb'):,.0f} MB | {med(runs, 'test_accuracy'):.2%} |")
    def each(a, b, key):
        return ", ".join(f"{x[key] / y[key]:.2f}x" for x, y in zip(a, b))

    out += ["", "Each round: defaults against Vowpal Wabbit, wall "
            + each(vw["defaults"], vw["vw"], "seconds") + "; peak memory "
            + each(vw["defaults"], vw["vw"], "peak_mb") + ". "
            f"`--max-memory {budget}` against the defaults, wall "
            + each(vw["budget"], vw["defaults"], "seconds") + "; peak memory "
            + each(vw["budget"], vw["defaults"], "peak_mb") + "."]
    return "\n".join(out) + "\n"


def rows_of(path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f) - 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="/tmp/sentiment-scale", help="synthetic files' folder")
    p.add_argument("--sizes", nargs="+", default=["100k", "1m"], choices=list(SIZES))
    p.add_argument("--fasttext", action="store_true", help="also 500k against fastText")
    p.add_argument("--budget", default="80M", help="with --fasttext or --vw, also train "
                   "with this --max-memory (default: 80M)")
    p.add_argument("--rounds", type=int, default=3, help="with --fasttext or --vw, rounds "
                   "of the peers and the --budget run, alternated (default: 3)")
    p.add_argument("--vw", action="store_true", help="also the largest file against Vowpal "
                   "Wabbit, the defaults and --budget, alternated --rounds times")
    p.add_argument("--out", help="write the report (Markdown) here")
    args = p.parse_args(argv)
    sizes = sorted(set(args.sizes + (["500k"] if args.fasttext else [])), key=SIZES.get)
    data = Path(args.data)
    missing = [SIZES[s] for s in sizes
               if not (data / f"reviews-{s}.csv").exists()]
    if missing:
        subprocess.run([PY, str(ROOT / "scripts" / "make_synthetic.py"),
                        *map(str, missing), "--out", str(data)], check=True)
    train, test = imdb_paths(download=True)
    rows, models = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        peer = None  # first: a peer that fails fails the run at once
        if args.fasttext:
            f500 = data / "reviews-500k.csv"
            ft = Path(tmp) / "ft"
            res = subprocess.run([PY, "-c", "import fasttext"], capture_output=True)
            if res.returncode == 0:
                peer = {"fasttext": [], "budget": [], "size": args.budget}
                for _ in range(args.rounds):  # alternated: the host's load hits both alike
                    peak, wall = peak_memory([PY, "-c", FASTTEXT, str(f500), str(test),
                                              str(ft)], Path(tmp) / "ft.out")
                    acc = float((Path(tmp) / "ft.out").read_text().split()[-1])
                    peer["fasttext"].append({"peak_mb": peak, "seconds": wall,
                                             "test_accuracy": acc})
                    mine = run_train(f500, test, tmp, ("--max-memory", args.budget))
                    peer["budget"].append(mine)
                    print(f"500k: fastText {wall:.1f} s, {peak:,.0f} MB, {acc:.2%}; "
                          f"--max-memory {args.budget} {mine['seconds']:.1f} s, "
                          f"{mine['peak_mb']:,.0f} MB, {mine['test_accuracy']:.2%}",
                          file=sys.stderr)
        vw = vw_rounds(data / f"reviews-{sizes[-1]}.csv", test, tmp, args.budget,
                       args.rounds) if args.vw else None
        files = [("IMDB train", train, 25_000)] + [
            (s, data / f"reviews-{s}.csv", SIZES[s]) for s in sizes]
        for name, path, n in files:
            r = run_train(path, test, tmp)
            r.update(name=name, reviews=n, file_mb=Path(path).stat().st_size / 1e6)
            r["us_per_review"] = r["seconds"] / n * 1e6
            rows.append(r)
            print(f"train {name}: {r['seconds']:.1f} s, {r['peak_mb']:,.0f} MB, "
                  f"{r['test_accuracy']:.2%}", file=sys.stderr)
            kept = Path(tmp) / f"model-{name.replace(' ', '-')}.npz"
            Path(r["model"]).rename(kept)
            models[name] = (path, str(kept))
        scoring = []
        big = "1m" if "1m" in models else sizes[-1]
        for name, path, model in (("IMDB test", test, models["IMDB train"][1]),
                                  (big, models[big][0], models[big][1])):
            out = Path(tmp) / "scores.csv"
            ours = peak_memory([PY, "-m", "sentiment", "predict", "--model", model, "--file",
                                str(path), "--output", str(out)])
            written = rows_of(out)
            pandas = peak_memory([PY, "-c", READ, str(path)]) if name == "IMDB test" \
                else (float("nan"), float("nan"))
            scoring.append({"file": name, "peak_mb": ours[0], "seconds": ours[1],
                            "rows_written": written, "pandas_peak_mb": pandas[0],
                            "pandas_seconds": pandas[1]})
            print(f"predict --file {name}: {ours[1]:.1f} s, {ours[0]:,.0f} MB "
                  f"(pandas {pandas[1]:.1f} s, {pandas[0]:,.0f} MB)", file=sys.stderr)
    report = markdown(rows, scoring, peer) + ("" if vw is None else
                                              against_vw(vw, sizes[-1], args.budget))
    print(report)
    if args.out:
        Path(args.out).write_text(report, encoding="utf-8")
    return 0


def markdown(rows, scoring, peer) -> str:
    cmd = "SENTIMENT_DATA=../shared/data python scripts/scale.py " + " ".join(sys.argv[1:])
    out = ["# Scale: time and memory against file size", "",
           "Generated by the command below; do not edit by hand, run it again.", "",
           "```bash", re.sub(r"\s+", " ", cmd).strip(), "```", "",
           f"Machine: {machine_line(machine())}. Code: {code_version()}.", "",
           "Each row is one whole command (`python -m sentiment train FILE --test "
           "IMDB_TEST`), its peak resident memory read by `os.wait4`, or the sum over the "
           "processes it starts when that is more (beside a small training file, train "
           "reads the test file in a second process). Synthetic files are "
           "sentences of IMDB train reviews joined into new reviews "
           "(`scripts/make_synthetic.py`); the test split is the real IMDB test split, never "
           "seen in training.", "",
           "| file | reviews | MB on disk | wall | µs per review | peak memory | model | "
           "IMDB test accuracy |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append(f"| {r['name']} | {r['reviews']:,} | {r['file_mb']:,.0f} | "
                   f"{r['seconds']:.1f} s | {r['us_per_review']:.0f} | "
                   f"{r['peak_mb']:,.0f} MB | {r['model_mb']:.0f} MB | "
                   f"{r['test_accuracy']:.2%} |")
    by = {r["name"]: r for r in rows}
    if "100k" in by and "1m" in by:
        a, b = by["100k"], by["1m"]
        out += ["", f"1M against 100k: peak memory {b['peak_mb'] / a['peak_mb']:.2f}x "
                f"({b['peak_mb'] - a['peak_mb']:+,.0f} MB), time per review "
                f"{b['us_per_review'] / a['us_per_review']:.2f}x."]
    out += ["", "## Scoring a file: `predict --file F --output OUT`", "",
            "| file | wall | peak memory | rows written | pandas.read_csv: wall | peak | "
            "memory ratio |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in scoring:
        pandas = (f"{s['pandas_seconds']:.1f} s | {s['pandas_peak_mb']:,.0f} MB | "
                  f"{s['peak_mb'] / s['pandas_peak_mb']:.2f}x"
                  if s["pandas_peak_mb"] == s["pandas_peak_mb"] else "- | - | -")  # nan: not run
        out.append(f"| {s['file']} | {s['seconds']:.1f} s | {s['peak_mb']:,.0f} MB | "
                   f"{s['rows_written']:,} | {pandas} |")
    if peer is not None and "500k" in by:
        out += _against_fasttext(by["500k"], peer)
    return "\n".join(out) + "\n"


def _against_fasttext(r: dict, peer: dict) -> list[str]:
    """The 500k rows beside fastText: medians of the alternated rounds, and each round's
    ratios (ours / fastText)."""
    from statistics import median

    ft, ours, size = peer["fasttext"], peer["budget"], peer["size"]
    def med(runs, key):
        return median(x[key] for x in runs)

    ratios = [(b["seconds"] / f["seconds"], b["peak_mb"] / f["peak_mb"])
              for f, b in zip(ft, ours)]
    return ["", "## Against fastText on the 500k file (same run)", "",
            f"fastText and `train --max-memory {size}` were run {len(ft)} times, alternated "
            "(medians below; each round's ratios after the table); the defaults' row is the "
            "one run of the table above.", "",
            "| system | wall | peak memory | IMDB test accuracy |",
            "| --- | ---: | ---: | ---: |",
            f"| this project, `train` defaults (`--max-memory 1G`) | {r['seconds']:.1f} s | "
            f"{r['peak_mb']:,.0f} MB | {r['test_accuracy']:.2%} |",
            f"| this project, `train --max-memory {size}` | {med(ours, 'seconds'):.1f} s | "
            f"{med(ours, 'peak_mb'):,.0f} MB | {med(ours, 'test_accuracy'):.2%} |",
            f"| fastText 0.9, 2 threads, bigrams, dim 10, 5 epochs (Python "
            f"preprocessing included) | {med(ft, 'seconds'):.1f} s | "
            f"{med(ft, 'peak_mb'):,.0f} MB | {med(ft, 'test_accuracy'):.2%} |", "",
            f"Each round, `--max-memory {size}` against fastText: wall "
            + ", ".join(f"{t:.2f}x" for t, _ in ratios) + "; peak memory "
            + ", ".join(f"{m:.2f}x" for _, m in ratios) + "."]


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
