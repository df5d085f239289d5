"""``evaluate``: accuracy, precision, recall, F1 and the confusion matrix of a labelled file."""
from __future__ import annotations

import json

from .common import (
    cluster_args,
    load_model,
    model_arg,
    open_engine,
    open_reviews,
    reader_args,
    stream,
)


def add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="accuracy, precision, recall, F1 on a labelled file")
    p.add_argument("file", help="labelled review file")
    model_arg(p)
    reader_args(p)
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    cluster_args(p)
    p.set_defaults(handler=cmd_evaluate)


def cmd_evaluate(args) -> int:
    from ..model.metrics import evaluate_chunks

    model = load_model(args.model)
    source = open_reviews(args.file, args, scheme=model.scheme, fixed=True)
    with open_engine(args) as cluster:
        m = evaluate_chunks(model, stream(source, desc="scoring"),
                            mapper=cluster.mapper(model) if cluster else None)
    if args.json:
        print(json.dumps({"file": source.name, **m}))
        return 0
    if model.scheme.kind == "multiclass":
        print(format_classes(m))
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


def format_classes(m: dict) -> str:
    """The K-class report: accuracy, macro F1, a line per class, the confusion matrix."""
    lines = [f"accuracy   {m['accuracy']:.2%} on {m['n']:,} reviews "
             f"(majority class: {m['majority_baseline']:.2%})"]
    if "within_one" in m:
        lines.append(f"within one {m['within_one']:.2%} (predicted class within 1 of the "
                     "true one)")
    lines.append(f"macro F1   {m['macro_f1']:.2%}")
    width = max(8, *(len(c) for c in m["labels"])) + 2
    lines.append(f"{'class':<{width}}{'precision':>10}{'recall':>8}{'F1':>8}{'support':>9}")
    for c, s in m["per_class"].items():
        lines.append(f"{c:<{width}}{s['precision']:>10.2%}{s['recall']:>8.2%}"
                     f"{s['f1']:>8.2%}{s['support']:>9,}")
    lines.append("confusion (rows: actual class, columns: predicted)")
    cell = max(7, *(len(f"{v:,}") + 1 for row in m["confusion"] for v in row))
    lines.append(" " * width + "".join(f"{c:>{cell}}" for c in m["labels"]))
    for c, row in zip(m["labels"], m["confusion"]):
        lines.append(f"{c:<{width}}" + "".join(f"{v:>{cell},}" for v in row))
    return "\n".join(lines)
