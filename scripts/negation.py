"""Score a model on the negation set (docs/negation.tsv: 48 short phrases, both polarities,
written for this test: "not bad", "I didn't hate it", "not as good as the book", ...).

    python scripts/negation.py [--model PATH]     # default: the built-in model

Prints the accuracy and the phrases it gets wrong. Issue 18 asks for 85%; measured so
far (the built-in model): 45.8%. Two tries, on IMDB (in the closing note of that round):
marking the tokens after a negation until the next punctuation gave 56.2% (IMDB 92.42%,
+0.09); counting a negated word with a minus sign gave 85.4% but cost unigram models 2.1
points on IMDB.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import sentiment

SET = Path(__file__).resolve().parent.parent / "docs" / "negation.tsv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="model file (default: the built-in model)")
    args = ap.parse_args()
    phrases = pd.read_csv(SET, sep="\t")
    predicted = sentiment.load(args.model).predict(phrases["text"].tolist())
    wrong = phrases[[p != y for p, y in zip(predicted, phrases["label"])]]
    print(f"{1 - len(wrong) / len(phrases):.1%} of {len(phrases)} phrases right")
    for text, label in zip(wrong["text"], wrong["label"]):
        print(f"  wrong: {text!r} is {label}")


if __name__ == "__main__":
    main()
