"""``predict``, ``explain`` and ``similar``: what a trained model says about texts."""
from __future__ import annotations

import json
import sys

from ..errors import SentimentError
from .common import (
    chunks,
    cluster_args,
    load_model,
    model_arg,
    note,
    open_engine,
    open_reviews,
    positive,
)


def add_predict(sub) -> None:
    p = sub.add_parser("predict", help="label texts as positive or negative",
                       description="Print a label and its probability for each text. "
                       "With no TEXT or with '-', read one text per line from stdin.")
    p.add_argument("texts", nargs="*", metavar="TEXT")
    model_arg(p)
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
    cluster_args(p)
    p.set_defaults(handler=cmd_predict)


def add_explain(sub) -> None:
    p = sub.add_parser("explain", help="the words that pushed a prediction each way",
                       description="Split the model's score (logit) for TEXT into one "
                       "exact signed contribution per known word or n-gram, plus a bias.")
    p.add_argument("text", metavar="TEXT")
    model_arg(p)
    p.add_argument("--top", type=int, default=10, metavar="N",
                   help="features to show each way (default: 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_explain)


def add_similar(sub) -> None:
    p = sub.add_parser("similar", help="words whose hidden-layer rows are closest to WORD",
                       description="Rank the vocabulary by how close each feature's "
                       "layer-1 row is to WORD's (cosine; the dot product when layer 1 is "
                       "rank one, as after default training).")
    p.add_argument("word", metavar="WORD", help="a word (or n-gram) of the vocabulary")
    model_arg(p)
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


def _stdin_batches(asked: bool):
    """The lines of stdin as batches of texts, each batch as soon as it has arrived (so
    ``tail -f log | sentiment predict`` answers line by line, and a pipe of many lines is
    scored a buffer at a time), whatever its state: bytes that are not UTF-8 become lone
    surrogates (one word character each, as the tokenizer reads them) instead of an error
    in a strict UTF-8 locale; a closed stdin is a one-line error."""
    import os

    stdin = sys.stdin
    if stdin is None or getattr(stdin, "closed", False):
        raise SentimentError("no TEXT given and stdin is closed; pass texts, or --file FILE")
    try:
        if stdin.isatty() and not asked:
            note("reading texts from stdin, one per line (Ctrl-D to end)")
        try:
            fd = stdin.fileno()
        except (AttributeError, OSError, ValueError):  # not a descriptor (an embedder's)
            yield [line.rstrip("\r\n") for line in stdin]
            return
        tail, first = b"", True
        while True:
            data = os.read(fd, 1 << 16)  # what has arrived, up to 64 KB; b"" at the end
            if not data:
                break
            lines = (tail + data).split(b"\n")
            tail = lines.pop()
            if lines:
                yield _decode(lines, first)
                first = False
        if tail:
            yield _decode([tail], first)
    except OSError as exc:  # stdin is a descriptor that cannot be read
        raise SentimentError(f"cannot read stdin ({exc.strerror or exc}); pass texts, or "
                             "--file FILE") from None


def _decode(lines: list[bytes], first: bool) -> list[str]:
    texts = [line.decode("utf-8", "surrogateescape").rstrip("\r") for line in lines]
    if first and texts[0].startswith("\ufeff"):  # a byte-order mark, not a word
        texts[0] = texts[0][1:]
    return texts


def cmd_predict(args) -> int:
    if args.file is not None:
        return score_file(args)
    if args.output is not None:
        raise SentimentError("--output writes the scores of a --file; pass --file FILE")
    if args.workers is not None or args.cluster is not None:
        raise SentimentError("--workers and --cluster score a --file; texts given here are "
                             "scored in this process")
    from ..model.scoring import check_threshold

    model = load_model(args.model)
    check_threshold(args.threshold, len(model.classes))
    texts = args.texts
    batches = _stdin_batches(bool(texts)) if not texts or texts == ["-"] else [texts]
    for batch in batches:
        out = answers(model, batch, args.threshold, args.json)
        if out:
            print("\n".join(out), flush=True)
    return 0


def answers(model, texts: list[str], threshold: float | None, as_json: bool) -> list[str]:
    """One line per text: label and its probability, or a JSON object."""
    import numpy as np

    scores = model.scores(texts)
    probs = scores.probabilities()
    shown = probs[np.arange(len(probs)), scores.codes]  # of the label, as printed
    labels = scores.labels(threshold, shown)
    classes = model.classes
    out = []
    for text, label, p, q, k in zip(texts, labels.tolist(), shown.tolist(), probs.tolist(),
                                    scores.known.tolist()):
        if as_json:
            out.append(json.dumps({"text": text, "label": label,
                                   "probabilities": {c: round(v, 6)
                                                     for c, v in zip(classes, q)},
                                   "known_features": k}))
        else:
            flag = "" if k else "\t(no known words)"
            out.append(f"{label}\t{p:.4f}{flag}")
    return out


def cmd_explain(args) -> int:
    from ..model.explain import explain, format_explanation

    positive(args.top, "--top")
    e = explain(load_model(args.model), args.text)
    print(json.dumps(e.to_dict(args.top), ensure_ascii=False) if args.json
          else format_explanation(e, args.top))
    return 0


def cmd_similar(args) -> int:
    from ..model.explain import format_neighbours, similar

    positive(args.top, "--top")
    nb = similar(load_model(args.model), args.word, args.top, metric=args.metric,
                 min_count=args.min_count, ngrams=args.ngrams)
    if args.json:
        print(json.dumps(nb.to_dict(), ensure_ascii=False))
        return 0
    if nb.note:
        note(nb.note)
    print(format_neighbours(nb))
    return 0


def score_file(args) -> int:
    """``predict --file``: check the output, load the model, then read, score and write
    chunk by chunk (the output grows while it runs; memory stays flat)."""
    import time
    from functools import partial
    from pathlib import Path

    import numpy as np

    from ..io.files import check_distinct, check_writable
    from ..model.scoring import (
        EMPTY,
        UNCERTAIN,
        check_threshold,
        output_format,
        output_stream,
        predictions_frame,
        prefetch,
        score_texts,
        write_frame,
    )
    start = time.perf_counter()
    if args.texts:
        raise SentimentError("pass either texts or --file, not both")
    path = Path(args.output) if args.output else None
    fmt = output_format(args.output, args.json)
    if path is not None:
        check_distinct({"--output": path}, {"the --file": args.file, "the model": args.model})
        check_writable(path, "--output", "the scores")
    model = load_model(args.model)
    check_threshold(args.threshold, len(model.classes))
    source = open_reviews(args.file, args, need_labels=False, keep_empty=True)
    counts = dict.fromkeys((*model.classes, UNCERTAIN, EMPTY), 0)
    n = 0
    with open_engine(args) as cluster, output_stream(path) as out:
        rows = chunks(source, desc="scoring")
        scored = prefetch(lambda c: score_texts(model, c.texts, args.threshold), rows) \
            if cluster is None else cluster.mapper(model)(
                partial(score_texts, threshold=args.threshold), rows, lambda c: c.texts)
        for chunk, (labels, probability) in scored:
            if chunk.empty is not None and chunk.empty.any():  # kept, in place, unscored
                labels[chunk.empty], probability[chunk.empty] = EMPTY, np.nan
            frame, columns = predictions_frame(chunk, labels, probability)
            if n == 0 and columns != ("label", "probability"):
                note(f"{source.name}: already has a column named label or probability; the "
                     f"predictions are in {columns[0]!r} and {columns[1]!r}")
            write_frame(frame, out, fmt, header=n == 0)
            if path is None:
                out.flush()  # a reader of the pipe sees each chunk as it is scored
            n += len(labels)
            for name in counts:
                counts[name] += int((labels == name).sum())
    shown = ", ".join(f"{name or 'empty'} {k:,}" for name, k in counts.items()
                      if k or name in model.classes)
    note(f"scored {n:,} rows in {time.perf_counter() - start:.1f} s ({shown})"
         + (f" -> {path}" if path else ""))
    return 0
