"""The benchmark's report as text: a fixed-width table for the terminal and a Markdown
document (``bench --out``). Both are made from the report dict of
:func:`sentiment.lab.bench.run`, nothing else."""
from __future__ import annotations

from .measures import CLOSE
from .timing import machine_line


def _value(x: float, unit: str) -> str:
    if unit == "MB":
        return f"{x:,.0f} MB"
    return f"{x:.3f} s" if x < 1 else f"{x:.2f} s"


def _spread(v: dict, unit: str) -> str:
    """'7.12 s [6.90-7.40]': the median and the min-max of the runs."""
    lo, hi = _value(v["min"], unit), _value(v["max"], unit)
    if lo == hi:
        return _value(v["median"], unit)
    return f"{_value(v['median'], unit)} [{lo.split()[0]}-{hi}]"


def ratio_text(row: dict) -> str:
    r = row["ratio"]
    if row["key"] == "memory":
        return f"{r['max']:.2f} of the budget (max)"
    lo, hi = f"{r['min']:.2f}", f"{r['max']:.2f}"
    span = f" [{lo}-{hi}]" if lo != hi else ""
    word = " faster" if row["ratio_kind"] == "speedup" else ""
    return f"{r['median']:.2f}x{word}{span}"


def result_text(row: dict) -> str:
    """PASS or FAIL, and the margin: how far inside (or outside) its bound the row is."""
    if row["pass"] is None:
        return ""
    return f"{'PASS' if row['pass'] else 'FAIL'} ({row['margin']:+.0%})"


def cells(row: dict) -> list[str]:
    """The table's cells of one row."""
    ref = (f"{row['reference_value']['median']:,.0f} MB" if row["key"] == "memory"
           else _spread(row["reference_value"], row["unit"]))
    return [row["name"], _spread(row["ours_value"], row["unit"]), ref, ratio_text(row),
            row["target"] or "-", result_text(row)]


HEADER = ["measurement", "ours", "reference", "ratio (median [min-max])", "target",
          "result (margin)"]


def format_table(report: dict) -> str:
    """Fixed-width table of every row, then one line per notable detail."""
    table = [HEADER] + [cells(r) for r in report["rows"]]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + [""] + [f"- {s}" for s in findings(report)])


def findings(report: dict) -> list[str]:
    """The details worth a sentence: agreement, accuracies, efficiency, what was compared."""
    out = []
    for row in report["rows"]:
        d = row["details"]
        if "agreement" in d:
            a = d["agreement"]
            same = "identical" if a["identical"] else (
                f"differ: {a['only_ours']:,} only ours (e.g. {a['examples_only_ours']}), "
                f"{a['only_sklearn']:,} only sklearn's (e.g. {a['examples_only_sklearn']})")
            out.append(f"1-{d['ngrams']} grams: vocabularies {a['ours']:,} (ours) and "
                       f"{a['sklearn']:,} (CountVectorizer) features, {a['common']:,} in "
                       f"common, {same}; rows with other words: "
                       f"{a['train']['rows_differing']:,} of {a['train']['rows']:,} train, "
                       f"{a['test']['rows_differing']:,} of {a['test']['rows']:,} test")
        if row["key"] == "end_to_end":
            out.append(f"test accuracy: ours {d['accuracy_ours']:.2%}, scikit-learn "
                       f"{d['accuracy_sklearn']:.2%} ({d['sklearn']}, "
                       f"{d['sklearn_iterations']} iterations)")
        if row["key"].startswith("epoch"):
            out.append(f"{row['name']}: {d['reviews']:,} reviews x {d['features']:,} "
                       f"features, {d['nnz']:,} non-zeros, hidden {d['hidden']}, batch "
                       f"{d['batch_size']}, {d['optimizer']}; floor "
                       + ", ".join(f"{k} {v:.3f} s" for k, v in d["reference_parts"].items()))
        if "efficiency" in d:
            out.append(f"{row['name']}: parallel efficiency {d['efficiency']:.0%}"
                       + (f" ({d['how']})" if "how" in d else f" ({d['scales']})"))
    return out


def markdown_table(report: dict) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    for row in report["rows"]:
        c = cells(row)
        c[-1] = f"**{c[-1][:4]}**{c[-1][4:]}" if c[-1] else ""
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in c) + " |")
    return "\n".join(lines)


def _load(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values) if values else "n/a"


def _profile_lines(row: dict) -> list[str]:
    prof = row.get("profile")
    if not prof:
        return []
    lines = [f"### {row['name']}: {ratio_text(row)}, target {row['target']}", ""]
    if isinstance(prof, dict):  # cold start: imports, then functions
        lines += ["Imports, cumulative (`python -X importtime`):", "", "```"]
        lines += [f"{i['cumulative_seconds']:8.3f} s  {i['module']}" for i in prof["imports"]]
        lines += ["```", "", "Functions by own time (cProfile of the whole process):", ""]
        prof = prof["functions"]
    lines += ["```", f"{'own s':>8}  {'cum s':>8}  {'calls':>8}  function"]
    lines += [f"{p['own_seconds']:8.3f}  {p['cumulative_seconds']:8.3f}  {p['calls']:8d}  "
              f"{p['function']}" for p in prof]
    return lines + ["```", ""]


