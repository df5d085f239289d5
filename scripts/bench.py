"""The benchmark, runnable alone: the same code as ``python -m sentiment bench``.

    python scripts/bench.py [--train FILE --test FILE] [--repeat N] [--only NAME ...]
                            [--json] [--out docs/benchmarks.md] [--profile]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from sentiment.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
