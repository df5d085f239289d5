"""Shared fixtures: tiny corpora written by the tests, and the IMDB data when available."""
import os
from pathlib import Path

import pytest
from corpus import NEGATIVE, POSITIVE


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


@pytest.fixture(autouse=True, scope="session")
def _own_home(tmp_path_factory):
    """Models and data a test writes without a path go to a folder of the test run, never
    to the user's cache folder."""
    old = os.environ.get("SENTIMENT_HOME")
    os.environ["SENTIMENT_HOME"] = str(tmp_path_factory.mktemp("home"))
    yield
    if old is None:
        os.environ.pop("SENTIMENT_HOME", None)
    else:
        os.environ["SENTIMENT_HOME"] = old


@pytest.fixture(params=["compiled", "pure"])
def loops(request, monkeypatch) -> str:
    """Run the test with the compiled loops (sentiment.native._fast), then with numpy/scipy
    alone."""
    from sentiment.native import loops as fast

    if request.param == "compiled" and fast._compiled is None:
        pytest.skip("the compiled loops (sentiment.native._fast) were not built")
    monkeypatch.setenv("SENTIMENT_PURE", "1" if request.param == "pure" else "0")
    return request.param