METHOD = """\
Each row runs our code and its reference alternately in one process: {warmup} warm-up
pair(s), discarded, then {repeat} timed pairs (the side that runs first swaps each pair).
A ratio is taken within each pair, so load from other jobs on the machine touches both
sides alike; the table shows the median and [min-max] of the times and of the ratios.
Targets are judged on the median ratio (memory: on the largest run); the margin says
how far inside its bound a row is (for "at most 2x", 1.8x is +11%; for "at least 3x", 3.3x
is +10%). Commands timed as processes run with Python's default bytecode cache (a
PYTHONDONTWRITEBYTECODE of the machine's is dropped for them: the peers and pandas read
the compiled files their installer wrote, and so do we after the warm-up).

- **tokenize + vocabulary + encode**: ours is `pipeline.fit_vocabulary` (the training
  pipeline's two passes, in one chunk) on the training split and `Vocabulary.encode` of
  the test split. The reference is
  scikit-learn's `CountVectorizer(ngram_range=(1, n), min_df=min_count, binary=True,
  token_pattern=sentiment.features.tokens.TOKEN_PATTERN, lowercase=True,
  preprocessor=sentiment.features.tokens.normalize, dtype=float32)`: `fit_transform` on train,
  `transform` on test. After the timing, the two vocabularies are compared as sets of
  words (n-grams joined by a space), and every row of both matrices is compared word for
  word.
- **one epoch**: `training.loop.fit` for one epoch on the encoded training split (input values,
  hidden size, batch size and optimizer of the settings; shuffle included, no validation).
  The floor is the bare `X @ W1` plus `X.T @ G` scipy sparse products for the same `X`
  and hidden size: the two products every epoch must do at least once.
- **train + evaluate**: ours reads both files, runs `training.job.train` with the default
  settings (it holds out 10% for validation), saves the model to a temporary folder, and
  encodes and predicts the test split. The reference reads the same files with the same
  reader, then fits the CountVectorizer above and a `LogisticRegression` on all the
  training reviews and predicts the test split.
- **cold predict**: wall time of a new process `python -m sentiment predict TEXT --model M`
  with the model trained above, against `python -c "import numpy"`, alternately.
- **peak memory**: maximum resident set size of a `python -m sentiment train FILE --model M`
  process (default settings), read with `os.wait4` (or, when the command starts processes
  of its own, the most their summed resident memory reached, read every 20 ms); budget
  1,500 MB (10^6 bytes).
- **peers** (when `vowpalwabbit` / `fasttext` are importable): whole processes, alternated,
  our `train TRAIN --test TEST` against each peer training on the same split and scoring
  the test split (`sentiment.lab.peers`: Vowpal Wabbit bigrams, 1 pass; fastText bigrams,
  5 epochs, 2 threads; both tokenize in Python and see the training rows shuffled); the
  ratio is our wall over theirs. **predict --file**: `predict --file TEST --output OUT`
  against `pandas.read_csv(TEST)` in a process of its own: wall and peak memory.
- **threads**: the default epoch with BLAS limited to 2 threads and to 1 (threadpoolctl),
  and tokenizing with 2 workers and with 1; parallel efficiency = speed-up / 2.
"""


def markdown(report: dict, command: str) -> str:
    """The whole report as a Markdown document."""
    d = report["data"]
    lines = ["# Benchmarks", "",
             "Generated by the command below; do not edit by hand, run it again.", "",
             "```bash", command, "```", "",
             f"- Date: {report['date']}; the whole run took {report['seconds']:.0f} s.",
             f"- Machine: {machine_line(report['machine'])}.",
             f"- Code: `sentiment` {report['version']}, "
             + (f"commit {report['code']}." if report["code"] else "not a git checkout."),
             f"- Load average (1, 5, 15 min) at the start: "
             f"{_load(report['machine']['load_average'])}; at the end: "
             f"{_load(report.get('load_average_end'))}. Other jobs may share the machine: "
             "compare the ratios, not the seconds.",
             f"- Data: `{d['train']}` ({d['train_reviews']:,} reviews) for training, "
             f"`{d['test']}` ({d['test_reviews']:,} reviews) for testing.",
             "", "## Results", "", markdown_table(report), ""]
    lines += [f"- {s}" for s in findings(report)]
    passed = report["passed"]
    if passed:
        failed = [k for k, ok in passed.items() if not ok]
        close = [r["key"] for r in report["rows"] if r["pass"] and r["margin"] < CLOSE]
        lines += ["", f"Targets met: {sum(passed.values())} of {len(passed)}"
                  + (f"; missed: {', '.join(failed)}" if failed else "")
                  + (f"; met by less than {CLOSE:.0%}, so a noisier run may miss them: "
                     f"{', '.join(close)}" if close else "") + "."]
    lines += ["", "## Where the time goes", ""]
    for row in report["rows"]:
        parts = {**row["details"].get("ours_parts", {})}
        if parts:
            lines.append(f"- {row['name']}, ours: " + ", ".join(
                f"{k} {v:.2f} s" for k, v in parts.items()) + "; CountVectorizer: " + ", ".join(
                f"{k} {v:.2f} s" for k, v in row["details"]["reference_parts"].items()))
        if "batch_loop_seconds" in row["details"]:
            threads = row["details"].get("epoch_threads")
            on = f" on {threads} thread{'s' * (threads != 1)} (the floor's products: one)" \
                if threads else ""
            lines.append(f"- {row['name']}: the batch loop alone (without the shuffle) "
                         f"{row['details']['batch_loop_seconds']:.3f} s{on}")
        if "train_cli_seconds" in row["details"]:
            lines.append(f"- `python -m sentiment train`, whole process: "
                         f"{_spread(row['details']['train_cli_seconds'], 's')}")
    profiles = [line for row in report["rows"] for line in _profile_lines(row)]
    if profiles:
        lines += ["", "## Profiles of the rows that miss their target or meet it by "
                  f"less than {CLOSE:.0%}", ""] + profiles
    lines += ["", "## How each row is measured", "",
              METHOD.format(warmup=report["warmup"], repeat=report["repeat"])]
    return "\n".join(lines).rstrip() + "\n"
