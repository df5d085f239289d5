"""``fetch``, ``compare`` and ``bench``: the data, the lesson and the measurements."""
from __future__ import annotations

import argparse


def add_fetch(sub) -> None:
    p = sub.add_parser("fetch", help="download a dataset into the data home")
    p.add_argument("dataset", choices=["imdb"])
    p.add_argument("--force", action="store_true", help="download again even if present")
    p.set_defaults(handler=cmd_fetch)


def add_compare(sub) -> None:
    from ..lab.stages import DEFAULT_LIMIT, STAGES

    p = sub.add_parser("compare", help="train every stage of the story and compare them",
                       description="Train each stage (dense baseline to vectorized "
                       "minibatch with dropout) on one split and seed; print speed and "
                       "accuracy. With no TRAIN, use the IMDB splits from the data home.")
    p.add_argument("file", nargs="?", metavar="TRAIN", help="labelled review file")
    p.add_argument("--test", metavar="FILE", help="test file (default: hold out 20%%)")
    p.add_argument("--stages", nargs="+", choices=list(STAGES), metavar="STAGE",
                   help=f"stages to run, of {' '.join(STAGES)} (default: all)")
    p.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N", help="train "
                   "and time the slow per-review stages on N random reviews; 0: all "
                   f"(default: {DEFAULT_LIMIT})")
    p.add_argument("--out", metavar="DIR", help="write the table (CSV, Markdown), a chart "
                   "and a README here")
    p.add_argument("--json", action="store_true", help="print one JSON row per stage")
    p.add_argument("--profile", action="store_true",
                   help="add each stage's five most expensive functions (cProfile)")
    p.add_argument("--seed", type=int, default=0, help="one seed for every stage")
    p.add_argument("--label-column", metavar="NAME", help="column holding the label")
    p.add_argument("--multiclass", action="store_true", help="every value of the label "
                   "column is a class; runs the stages that train K classes (two-class "
                   "references left out)")
    p.add_argument("--references", action=argparse.BooleanOptionalAction, default=None,
                   help="add scikit-learn reference rows (LogisticRegression, NBSVM) on the "
                   "defaults' features (default: with all stages, not with --stages)")
    p.set_defaults(handler=cmd_compare)


def add_bench(sub) -> None:
    p = sub.add_parser("bench", help="time tokenizing, training, predict and memory "
                       "against scikit-learn and the bare sparse products",
                       description="Benchmark on one train/test split (default: IMDB), "
                       "each measurement as a ratio against its reference run in the "
                       "same process; print a table with PASS/FAIL per target.")
    p.add_argument("--train", metavar="FILE", help="labelled training file (with --test)")
    p.add_argument("--test", metavar="FILE", help="labelled test file (with --train)")
    p.add_argument("--repeat", type=int, default=3, metavar="N",
                   help="timed repetitions after one warm-up (default: 3)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="measurements to run: tokenize "
                   "epoch end_to_end predict_startup memory threads (default: all)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--out", metavar="PATH", help="write the report as Markdown here")
    p.add_argument("--profile", action="store_true",
                   help="profile our side of every measurement that misses its target")
    p.set_defaults(handler=cmd_bench)


def cmd_fetch(args) -> int:
    from ..io.fetch import fetch_imdb
    from ..io.reader import data_home

    train, test = fetch_imdb(data_home(), force=args.force)
    print(f"{train}\n{test}")
    return 0


def cmd_compare(args) -> int:
    from ..lab.compare import run_command
    return run_command(args)


def cmd_bench(args) -> int:
    from ..lab.bench import run_command
    return run_command(args)
