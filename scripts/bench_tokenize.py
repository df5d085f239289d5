"""Tokenizing speed by script: the compiled loops on the development sets of
``DATA/dev`` (each training file repeated 10 times), best of 5 runs, in MB of UTF-8 input
a second: normalizing (entities, NFKC, lower case), the token walk alone (scripts,
emoticons, negation, hashes), and the whole of ``hash_corpus`` (both, then 1-3-grams) on
one thread. Usage::

    SENTIMENT_DATA=../shared/data python scripts/bench_tokenize.py
"""
from __future__ import annotations

import glob
import os
import time

import numpy as np
import pandas as pd

from sentiment.features.folding import normalized_bytes
from sentiment.features.rules import CURRENT
from sentiment.features.tokens import _negation_words, hash_corpus
from sentiment.native import loops as fast

SETS = {"zh_nlpcc14": "Chinese", "ja_jrte_pn": "Japanese", "th_wisesight": "Thai",
        "en_sentistrength_twitter": "English tweets"}


def best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    loops = fast.compiled()
    if loops is None:
        raise SystemExit("the compiled loops are not built (or SENTIMENT_PURE=1)")
    home = os.environ.get("SENTIMENT_DATA", "../shared/data")
    words = _negation_words(CURRENT)
    print("| set | script | MB | normalize MB/s | token walk MB/s | hash_corpus 1-3 grams MB/s |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name, script in SETS.items():
        path = glob.glob(f"{home}/dev/{name}/train.csv*")[0]
        texts = pd.read_csv(path)["text"].astype(str).tolist() * 10
        size = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
        data = normalized_bytes(texts)
        cap = len(data)
        out = [np.empty(cap, np.int32), np.empty(cap, np.int32), np.empty(cap, np.uint64),
               np.empty(cap, np.int32), np.empty(cap, np.uint8)]
        norm = best(lambda: normalized_bytes(texts))
        walk = best(lambda: loops.tokens(data, 2, True, True, *words, *out))
        whole = best(lambda: hash_corpus(texts, 3, negation=2, workers=1))
        print(f"| {name} | {script} | {size:.1f} | {size / norm:.0f} | {size / walk:.0f} | "
              f"{size / whole:.0f} |")


if __name__ == "__main__":
    main()
