"""The staged comparison: train every stage of :data:`sentiment.lab.stages.STAGES` on one
train/test split with one seed, and measure each; optionally add the reference rows of
:data:`sentiment.lab.references.REFERENCES` (scikit-learn on the defaults' features, same
process, same split), marked ``kind: "reference"``.

:func:`compare` returns one row (a dict) per stage, then per reference, with these keys:

=================== ==========================================================================
key                 meaning
=================== ==========================================================================
stage               the stage's key (``"1"`` ... ``"7"``), or the reference's (``"lr"``,
                    ``"nbsvm"``)
kind                ``"stage"``, or ``"reference"``: not a stage, scikit-learn for context
name                what the stage is
changed             what differs from the stage before; for a reference, what it is and
                    the C it chose on the validation split
source              where the idea comes from
vocabulary          number of input features (words and n-grams)
epochs              epochs trained (None for a reference)
train_reviews       reviews trained on (the defaults and the references hold out a
                    validation split)
limited             reviews trained and timed on per epoch when the stage was limited to a
                    random subset of the training set (``--limit``), else None
reviews_per_second  training reviews per second: reviews per epoch / median epoch time;
                    for a reference, train_reviews / fit_seconds (the whole fit)
seconds_per_epoch   seconds for one epoch over the whole training set (median epoch; for a
                    limited stage, extrapolated: train_reviews / reviews_per_second); None
                    for a reference
best_epoch_seconds  the same from the fastest epoch: on a shared machine the epoch least
                    slowed by other processes (noise only adds time); None for a reference
vectorize_seconds   tokenize, build the vocabulary and encode the training and validation
                    reviews (for a reference: CountVectorizer, and the NB scaling)
fit_seconds         the whole training: every epoch with its validation, or the solver's
                    fit with the chosen C (extrapolated to all reviews for a limited stage)
train_accuracy      accuracy on the reviews of the last epoch, as the trainer reports it;
                    for a reference, of the fitted model on its training reviews
test_accuracy       accuracy on the whole test set, always
speedup             reviews_per_second over stage 1's (None without stage 1, and for a
                    reference)
relative_to         the stage a dropout stage's time is compared with, else None
time_ratio          best_epoch_seconds / that stage's best_epoch_seconds, else None: both
                    train several short epochs, and their fastest ones are the fairest
                    match when other jobs share the machine
seconds             wall time of the whole row: tokenize, vocabulary, train, test (for a
                    reference, with the vectorizing it shares and the fit of every C)
=================== ==========================================================================

With ``profile=True`` a row also has ``profile``: the five functions with the most time of
their own (cProfile ``tottime``) in a second, profiled run of the stage's training loop.

Only the training loop is timed (``time.perf_counter`` around each epoch, inside the
trainer); tokenizing and building the vocabulary are the same work for every stage and are
reported by ``train`` separately. :mod:`sentiment.lab.compare_report` turns rows into a
table, sentences and files.
"""
from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import DataError, SentimentError
from ..io.files import check_writable
from .split import load_split
from .stages import DEFAULT_LIMIT, STAGES, Stage
from .timing import top_functions

#: Share of the training file held out as the test set when no test file is given.
#: Row keys in table order (``profile`` is extra, and not written to the CSV).


def compare(train_texts, train_labels, test_texts, test_labels, stages=None, *,
            references: bool = False, limit: int | None = DEFAULT_LIMIT, seed: int = 0,
            profile: bool = False, progress: bool | None = None, on_row=None,
            multiclass: bool = False) -> list[dict]:
    """Train each stage on the training texts and measure it; return one row per stage,
    then one per reference.

    Parameters
    ----------
    train_texts, train_labels : the training set (labels 0/1).
    test_texts, test_labels : the test set; every row is scored on all of it.
    stages : stage keys to run (default: all), run in the order of ``STAGES``.
    references : also fit the scikit-learn references on the defaults' features (tens of
        seconds on IMDB), after the stages.
    limit : slow stages train and are timed on this many random training reviews per
        epoch (None or 0: all of them). The vocabulary is always built on the whole set.
    seed : the one seed of every stage (initialization, shuffling, masks) and of the
        references' validation split (the trainer's split).
    profile : also run each stage's training loop under cProfile; adds ``profile``.
    progress : tqdm bars (None: only on a terminal).
    on_row : called with each row as soon as it is measured.
    multiclass : the labels are class positions 0..K-1 (stages that train K classes only).
    """
    from tqdm.auto import tqdm

    from .references import REFERENCES, Reference, reference_features, run_reference
    from .stages import DEFAULTS

    chosen = [s for k, s in STAGES.items() if stages is None or k in stages]
    unknown = set(stages or ()) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stages {sorted(unknown)}; choose from {list(STAGES)}")
    test_labels = np.asarray(test_labels)
    test_corpora: dict[int, object] = {}  # hashed once per n-gram size
    features = None  # the references' shared scikit-learn features, made on first use
    rows: list[dict] = []
    bar = tqdm(chosen + (list(REFERENCES.values()) if references else []), desc="stages",
               unit="row", disable=None if progress is None else not progress)
    for item in bar:
        bar.set_postfix_str(item.title)
        if isinstance(item, Reference):
            if features is None:
                features = reference_features(train_texts, train_labels, test_texts,
                                              DEFAULTS.with_(seed=seed))
            row = run_reference(item, features, test_labels)
        else:
            row = _stage_row(item, train_texts, train_labels, test_texts, test_labels,
                             test_corpora, limit=limit, seed=seed, profile=profile,
                             progress=progress, multiclass=multiclass)
            _relate(row, rows)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    bar.close()
    return rows


