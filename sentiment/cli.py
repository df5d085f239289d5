"""Command line: ``python -m sentiment {train,predict,evaluate,fetch,...}``.

Each handler parses, calls the library, prints: results to stdout, notes and progress to
stderr. User mistakes are :class:`SentimentError`, caught once in :func:`main`: one line on
stderr, exit code 2. Imports are local to the handlers, so ``predict`` loads only numpy.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import SentimentError, check_writable

DEFAULT_MODEL = "sentiment-model.npz"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.handler(args) or 0
    except SentimentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `predict ... | head`: the reader left, nothing to say
        sys.stderr.close()
        return 0


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser. With ``command`` (one of :data:`COMMANDS`), only that
    command's sub-parser is built: ``predict`` then imports nothing that training,
    ``compare`` or ``bench`` need, which is part of its start-up time."""
    parser = argparse.ArgumentParser(
        prog="sentiment", description="A fast sparse-input sentiment classifier.")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, add in COMMANDS.items():
        if command not in COMMANDS or command == name:
            add(sub)
    return parser


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model on a review file (default: IMDB)",
                       description="Train a model on a labelled review file (CSV/TSV, "
                       "optionally .gz). With no FILE, train on the IMDB train split from "
                       "the data home and evaluate on its test split.")
    p.add_argument("file", nargs="?", help="review file; default: IMDB train split")
    p.add_argument("--test", metavar="FILE", help="evaluate on this labelled file afterwards")
    _model_arg(p)
    _reader_args(p)
    _settings_args(p)
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted training from MODEL.ckpt")
    p.add_argument("--threads", type=int, metavar="N",
                   help="threads for tokenizing and BLAS (default: every core)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per epoch on stdout")
    p.add_argument("--log", metavar="FILE", help="write one JSON object per epoch here "
                   "(the records of --json)")
    p.add_argument("--plot", metavar="FILE", help="draw loss and accuracy per epoch "
                   "(PNG, SVG or PDF; needs matplotlib)")
    p.set_defaults(handler=cmd_train)


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="label texts as positive or negative",
                       description="Print a label and its probability for each text. "
                       "With no TEXT or with '-', read one text per line from stdin.")
    p.add_argument("texts", nargs="*", metavar="TEXT")
    _model_arg(p)
    p.add_argument("--json", action="store_true",
                   help="one JSON object per text: text, label, probabilities")
    p.add_argument("--file", metavar="FILE", help="score every row of a review file; "
                   "writes its columns plus label and probability (CSV, or JSON lines "
                   "with --json or an --output ending in .jsonl)")
    p.add_argument("--output", metavar="PATH", help="with --file: write here, not stdout")
    p.add_argument("--threshold", type=float, metavar="T", help="label a text 'uncertain' "
                   "when the probability of its label is below T (0.5 to 1)")
    p.add_argument("--text-column", metavar="NAME", help="with --file: the text column")
    p.add_argument("--encoding", metavar="NAME", help="with --file: its encoding")
    p.set_defaults(handler=cmd_predict)


