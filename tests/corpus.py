"""The tiny corpus the tests build their files from: four positive, four negative reviews."""

POSITIVE = ["a wonderful film, great acting and a great story",
            "i loved it! the best movie this year",
            "brilliant and moving, wonderful music",
            "great fun, loved every minute"]
NEGATIVE = ["a terrible film, awful acting and a boring story",
            "i hated it. the worst movie this year",
            "dull and stupid, awful music",
            "boring, a waste of time"]


def run(*args):
    """``python -m sentiment ARGS`` in a child process (its stdout, stderr and exit code)."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "sentiment", *map(str, args)],
                          capture_output=True, text=True)


def write(path, header, rows):
    """A CSV file at ``path`` with ``header`` and ``rows``; returns the path."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_csv(path, texts, labels):
    """A review file at ``path``: a ``review`` and a ``sentiment`` column, labels 0/1 as
    negative/positive; returns the path."""
    return write(path, ["review", "sentiment"],
                 [(t, "positive" if y else "negative") for t, y in zip(texts, labels)])
