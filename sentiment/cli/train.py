"""``train``: flags generated from the Settings table, epochs printed as they end,
Ctrl-C and divergence saved as a resumable checkpoint."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import DataError, SentimentError
from ..io.files import check_distinct, check_writable
from .common import (
    FileSet,
    Results,
    cluster_args,
    expand_files,
    memory_args,
    model_arg,
    note,
    open_engine,
    open_reviews,
    parse_size,
    positive,
    reader_args,
    stream,
)
from .epochs import EPOCH_HEADER, EpochLog
from .guards import CheckpointWriter, GracefulStop, Saving, same_settings
from .report import DataReport, judge, judge_inputs
from .workers import one_process, open_shared, said

#: fewer training rows than this get a warning: the model will be close to a guess
FEW_ROWS = 100


def add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model on a review file (default: IMDB)",
                       description="Train a model on a labelled review file (CSV/TSV, "
                       "optionally .gz). With no FILE, train on the IMDB train split from "
                       "the data home and evaluate on its test split.")
    p.add_argument("file", nargs="*", metavar="FILE", help="review file(s) or patterns "
                   "(read one after the other); default: IMDB train split")
    p.add_argument("--test", metavar="FILE", help="evaluate on this labelled file afterwards")
    model_arg(p, writes=True)
    reader_args(p)
    settings_args(p)
    labels = p.add_argument_group("labels beyond positive/negative")
    labels.add_argument("--multiclass", action="store_true", help="keep every value of the "
                        "label column as a class (2 to 100; e.g. -1/0/1, or star ratings)")
    labels.add_argument("--stars", nargs="?", const="auto", metavar="LOW:HIGH",
                        help="a numeric rating column: ratings <= LOW negative, >= HIGH "
                        "positive, the middle dropped (default: read the scale from the "
                        "data; 1-5: 2:4, 1-10: 4:7)")
    p.add_argument("--full", action="store_true", help="save the full model (every feature, "
                   "its counts, the hidden layer) instead of the compact one a few MB in size")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted training from MODEL.ckpt")
    p.add_argument("--threads", type=int, metavar="N",
                   help="worker threads for hashing, counting, the epochs and BLAS; 1 also "
                        "scores the --test file in this process (default: every core)")
    memory_args(p)
    cluster_args(p, train=True)
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per epoch on stdout")
    p.add_argument("--log", metavar="FILE", help="write one JSON object per epoch here "
                   "(the records of --json)")
    p.add_argument("--plot", metavar="FILE", help="draw loss and accuracy per epoch "
                   "(PNG, SVG or PDF; needs matplotlib)")
    p.set_defaults(handler=cmd_train)


def settings_args(p):
    """One flag per training setting, generated from the Settings table."""
    from dataclasses import fields

    from ..training.settings import Settings

    g = p.add_argument_group("training settings")
    for f in fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            g.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction,
                           default=None, help=f"{f.metadata['help']} (default: "
                           f"{f.metadata['shown']})")
            continue
        kind = {"int": int, "float": float, "str": str}[str(f.type).split(" |")[0]]
        g.add_argument(flag, dest=f.name, type=kind, default=None, metavar=f.name.upper(),
                       help=f"{f.metadata['help']} (default: {f.metadata['shown']})")


def settings_from(args):
    from dataclasses import fields

    from ..training.settings import SettingError, Settings

    chosen = {f.name: getattr(args, f.name) for f in fields(Settings)
              if getattr(args, f.name, None) is not None}
    try:
        return Settings(**chosen)
    except SettingError as exc:
        raise SentimentError(f"--{exc.name.replace('_', '-')} {exc.reason}") from None


def cmd_train(args) -> int:
    import time

    from ..memory import one_heap

    start = time.perf_counter()
    one_heap()  # the pipeline's worker threads share one heap
    scheme = label_scheme(args)  # before any download: `--stars FILE` took the file
    settings = settings_from(args).for_labels(multiclass=scheme.kind == "multiclass")
    max_memory = parse_size(args.max_memory)
    model_path, train_paths, test_path = _paths(args)
    ahead = _test_ahead(args, train_paths, test_path, scheme, settings, max_memory)
    try:
        source = open_shared(train_paths, args, scheme)  # None: read here, not by workers
        if source is None:
            sources = [open_reviews(p, args, scheme=scheme) for p in train_paths]
            source = sources[0] if len(sources) == 1 else FileSet(sources)
        scheme.column = source.label_column
        # opened now to fail early on a bad file; read later under the model's classes
        test = open_reviews(test_path, args, scheme=label_scheme(args)) if test_path else None
        epochs = EpochLog(args, Results())  # the log opened before training
        report = DataReport()
        on_prepared = _on_prepared(args, source, report, epochs.results, ahead)
        engine = open_engine(args) if not args.resume else one_process(args)
    except BaseException:
        if ahead is not None:  # a bad file or flag: the child goes too
            ahead.close()
        raise
    with engine as cluster:
        try:
            model = _train_or_checkpoint(source, settings, model_path, args, epochs.on_epoch,
                                         on_prepared, max_memory, report, cluster,
                                         ahead=ahead)
            epochs.close()
            # rebinding frees the full model as the compact one is made (the 500k file's
            # training weights and vocabulary are ~60 MB)
            model, features = _for_saving(args, source, model, report)
            return _finish(args, source, model, features, model_path, test, test_path,
                           report, epochs.results, start, cluster, ahead)
        finally:
            epochs.close()
            if ahead is not None:
                ahead.close()


def _paths(args) -> tuple[Path, list, str | None]:
    """(the model's path, the training files, the test file) of ``train``'s flags, each
    checked before any long work (IMDB fetched when no file is named)."""
    from ..io.paths import default_model
    from ..io.reader import imdb_paths

    model_path = Path(args.model) if args.model else default_model()
    if args.model is None:
        model_path.parent.mkdir(parents=True, exist_ok=True)
    if args.threads is not None and args.threads < 1:
        raise SentimentError(f"--threads must be at least 1; got {args.threads}")
    check_writable(model_path, "--model", "the model")
    if args.plot:
        from ..plots import check_plot_path
        check_plot_path(args.plot)
    test_path = args.test
    if not args.file:
        train_path, imdb_test = imdb_paths(download=True)
        test_path = test_path or imdb_test
        train_paths = [train_path]
    else:
        train_paths = expand_files(args.file)
    positive(args.rounds, "--rounds")
    if args.cache_dir is not None and not Path(args.cache_dir).is_dir():
        raise SentimentError(f"{args.cache_dir}: no such folder; create it or choose another "
                             "--cache-dir")
    check_distinct({"--model": model_path, "--log": args.log, "--plot": args.plot},
                   {**{"the training file" + (f" {p}" if len(train_paths) > 1 else ""): p
                       for p in train_paths},
                    "the --test file": test_path})
    return model_path, train_paths, test_path


def _test_ahead(args, train_paths, test_path, scheme, settings, max_memory: int):
    """The child process that reads and hashes the --test file while the model trains
    (:mod:`sentiment.cli.ahead`), started now: its imports run on the other core while
    this process opens the files and reads the first chunk (IMDB: the imports were 0.5 s of
    CPU in the middle of the epochs). None when it does not pay."""
    if test_path is None or scheme.kind != "binary" or args.workers is not None \
            or args.cluster is not None or args.resume or args.threads == 1:
        return None
    from ..training.budget import Budget
    from .ahead import TestAhead, worth_it  # read and hashed by a child process

    if not worth_it(train_paths, max_memory):
        return None
    ahead = TestAhead(test_path, {k: getattr(args, k, None) for k in
                                  ("text_column", "label_column", "encoding")},
                      scheme, settings, Budget(max_memory).ahead().total)
    ahead.start()
    return ahead


def _on_prepared(args, source, report, results, ahead):
    """What ``train`` says once the rows are ready, before the first epoch."""
    def on_prepared(model):
        judge_inputs(source.name, model)  # no feature that tells the classes apart
        if ahead is not None:  # the child looks its chunks up while the model trains
            ahead.vocabulary(model.vocab)
        table = source.labels.table if model.scheme.kind == "multiclass" else None
        note(report.summary(source.name, model.classes,
                            table.remap() if table is not None else None))
        for line in report.scripts(source.name, model.vocab.rule):
            note(line)
        if model.info["n_train"] < FEW_ROWS:
            note(f"{source.name}: warning: only {model.info['n_train']:,} rows to train on "
                 f"(and {model.info['n_val']:,} held out); a useful model needs hundreds of "
                 "reviews or more")
        cache = model.info["cache"]
        if cache["disk_bytes"]:
            note(f"cache: {cache['disk_bytes'] / 1e9:.1f} GB in {cache['folder']} (removed "
                 f"at the end), rows in {model.info['shards']} shards")
        if (cache.get("count_threshold") or 1) > 1:
            note(f"the feature counts outgrew --max-memory: features seen in fewer than "
                 f"{cache['count_threshold']} texts were dropped as they went (counts are "
                 "approximate); a larger --max-memory counts more exactly")
        if not args.json:
            results.print(EPOCH_HEADER)

    return on_prepared


def _for_saving(args, source, model, report):
    """(the model to save: compact unless --full, the words that say its features);
    refused if it cannot work, warned about if it answers one class (:func:`judge`)."""
    model.info["source"] = source.name
    features = f"{len(model.vocab):,} feature{'s' * (len(model.vocab) != 1)}"
    if not args.full and model.net.activation == "linear":
        from ..model.compact import compact

        model = compact(model)  # what is saved is what is tested
        features = f"{len(model.vocab):,} of {features} (compact; --full keeps all)"
    table = source.labels.table if model.scheme.kind == "multiclass" else None
    note(*judge(source.name, model, report.per_class(
        len(model.classes), table.remap() if table is not None else None)))
    return model, features


def _finish(args, source, model, features, model_path, test, test_path, report, results,
            start, engine, ahead=None) -> int:
    """Save the model while the test file is scored; report."""
    import time

    trained = time.perf_counter() - start
    with Saving(model, model_path, model_path.with_name(model_path.name + ".ckpt")):
        metrics = None
        if ahead is not None:  # read and hashed while the model trained
            try:
                metrics, seen, test_name = ahead.score(model)
            except RuntimeError as exc:  # the child failed (killed?): score it here
                note(f"{test_path}: {exc}; scoring it in this process")
        if metrics is None and test is not None:
            from ..model.metrics import evaluate_chunks

            test = open_reviews(test_path, args, scheme=model.scheme, fixed=True)
            test_name = test.name
            # the overlap with the training file is counted as the test file is read for
            # scoring: reading it once more before training cost 0.5 s of a 10 s run
            seen = DataReport()
            metrics = evaluate_chunks(model, seen.watch(stream(test, desc="scoring")),
                                      mapper=engine.mapper(model) if engine else None)
    times = model.info["times"]
    best = ([h for h in model.history if h["best"]] or model.history)[-1]
    size = model_path.stat().st_size / 1e6
    r = model.info.get("refit")
    kept = f"kept epoch {best['epoch']}" + (" (stopped while training again on all rows)"
                                            if r and r.get("stopped") else "")
    if r and not r.get("stopped"):
        kept = f"trained again on all {r['rows']:,} rows for {r['epochs']} epochs (a small file)"
    note(f"saved {model_path} ({size:.1f} MB): vocabulary {features}, {kept}",
         "times: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
         + f"; total {trained:.1f} s")
    if args.plot:  # after saving: a failed chart never costs the model
        from ..plots import plot_history
        chart = plot_history(model.history, args.plot, title=Path(source.name).name)
        note(f"plotted {chart}")
    if metrics is not None:
        shared = report.overlap(seen)
        if shared:
            note(f"{test_name}: warning: {shared:,} of its {metrics['n']:,} texts are also in "
                 f"{source.name}; the test accuracy overstates how the model does on new "
                 "texts")
        if args.json:
            results.print(json.dumps({"test_accuracy": metrics["accuracy"],
                                      "n_test": metrics["n"], "test_file": test_name}))
        else:
            results.print(f"test accuracy {metrics['accuracy']:.2%} on {metrics['n']:,} "
                          f"reviews ({test_name})")
    return results.finish(f"the model was saved to {model_path}")


def _then(chunks, action):
    """``chunks``, then ``action()`` (if any) once they are all read."""
    yield from chunks
    if action is not None:
        action()


def label_scheme(args):
    """What the label column means, from --multiclass and --stars."""
    from ..io.labels import BINARY, LabelScheme, parse_cuts

    if args.multiclass and args.stars:
        raise SentimentError("--multiclass and --stars exclude each other: --multiclass "
                             "keeps every rating as a class, --stars makes two of them")
    if args.multiclass:
        return LabelScheme("multiclass", [])
    if args.stars:
        if args.stars != "auto" and ":" not in args.stars:  # `--stars FILE` took the file
            raise SentimentError(f"--stars {args.stars}: --stars takes an optional LOW:HIGH; "
                                 "put the file first (train FILE --stars) or write "
                                 "--stars=LOW:HIGH")
        low, high = parse_cuts(args.stars) if args.stars != "auto" else (None, None)
        return LabelScheme("stars", list(BINARY), negative_max=low, positive_min=high)
    return LabelScheme()


def _train_or_checkpoint(source, settings, model_path: Path, args, on_epoch, on_prepared,
                         max_memory: int, report, engine=None, ahead=None):
    """Train; on a stop request or divergence, save the last complete epoch as
    ``MODEL.ckpt`` (resumable with ``--resume``), say so and exit. ``ahead``: the test
    file's child (:class:`~sentiment.cli.ahead.TestAhead`), told to read once the training
    file is read (the last chunks may still be hashing); it then reads on the other core,
    and the epochs keep to one thread until it waits for the model."""
    from ..model.model import Model
    from ..training.job import TrainingStopped, checkpoint_parts, train_chunks

    ckpt = model_path.with_name(model_path.name + ".ckpt")
    start_from = None
    if args.resume:
        if not ckpt.exists():
            raise SentimentError(f"{ckpt}: no checkpoint to resume from; train without "
                                 "--resume")
        start_from = Model.load(ckpt)
        if start_from.checkpoint is None:
            raise SentimentError(f"{ckpt}: holds no trainer state; train without --resume")
        same_settings(args, start_from.settings, ckpt)
        note(f"resuming from {ckpt} after epoch {start_from.checkpoint[1]['epoch']}")
    stop = GracefulStop()
    writer = CheckpointWriter(ckpt, source.name)
    try:
        with stop, writer:
            if getattr(source, "inputs", None) is not None:  # the workers read them
                rows, source.on_read = source, report.add_parts
            else:
                rows = _then(report.watch(stream(source, max_memory)),
                             None if ahead is None else ahead.go)
            classes = source.labels.table if source.labels.scheme.kind == "multiclass" \
                else None
            if engine is not None:
                from ..cluster.mixing import train_cluster
                if args.threads is not None or args.cache_dir is not None:
                    note("--threads and --cache-dir apply to one process; on a cluster "
                         "each worker runs one thread and keeps its rows in memory")
                model = train_cluster(engine, rows, settings, on_epoch=on_epoch,
                                      on_checkpoint=writer, should_stop=stop.requested,
                                      max_memory=max_memory, on_prepared=on_prepared,
                                      scheme=source.labels.scheme, classes=classes,
                                      rounds=args.rounds, how=args.mix, note=note,
                                      round_timeout=args.round_timeout, scale_lr=args.lr is None)
                note(*said(model))
            else:
                model = train_chunks(rows, settings, on_epoch=on_epoch,
                                     on_checkpoint=writer, resume=start_from,
                                     should_stop=stop.requested, threads=args.threads,
                                     max_memory=max_memory, cache_dir=args.cache_dir,
                                     on_prepared=on_prepared, scheme=source.labels.scheme,
                                     classes=classes,
                                     epoch_threads=None if ahead is None
                                     else ahead.epoch_threads)
    except DataError as exc:
        raise SentimentError(f"{source.name}: {exc}") from None
    except TrainingStopped as exc:
        if exc.model is None:
            saved = "no epoch was complete, nothing saved"
        else:
            exc.model.info["source"] = source.name
            exc.model.save(ckpt, checkpoint=checkpoint_parts(exc.state))
            saved = (f"saved epoch {exc.state.epoch} to {ckpt}; continue with the same "
                     "command and --resume")
        if exc.reason == "interrupted":
            note(f"interrupted: {exc}; {saved}")
            raise SystemExit(128 + (stop.signal or 2)) from None
        raise SentimentError(f"{source.name}: training diverged: {exc}; {saved}") from None
    return model
