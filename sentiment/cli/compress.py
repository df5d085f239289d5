"""``compress``: a compact copy of a model file (folded, pruned, float16; see
:mod:`sentiment.model.compact`)."""
from __future__ import annotations

from pathlib import Path

from ..errors import SentimentError
from .common import load_model, model_arg, note


def add_compress(sub) -> None:
    from ..model.compact import DEFAULT_FEATURES

    p = sub.add_parser("compress", help="write a compact copy of a model (a few MB)",
                       description="Fold the network into one weight per feature, keep the "
                       "strongest features, store them as float16 and drop what only "
                       "training needs. The copy predicts and explains as the model does.")
    model_arg(p)
    p.add_argument("--output", metavar="PATH", help="the compact model (default: MODEL with "
                   "'-compact' added to its name)")
    p.add_argument("--max-features", type=int, default=DEFAULT_FEATURES, metavar="N",
                   help=f"keep the N features of largest weight; 0 keeps all "
                   f"(default: {DEFAULT_FEATURES:,})")
    p.set_defaults(handler=cmd_compress)


def cmd_compress(args) -> int:
    from ..io.files import check_distinct, check_writable
    from ..io.paths import find_model
    from ..model.compact import compact

    source = find_model(args.model)[0]
    out = Path(args.output) if args.output else source.with_name(
        f"{source.stem}-compact{source.suffix or '.npz'}")
    if args.max_features < 0:
        raise SentimentError(f"--max-features must be at least 0; got {args.max_features}")
    check_distinct({"--output": out}, {"the model": source})
    check_writable(out, "--output", "the compact model")
    model = load_model(source)
    small = compact(model, args.max_features or None)
    small.save(out)
    note(compact_summary(model, small, source, out))
    return 0


def compact_summary(model, small, source: Path | None, out: Path) -> str:
    """One line: sizes before and after, features kept."""
    before = f"{source.stat().st_size / 1e6:.1f} MB, " if source is not None else ""
    return (f"saved {out} ({out.stat().st_size / 1e6:.1f} MB): {len(small.vocab):,} of "
            f"{before}{len(model.vocab):,} features, one float16 weight each")
