"""The benchmark: ``python -m sentiment bench`` (and ``scripts/bench.py``, the same code).

Every measurement times our code and a reference in the same process, side by side: one
warm-up pair (discarded), then ``repeat`` pairs, alternating which side runs first. A ratio
is taken per pair, so load from other jobs on the machine shifts both sides alike; rows give
the median and the min-max of the times and of the ratios.

=================== =========================================================================
row                 ours / reference
=================== =========================================================================
tokenize            pipeline.fit_vocabulary (train) + encode (test) / sklearn
                    ``CountVectorizer`` (same n-grams, min_df, token pattern, preprocessor,
                    binary) fit_transform (train) + transform (test); the two vocabularies
                    and matrices are compared after the timing
tokenize_unigrams   the same with unigrams only (no target)
epoch               one epoch of ``fit`` with ``Settings()`` / the bare ``X @ W1`` and
                    ``X.T @ G`` scipy products for the same X and hidden size (the floor)
epoch_stage5        the same for stage 5 of :data:`sentiment.lab.stages.STAGES`
end_to_end          read + ``train`` (defaults) + save + encode and predict the test set /
                    read + the same CountVectorizer + ``LogisticRegression`` fit + predict
predict_startup     ``python -m sentiment predict TEXT --model M`` / ``python -c "import
                    numpy"``, cold processes
memory              peak RSS of ``python -m sentiment train FILE --model M`` / the budget
threads_epoch       the default epoch with BLAS limited to 2 threads / to 1 (threadpoolctl)
threads_tokenize    ``hash_corpus(workers=2)`` / ``workers=1`` if it has that argument; else
                    an estimate: two halves hashed in 2 threads / one after the other
compiled            whole ``train TRAIN --test TEST`` with the compiled loops / with
                    ``SENTIMENT_PURE=1`` (numpy and scipy), when they were built
peer_vowpalwabbit   whole ``train TRAIN --test TEST`` / Vowpal Wabbit's whole process, when
peer_fasttext       the package is importable (:mod:`sentiment.lab.peers`); fastText's too
predict_file        ``predict --file TEST`` / ``pandas.read_csv(TEST)``: wall, and peak
                    memory (``predict_file_memory``), whole processes
=================== =========================================================================
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.files import atomic_write, check_writable
from .measures import (
    CLOSE,
    MEASUREMENTS,
    measure_compiled,
    measure_end_to_end,
    measure_epoch,
    measure_memory,
    measure_startup,
    measure_threads,
    measure_tokenize,
    one_epoch,
    our_end_to_end,
    our_features,
    predict_command,
    training_matrix,
)
from .timing import code_version, machine, profile_call, run_quietly, top_functions


@dataclass
class BenchData:
    """The train and test files, read once for the in-process measurements."""

    train_path: str
    test_path: str
    train_texts: list
    train_labels: np.ndarray
    test_texts: list
    test_labels: np.ndarray

    def __repr__(self) -> str:
        return (f"BenchData(train={self.train_path!r} ({len(self.train_texts)}), "
                f"test={self.test_path!r} ({len(self.test_texts)}))")


def load_data(train_path, test_path) -> BenchData:
    from ..io.reader import read_reviews

    tr, te = read_reviews(train_path), read_reviews(test_path)
    return BenchData(str(train_path), str(test_path), tr.texts, tr.labels, te.texts,
                     te.labels)


def profile_startup(model_path, top: int = 12) -> dict:
    """Where a cold ``predict`` spends its time: imports (``-X importtime``, cumulative
    microseconds per module) and cProfile's functions by own time."""
    import pstats

    cmd = predict_command(model_path)
    r = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True,
                       text=True)
    imports = []
    for line in r.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            own, cum, name = (x.strip() for x in line[len("import time:"):].split("|"))
            imports.append({"module": name.strip(), "own_seconds": int(own) / 1e6,
                            "cumulative_seconds": int(cum) / 1e6,
                            "top_level": not name.startswith(" ")})
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "predict.prof"
        run_quietly([cmd[0], "-m", "cProfile", "-o", str(out), *cmd[1:]])
        functions = top_functions(pstats.Stats(str(out)), top)
    top_imports = sorted((i for i in imports if i["top_level"]),
                         key=lambda i: -i["cumulative_seconds"])[:top]
    return {"imports": top_imports, "functions": functions}


def profile_row(row: dict, data, settings, model_path) -> dict | list:
    """Profile our side of one row (run again, once, outside the timing)."""
    key, d = row["key"], row["details"]
    if key.startswith("tokenize"):
        return profile_call(lambda: our_features(data.train_texts, data.train_labels,
                                                 data.test_texts, d["ngrams"],
                                                 d["min_count"]))
    if key.startswith("epoch"):
        from .stages import STAGES
        s = settings if key == "epoch" else STAGES["5"].settings
        X, y = training_matrix(data.train_texts, data.train_labels, s)
        return profile_call(lambda: one_epoch(X, y, s))
    if key == "end_to_end":
        return profile_call(lambda: our_end_to_end(data.train_path, data.test_path,
                                                   model_path))
    if key == "predict_startup":
        return profile_startup(model_path)
    if key.startswith(("peer_", "predict_file")):  # the whole command, cProfile'd
        import pstats

        from .peers import OURS, commands, scoring_command

        with tempfile.TemporaryDirectory() as tmp:
            cmd = commands(data.train_path, data.test_path, Path(tmp))[OURS] \
                if key.startswith("peer_") else scoring_command(
                    row["details"]["model"], data.test_path, Path(tmp))
            out = Path(tmp) / "command.prof"
            run_quietly([cmd[0], "-m", "cProfile", "-o", str(out), *cmd[1:]])
            return top_functions(pstats.Stats(str(out)), 12)
    return []


