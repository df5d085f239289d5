"""Shared fixtures: tiny corpora written by the tests, and the IMDB data when available."""
import os
from pathlib import Path

import pytest

POSITIVE = ["a wonderful film, great acting and a great story",
            "i loved it! the best movie this year",
            "brilliant and moving, wonderful music",
            "great fun, loved every minute"]
NEGATIVE = ["a terrible film, awful acting and a boring story",
            "i hated it. the worst movie this year",
            "dull and stupid, awful music",
            "boring, a waste of time"]


@pytest.fixture
def tiny_csv(tmp_path) -> Path:
    """A small balanced CSV with columns review, sentiment."""
    import csv

    path = tmp_path / "tiny.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["review", "sentiment"])
        for _ in range(5):
            for p, n in zip(POSITIVE, NEGATIVE):
                w.writerow([p, "positive"])
                w.writerow([n, "negative"])
    return path


@pytest.fixture(scope="session")
def imdb_dir() -> Path:
    """The IMDB folder under SENTIMENT_DATA; skips the test when it is not there."""
    home = os.environ.get("SENTIMENT_DATA")
    if not home or not (Path(home) / "imdb" / "train.csv.gz").exists():
        pytest.skip("SENTIMENT_DATA with imdb/train.csv.gz and test.csv.gz is not set")
    return Path(home) / "imdb"
