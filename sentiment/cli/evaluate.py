"""``evaluate``: accuracy, precision, recall, F1 and the confusion matrix of a labelled file."""
from __future__ import annotations

import json

from .common import load_model, model_arg, open_reviews, reader_args, stream


def add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="accuracy, precision, recall, F1 on a labelled file")
    p.add_argument("file", help="labelled review file")
    model_arg(p)
    reader_args(p)
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(handler=cmd_evaluate)


def cmd_evaluate(args) -> int:
    from ..metrics import evaluate_chunks

    model = load_model(args.model)
    source = open_reviews(args.file, args)
    m = evaluate_chunks(model, stream(source, desc="scoring"))
    if args.json:
        print(json.dumps({"file": source.name, **m}))
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
