"""The staged comparison, runnable alone: the same code as ``python -m sentiment compare``.

    python scripts/compare_stages.py [TRAIN] [--test TEST] [--stages ...] [--limit N]
                                     [--out DIR] [--json] [--profile] [--seed N]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from sentiment.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["compare", *sys.argv[1:]]))