def run(train_path, test_path, *, repeat: int = 3, warmup: int = 1, only=None,
        startup_runs: int | None = None, profile: bool = False, note=None) -> dict:
    """Run the benchmark; return the report (JSON-able dict, one entry per row in
    ``rows``). ``only`` picks measurements of :data:`MEASUREMENTS`; ``profile`` adds, to
    each row that misses its target or meets it by less than :data:`CLOSE`, where our
    side spends its time."""
    from datetime import datetime

    from .. import __version__
    from ..training.settings import Settings

    only = list(only or MEASUREMENTS)
    unknown = [m for m in only if m not in MEASUREMENTS]
    if unknown:
        raise ValueError(f"unknown measurement {unknown[0]!r}; choose from "
                         f"{', '.join(MEASUREMENTS)}")
    start = time.perf_counter()
    note = note or (lambda line: None)
    settings = Settings().for_labels(multiclass=False)
    report = {"date": datetime.now().astimezone().isoformat(timespec="seconds"),
              "machine": machine(), "version": __version__,
              "code": code_version(), "repeat": repeat, "warmup": warmup,
              "settings": settings.to_dict(), "rows": []}
    data = load_data(train_path, test_path)
    report["data"] = {"train": data.train_path, "test": data.test_path,
                      "train_reviews": len(data.train_texts),
                      "test_reviews": len(data.test_texts)}
    rows = report["rows"]
    with tempfile.TemporaryDirectory(prefix="sentiment-bench-") as tmp:
        model_path = Path(tmp) / "model.npz"
        if "tokenize" in only:
            rows += measure_tokenize(data, settings, repeat, warmup, note)
        if "epoch" in only:
            rows += measure_epoch(data, settings, repeat, warmup, note)
        if "end_to_end" in only:
            rows += measure_end_to_end(data, settings, repeat, warmup, note, model_path)
        if "predict_startup" in only:
            if not model_path.exists():
                note("training a model with the default settings for predict")
                our_end_to_end(data.train_path, data.test_path, model_path)
            rows += measure_startup(model_path, startup_runs or max(5, repeat), warmup,
                                    note)
        if "memory" in only:
            rows += measure_memory(data, repeat, note, Path(tmp))
        if "threads" in only:
            rows += measure_threads(data, settings, repeat, warmup, note)
        if "compiled" in only:
            rows += measure_compiled(data, repeat, note, Path(tmp))
        if "peers" in only:
            from .peers import measure_peers
            rows += measure_peers(data, repeat, note, Path(tmp))
        if profile:
            for row in rows:
                if row["margin"] is not None and row["margin"] < CLOSE \
                        and row["key"] != "memory":
                    note(f"profiling {row['key']}")
                    row["profile"] = profile_row(row, data, settings, model_path)
    report["passed"] = {r["key"]: r["pass"] for r in rows if r["pass"] is not None}
    report["seconds"] = time.perf_counter() - start
    if hasattr(os, "getloadavg"):
        report["load_average_end"] = list(os.getloadavg())
    return report


def command_line(args) -> str:
    """The command that reproduces a run with these arguments."""
    import shlex

    parts = ["python", "-m", "sentiment", "bench"]
    if args.train:
        parts += ["--train", str(args.train), "--test", str(args.test)]
    parts += ["--repeat", str(args.repeat)]
    if args.only:
        parts += ["--only", *args.only]
    if args.profile:
        parts.append("--profile")
    if args.out:
        parts += ["--out", str(args.out)]
    home = os.environ.get("SENTIMENT_DATA")
    prefix = f"SENTIMENT_DATA={shlex.quote(home)} " if home and not args.train else ""
    return prefix + shlex.join(parts)


def run_command(args) -> int:
    """``python -m sentiment bench``: table (or JSON) on stdout, progress on stderr."""
    import json

    from ..errors import SentimentError
    from ..io.reader import imdb_paths
    from .bench_report import format_table, markdown

    start = time.perf_counter()

    def note(line):
        print(f"[{time.perf_counter() - start:5.0f} s] {line}", file=sys.stderr, flush=True)

    if args.repeat < 1:
        raise SentimentError(f"--repeat must be at least 1; got {args.repeat}")
    bad = [m for m in args.only or () if m not in MEASUREMENTS]
    if bad:
        raise SentimentError(f"--only: unknown measurement {bad[0]!r}; choose from "
                             f"{', '.join(MEASUREMENTS)}")
    if bool(args.train) != bool(args.test):
        raise SentimentError("pass both --train and --test, or neither (IMDB)")
    out = Path(args.out) if args.out else None
    if out is not None:
        check_writable(out, "--out", "the report")
    train_path, test_path = args.train, args.test
    if train_path is None:
        train_path, test_path = imdb_paths(download=True)
    report = run(train_path, test_path, repeat=args.repeat, only=args.only,
                 profile=args.profile, note=note)
    report["command"] = command_line(args)
    if args.json:
        print(json.dumps(report))
    else:
        print(format_table(report))
    if out is not None:
        with atomic_write(out, "w", encoding="utf-8") as f:
            f.write(markdown(report, report["command"]))
        note(f"wrote {out}")
    return 0