def _add_explain(sub) -> None:
    p = sub.add_parser("explain", help="the words that pushed a prediction each way",
                       description="Split the model's score (logit) for TEXT into one "
                       "exact signed contribution per known word or n-gram, plus a bias.")
    p.add_argument("text", metavar="TEXT")
    _model_arg(p)
    p.add_argument("--top", type=int, default=10, metavar="N",
                   help="features to show each way (default: 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_explain)


def _add_similar(sub) -> None:
    p = sub.add_parser("similar", help="words whose hidden-layer rows are closest to WORD",
                       description="Rank the vocabulary by how close each feature's "
                       "layer-1 row is to WORD's (cosine; the dot product when layer 1 is "
                       "rank one, as after default training).")
    p.add_argument("word", metavar="WORD", help="a word (or n-gram) of the vocabulary")
    _model_arg(p)
    p.add_argument("--top", type=int, default=10, metavar="N",
                   help="neighbours to show (default: 10)")
    p.add_argument("--metric", choices=["auto", "cosine", "dot"], default="auto",
                   help="default auto: cosine, or dot if layer 1 is rank one")
    p.add_argument("--min-count", type=int, default=20, metavar="N", help="only neighbours "
                   "seen in at least N training texts (default: 20)")
    p.add_argument("--ngrams", action="store_true",
                   help="also list n-grams as neighbours (default: single words)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_similar)


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="accuracy, precision, recall, F1 on a labelled file")
    p.add_argument("file", help="labelled review file")
    _model_arg(p)
    _reader_args(p)
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(handler=cmd_evaluate)


def _add_fetch(sub) -> None:
    p = sub.add_parser("fetch", help="download a dataset into the data home")
    p.add_argument("dataset", choices=["imdb"])
    p.add_argument("--force", action="store_true", help="download again even if present")
    p.set_defaults(handler=cmd_fetch)


def _add_compare(sub) -> None:
    from .stages import DEFAULT_LIMIT, STAGES

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
    p.add_argument("--references", action=argparse.BooleanOptionalAction, default=None,
                   help="add scikit-learn reference rows (LogisticRegression, NBSVM) on the "
                   "defaults' features (default: with all stages, not with --stages)")
    p.set_defaults(handler=cmd_compare)


def _add_bench(sub) -> None:
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


#: command -> the function that adds its sub-parser, in the order ``--help`` lists them
COMMANDS = {"train": _add_train, "predict": _add_predict, "explain": _add_explain,
            "similar": _add_similar, "evaluate": _add_evaluate, "fetch": _add_fetch,
            "compare": _add_compare, "bench": _add_bench}


def _model_arg(p):
    p.add_argument("--model", default=DEFAULT_MODEL, metavar="PATH",
                   help=f"model file (default: {DEFAULT_MODEL})")


def _reader_args(p):
    p.add_argument("--text-column", metavar="NAME", help="column holding the review text")
    p.add_argument("--label-column", metavar="NAME", help="column holding the label")
    p.add_argument("--encoding", metavar="NAME", help="file encoding (default: UTF-8)")


def _settings_args(p):
    """One flag per training setting, generated from the Settings table."""
    from dataclasses import fields

    from .settings import Settings

    g = p.add_argument_group("training settings")
    for f in fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            g.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction,
                           default=None, help=f"{f.metadata['help']} (default: {f.default})")
            continue
        kind = {"int": int, "float": float, "str": str}[str(f.type)]
        g.add_argument(flag, dest=f.name, type=kind, default=None, metavar=f.name.upper(),
                       help=f"{f.metadata['help']} (default: {f.default})")


def _settings_from(args):
    from dataclasses import fields

    from .settings import Settings

    chosen = {f.name: getattr(args, f.name) for f in fields(Settings)
              if getattr(args, f.name, None) is not None}
    try:
        return Settings(**chosen)
    except ValueError as exc:
        raise SentimentError(f"bad setting: {exc}") from None