def _stage_row(stage, train_texts, train_labels, test_texts, test_labels, test_corpora, *,
               limit, seed, profile, progress, multiclass=False) -> dict:
    """Run one stage (and profile it if asked), hashing the test set once per n-gram size."""
    from dataclasses import replace

    from ..features.tokens import hash_corpus

    stage = replace(stage, settings=stage.settings.for_labels(multiclass))
    n = (stage.settings.ngrams, stage.settings.negation)
    if n not in test_corpora:
        test_corpora[n] = hash_corpus(list(test_texts), n[0], negation=n[1])
    limit = limit if stage.slow else None
    row = run_stage(stage, train_texts, train_labels, test_corpora[n], test_labels,
                    limit=limit, seed=seed, progress=progress, multiclass=multiclass)
    if profile:
        row["profile"] = profile_stage(stage, train_texts, train_labels, limit=limit,
                                       seed=seed, multiclass=multiclass)
    return row


def run_stage(stage: Stage, train_texts, train_labels, test_corpus, test_labels, *,
              limit=None, seed=0, progress=None, multiclass=False) -> dict:
    """Train one stage through :func:`sentiment.training.job.train` and measure it (one row);
    ``multiclass``: the labels are class positions, K classes."""
    from ..training.job import accuracy, train

    start = time.perf_counter()
    settings = stage.settings.with_(seed=seed)
    model = train(train_texts, train_labels, settings, progress=progress,
                  limit=limit or None, multiclass=multiclass)
    logits = model.net.logits(model.encode(test_corpus))  # the fast csr forward
    n_train = model.info["n_train"]
    per_epoch = min(limit, n_train) if limit else n_train
    seconds = [h["seconds"] for h in model.history]
    rate = per_epoch / float(np.median(seconds))
    times = model.info["times"]
    return {"stage": stage.key, "kind": "stage", "name": stage.name,
            "changed": stage.changed, "source": stage.source, "vocabulary": len(model.vocab),
            "epochs": len(model.history), "train_reviews": n_train,
            "limited": per_epoch if per_epoch < n_train else None,
            "reviews_per_second": rate, "seconds_per_epoch": n_train / rate,
            "best_epoch_seconds": min(seconds) * n_train / per_epoch,
            "vectorize_seconds": times["tokenize"] + times["vocabulary"] + times["encode"],
            "fit_seconds": times["train"] * n_train / per_epoch,
            "train_accuracy": model.history[-1]["train_accuracy"],
            "test_accuracy": accuracy(logits, test_labels),
            "speedup": None, "relative_to": stage.relative_to, "time_ratio": None,
            "seconds": time.perf_counter() - start}


def _relate(row: dict, done: list[dict]) -> None:
    """Fill ``speedup`` (over stage 1) and ``time_ratio`` from the rows already measured."""
    by_key = {r["stage"]: r for r in done + [row]}
    first = by_key.get(next(iter(STAGES)))
    if first is not None:
        row["speedup"] = row["reviews_per_second"] / first["reviews_per_second"]
    base = by_key.get(row["relative_to"]) if row["relative_to"] else None
    if base is not None:
        row["time_ratio"] = row["best_epoch_seconds"] / base["best_epoch_seconds"]


@contextmanager
def _profiling_fit(profiler):
    """Profile only the trainer's loop: wrap the ``fit`` that :func:`sentiment.training.job.train`
    calls, for a while."""
    from ..training import job as train_module

    fit = train_module.fit

    def profiled(*args, **kwargs):
        profiler.enable()
        try:
            return fit(*args, **kwargs)
        finally:
            profiler.disable()

    train_module.fit = profiled
    try:
        yield
    finally:
        train_module.fit = fit