def _note(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _read(path, args, need_labels=True):
    from .datasets import read_reviews

    reviews = read_reviews(path, text_column=getattr(args, "text_column", None),
                           label_column=getattr(args, "label_column", None),
                           need_labels=need_labels, encoding=getattr(args, "encoding", None))
    _note(*reviews.notes)
    return reviews


EPOCH_HEADER = f"{'epoch':>5}  {'loss':>7}  {'train':>7}  {'val':>7}  {'reviews/s':>10}  " \
               f"{'seconds':>7}"


def format_epoch(s) -> str:
    val = f"{s.val_accuracy:7.2%}" if s.val_accuracy is not None else f"{'-':>7}"
    mark = "  *" if s.best else ""
    return (f"{s.epoch:5d}  {s.loss:7.4f}  {s.train_accuracy:7.2%}  {val}  "
            f"{s.reviews_per_second:10,.0f}  {s.seconds:7.2f}{mark}")


def cmd_train(args) -> int:
    import time

    import numpy as np

    from .datasets import imdb_paths

    start = time.perf_counter()
    model_path = Path(args.model)
    settings = _settings_from(args)
    if args.threads is not None and args.threads < 1:
        raise SentimentError(f"--threads must be at least 1; got {args.threads}")
    check_writable(model_path, "--model", "the model")
    if args.plot:
        from .plots import check_plot_path
        check_plot_path(args.plot)
    test_path = args.test
    if args.file is None:
        train_path, imdb_test = imdb_paths(download=True)
        test_path = test_path or imdb_test
    else:
        train_path = args.file
    t = time.perf_counter()
    reviews = _read(train_path, args)
    test = _read(test_path, args) if test_path else None  # fail early on a bad test file
    read_seconds = time.perf_counter() - t
    counts = np.bincount(reviews.labels, minlength=2)
    if counts.min() == 0:
        only = "positive" if counts[1] else "negative"
        raise SentimentError(f"{reviews.path}: every label is {only} ({counts.max():,} "
                             "rows); training needs both positive and negative reviews")

    log = _open_log(args.log, args.resume) if args.log else None  # before training

    def on_epoch(stats):
        if log is not None:
            log.write(json.dumps(stats.to_dict()) + "\n")
            log.flush()
        if args.json:
            print(json.dumps(stats.to_dict()), flush=True)
        else:
            print(format_epoch(stats), flush=True)

    if not args.json:
        print(EPOCH_HEADER, flush=True)
    try:
        model = _train_or_checkpoint(reviews, settings, model_path, args.resume, on_epoch,
                                 args.threads)
    finally:
        if log is not None:
            log.close()
    model.info["times"]["read"] = read_seconds
    model.info["source"] = str(reviews.path)
    model.save(model_path)
    model_path.with_name(model_path.name + ".ckpt").unlink(missing_ok=True)  # superseded
    times = model.info["times"]
    best = ([h for h in model.history if h["best"]] or model.history)[-1]
    size = model_path.stat().st_size / 1e6
    _note(f"saved {model_path} ({size:.1f} MB): vocabulary {len(model.vocab):,} features, "
          f"kept epoch {best['epoch']}",
          "times: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
          + f"; total {time.perf_counter() - start:.1f} s")
    if args.plot:  # after saving: a failed chart never costs the model
        from .plots import plot_history
        chart = plot_history(model.history, args.plot, title=Path(reviews.path).name)
        _note(f"plotted {chart}")
    if test is not None:
        metrics = evaluate_model(model, test.texts, test.labels)
        if args.json:
            print(json.dumps({"test_accuracy": metrics["accuracy"], "n_test": metrics["n"],
                              "test_file": str(test.path)}))
        else:
            print(f"test accuracy {metrics['accuracy']:.2%} on {metrics['n']:,} reviews "
                  f"({test.path})")
    return 0


def _open_log(path, append: bool):
    try:
        return open(path, "a" if append else "w", encoding="utf-8")
    except OSError as exc:
        raise SentimentError(f"{path}: cannot write the log ({exc.strerror or exc}); "
                             "choose another --log") from None


class GracefulStop:
    """SIGINT/SIGTERM handling for training: the first signal asks the trainer to stop
    after the current batch; a second one aborts at once (KeyboardInterrupt)."""

    def __init__(self):
        self.signal = None
        self._old = {}

    def __enter__(self):
        import signal

        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        import signal

        for sig, handler in self._old.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame):
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum
        _note("stopping after this batch (press Ctrl-C again to abort at once)")

    def requested(self) -> bool:
        return self.signal is not None


def _train_or_checkpoint(reviews, settings, model_path: Path, resume: bool, on_epoch,
                         threads: int | None = None):
    """Train; on a stop request or divergence, save the last complete epoch as
    ``MODEL.ckpt`` (resumable with ``--resume``), say so and exit."""
    from .model import Model
    from .train import TrainingStopped, checkpoint_parts, train

    ckpt = model_path.with_name(model_path.name + ".ckpt")
    start_from = None
    if resume:
        if not ckpt.exists():
            raise SentimentError(f"{ckpt}: no checkpoint to resume from; train without "
                                 "--resume")
        start_from = Model.load(ckpt)
        if start_from.checkpoint is None:
            raise SentimentError(f"{ckpt}: holds no trainer state; train without --resume")
        _note(f"resuming from {ckpt} after epoch {start_from.checkpoint[1]['epoch']}")
    stop = GracefulStop()
    try:
        with stop:
            model = train(reviews.texts, reviews.labels, settings, on_epoch=on_epoch,
                          resume=start_from, should_stop=stop.requested, threads=threads)
    except ValueError as exc:
        raise SentimentError(f"{reviews.path}: {exc}") from None
    except TrainingStopped as exc:
        if exc.model is None:
            saved = "no epoch was complete, nothing saved"
        else:
            exc.model.info["source"] = str(reviews.path)
            exc.model.save(ckpt, checkpoint=checkpoint_parts(exc.state))
            saved = (f"saved epoch {exc.state.epoch} to {ckpt}; continue with the same "
                     "command and --resume")
        if exc.reason == "interrupted":
            _note(f"interrupted: {exc}; {saved}")
            raise SystemExit(128 + (stop.signal or 2)) from None
        raise SentimentError(f"{reviews.path}: training diverged: {exc}; {saved}") from None
    return model