def profile_stage(stage: Stage, train_texts, train_labels, *, limit=None, seed=0,
                  top: int = 5, multiclass: bool = False) -> list[dict]:
    """Train ``stage`` again under cProfile; return its ``top`` functions by own time."""
    import cProfile
    import pstats

    from ..training.job import train

    profiler = cProfile.Profile()
    with _profiling_fit(profiler):
        train(train_texts, train_labels, stage.settings.with_(seed=seed), progress=False,
              limit=limit or None, multiclass=multiclass)
    return top_functions(pstats.Stats(profiler), top)


# -- reading the data ------------------------------------------------------------------------

# -- the command ----------------------------------------------------------------------------

def command_line(args) -> str:
    """The canonical command that reproduces a run with these arguments."""
    import shlex

    parts = ["python", "-m", "sentiment", "compare"]
    if args.file:
        parts.append(str(args.file))
    if args.test:
        parts += ["--test", str(args.test)]
    if args.stages:
        parts += ["--stages", *args.stages]
    parts += ["--limit", str(args.limit), "--seed", str(args.seed)]
    if args.out:
        parts += ["--out", str(args.out)]
    if args.profile:
        parts.append("--profile")
    if with_references(args) != (args.stages is None):  # only when not the default
        parts.append("--references" if with_references(args) else "--no-references")
    return shlex.join(parts)


def _multiclass_stages(chosen) -> list[str]:
    """The stages that train K classes (minibatches, cross-entropy, no polarity cutoff):
    all of them by default; a chosen stage that cannot is an error."""
    from ..training.job import check_multiclass

    able = []
    for key, stage in STAGES.items():
        try:
            check_multiclass(stage.settings)
        except SentimentError as exc:
            if chosen is not None and key in chosen:
                raise SentimentError(f"stage {key} ({stage.name}) trains two classes only: "
                                     f"{exc}") from None
            continue
        if chosen is None or key in chosen:
            able.append(key)
    return able


def with_references(args) -> bool:
    """Whether to add the reference rows: ``--references``/``--no-references`` if given,
    else yes for the full run (no ``--stages``) and no for chosen stages."""
    chosen = getattr(args, "references", None)
    return args.stages is None if chosen is None else chosen


def _prepare_out(out) -> Path:
    """Create the output folder and check it is writable, before any training."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SentimentError(f"{out}: is a file; --out needs a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SentimentError(f"{out}: cannot create the folder ({exc.strerror or exc}); "
                             "choose another --out") from None
    check_writable(out / "README.md", "--out", "the comparison")
    return out


def run_command(args) -> int:
    """``python -m sentiment compare``: parse-level arguments in, table out."""
    from ..io.reader import imdb_paths
    from ..training.loop import TrainingStopped
    from .compare_report import (
        format_profile,
        format_table,
        pct,
        row_title,
        summary,
        write_outputs,
    )

    start = time.perf_counter()

    def note(line):
        print(line, file=sys.stderr, flush=True)

    if args.limit < 0:
        raise SentimentError(f"--limit must be 0 (no limit) or more; got {args.limit}")
    out = _prepare_out(args.out) if args.out else None
    if out is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            note("matplotlib is not installed (pip install 'sentiment[plot]'): "
                 "no chart will be written")
    train_path, test_path = args.file, args.test
    if train_path is None:
        train_path, imdb_test = imdb_paths(download=True)
        test_path = test_path or imdb_test
    multiclass = getattr(args, "multiclass", False)
    stages = _multiclass_stages(args.stages) if multiclass else args.stages
    tr_x, tr_y, te_x, te_y, data = load_split(train_path, test_path, args.seed, note,
                                              multiclass=multiclass,
                                              label_column=args.label_column)

    def on_row(row):
        if args.json:
            print(json.dumps(_jsonable(row)), flush=True)
        else:
            note(f"{row_title(row, long=True)}: {row['reviews_per_second']:,.0f} reviews/s, test "
                 f"{pct(row['test_accuracy'])} ({row['seconds']:.1f} s)")

    try:
        rows = compare(tr_x, tr_y, te_x, te_y, stages,
                       references=with_references(args) and not multiclass,
                       limit=args.limit or None, seed=args.seed, profile=args.profile,
                       on_row=on_row, multiclass=multiclass)
    except TrainingStopped as exc:  # the loss became NaN: the stage's settings diverge
        raise SentimentError(f"{data}: a stage diverged: {exc}") from None
    except DataError as exc:  # e.g. a corpus too small for stage 4's vocabulary filter
        raise SentimentError(f"{data}: {exc}") from None
    seconds = time.perf_counter() - start
    if not args.json:
        print(format_table(rows))
        for line in summary(rows):
            print(line)
        if args.profile:
            print(format_profile(rows))
    if out is not None:
        for path in write_outputs(rows, out, command=command_line(args), data=data,
                                  seconds=seconds):
            note(f"wrote {path}")
    note(f"comparison took {seconds:.0f} s")
    return 0


def _jsonable(row: dict) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