def load_model(path):
    from .model import Model
    return Model.load(path)


def cmd_predict(args) -> int:
    if args.file is not None:
        from .batch import run_command
        return run_command(args, load_model, _read)
    if args.output is not None:
        raise SentimentError("--output writes the scores of a --file; pass --file FILE")
    from .batch import check_threshold
    check_threshold(args.threshold)
    texts = args.texts
    if not texts or texts == ["-"]:
        if sys.stdin is None or sys.stdin.isatty() and not texts:
            _note("reading texts from stdin, one per line (Ctrl-D to end)")
        texts = [line.rstrip("\r\n") for line in sys.stdin]
    from .model import LABELS

    model = load_model(args.model)
    probs, known, positive = model.predict_details(texts)
    out = []
    for text, p, k, pos in zip(texts, probs.tolist(), known.tolist(), positive.tolist()):
        label = LABELS[pos]
        if args.threshold is not None and max(p, 1 - p) < args.threshold:
            label = "uncertain"
        if args.json:
            out.append(json.dumps({"text": text, "label": label,
                                   "probabilities": {"negative": round(1 - p, 6),
                                                     "positive": round(p, 6)},
                                   "known_features": k}))
        else:
            flag = "" if k else "\t(no known words)"
            out.append(f"{label}\t{max(p, 1 - p):.4f}{flag}")
    if out:
        print("\n".join(out))
    return 0


def _positive(n: int, flag: str) -> None:
    if n < 1:
        raise SentimentError(f"{flag} {n}: must be at least 1")


def cmd_explain(args) -> int:
    from .explain import explain, format_explanation

    _positive(args.top, "--top")
    e = explain(load_model(args.model), args.text)
    print(json.dumps(e.to_dict(args.top), ensure_ascii=False) if args.json
          else format_explanation(e, args.top))
    return 0


def cmd_similar(args) -> int:
    from .explain import format_neighbours, similar

    _positive(args.top, "--top")
    nb = similar(load_model(args.model), args.word, args.top, metric=args.metric,
                 min_count=args.min_count, ngrams=args.ngrams)
    if args.json:
        print(json.dumps(nb.to_dict(), ensure_ascii=False))
        return 0
    if nb.note:
        _note(nb.note)
    print(format_neighbours(nb))
    return 0


def evaluate_model(model, texts, labels) -> dict:
    """Accuracy, precision, recall, F1 (positive class), confusion matrix, baseline."""
    import numpy as np

    from .model import LABELS

    p = model.net.logits(model.encode(texts)) > 0
    y = np.asarray(labels) > 0
    tp, fp = int(np.sum(p & y)), int(np.sum(p & ~y))
    fn, tn = int(np.sum(~p & y)), int(np.sum(~p & ~y))
    n = len(y)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": n, "accuracy": (tp + tn) / n, "precision": precision, "recall": recall,
            "f1": f1, "majority_baseline": max(tp + fn, tn + fp) / n,
            "labels": list(LABELS), "confusion": [[tn, fp], [fn, tp]]}


def cmd_evaluate(args) -> int:
    model = load_model(args.model)
    reviews = _read(args.file, args)
    m = evaluate_model(model, reviews.texts, reviews.labels)
    if args.json:
        print(json.dumps({"file": str(reviews.path), **m}))
        return 0
    (tn, fp), (fn, tp) = m["confusion"]
    print(f"accuracy   {m['accuracy']:.2%} on {m['n']:,} reviews "
          f"(majority class: {m['majority_baseline']:.2%})")
    print(f"precision  {m['precision']:.2%}   recall {m['recall']:.2%}   F1 {m['f1']:.2%}"
          "   (positive class)")
    print(f"{'':18}{'predicted neg':>14}{'predicted pos':>15}")
    print(f"{'actual negative':18}{tn:>14,}{fp:>15,}")
    print(f"{'actual positive':18}{fn:>14,}{tp:>15,}")
    return 0


def cmd_compare(args) -> int:
    from .compare import run_command
    return run_command(args)


def cmd_bench(args) -> int:
    from .bench import run_command
    return run_command(args)


def cmd_fetch(args) -> int:
    from .datasets import data_home
    from .fetch import fetch_imdb

    train, test = fetch_imdb(data_home(), force=args.force)
    print(f"{train}\n{test}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
