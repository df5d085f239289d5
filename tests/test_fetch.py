"""fetch_imdb and `sentiment fetch imdb` against a tiny fake archive served on 127.0.0.1."""
import csv
import gzip
import hashlib
import http.server
import io
import os
import socket
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from sentiment.errors import SentimentError
from sentiment.io.fetch import fetch_imdb
from sentiment.io.reader import read_reviews

TRICKY = 'He said "wow", then left.<br /><br />Great!'
# (path in the archive, text). IDs 0, 2, 10 sort differently as text and as numbers: the
# output must follow the numbers.
REVIEWS = [
    ("train/pos/10_8.txt", "train pos ten"),
    ("train/pos/0_9.txt", TRICKY),
    ("train/pos/2_7.txt", "train pos two, with a comma"),
    ("train/neg/1_1.txt", "train neg one"),
    ("train/neg/0_3.txt", " train neg zero, spaces kept "),
    ("test/neg/5_2.txt", "test neg five"),
    ("test/pos/3_10.txt", "test pos three"),
    ("test/pos/12_7.txt", "test pos twelve"),
]
IGNORED = [
    ("train/unsup/0_0.txt", "unlabelled, must not appear"),
    ("train/urls_pos.txt", "http://www.imdb.com/title/tt0000000/usercomments"),
    ("imdb.vocab", "the\nand\n"),
]
TRAIN_ROWS = [
    ["review", "sentiment", "rating"],
    [TRICKY, "positive", "9"],
    ["train pos two, with a comma", "positive", "7"],
    ["train pos ten", "positive", "8"],
    [" train neg zero, spaces kept ", "negative", "3"],
    ["train neg one", "negative", "1"],
]
TEST_ROWS = [
    ["review", "sentiment", "rating"],
    ["test pos three", "positive", "10"],
    ["test pos twelve", "positive", "7"],
    ["test neg five", "negative", "2"],
]


def make_archive() -> bytes:
    """A tar.gz laid out like aclImdb_v1.tar.gz, with directory entries and extras."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for folder in ("aclImdb", "aclImdb/train", "aclImdb/train/pos"):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, text in REVIEWS + IGNORED:
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"aclImdb/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Server:
    """The archive over HTTP on 127.0.0.1, counting requests."""

    def __init__(self, archive: bytes):
        self.archive = archive
        self.requests = 0
        self.sha256 = hashlib.sha256(archive).hexdigest()
        self.md5 = hashlib.md5(archive).hexdigest()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests += 1
                if self.path != "/aclImdb_v1.tar.gz":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(owner.archive)))
                self.end_headers()
                self.wfile.write(owner.archive)

            def log_message(self, *args):  # keep the test output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/aclImdb_v1.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server():
    s = Server(make_archive())
    yield s
    s.close()


@pytest.fixture(autouse=True)
def local_only(monkeypatch, server):
    """No proxy for 127.0.0.1, no stray overrides from the caller's environment."""
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.delenv("SENTIMENT_IMDB_URL", raising=False)
    monkeypatch.delenv("SENTIMENT_IMDB_CHECKSUM", raising=False)
    server.requests = 0


def read_rows(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_fetch_writes_both_splits(server, tmp_path, capsys):
    train, test = fetch_imdb(tmp_path, url=server.url, sha256=server.sha256, progress=False)
    assert (train, test) == (tmp_path / "imdb" / "train.csv.gz",
                             tmp_path / "imdb" / "test.csv.gz")
    assert read_rows(train) == TRAIN_ROWS
    assert read_rows(test) == TEST_ROWS
    with gzip.open(train, "rb") as f:
        raw = f.read()
    assert raw.startswith(b"review,sentiment,rating\r\n"
                          b'"He said ""wow"", then left.<br /><br />Great!",positive,9\r\n')
    assert files_in(tmp_path / "imdb") == ["test.csv.gz", "train.csv.gz"]  # no .part
    assert server.requests == 1
    assert capsys.readouterr().err == ""  # progress=False: no bars

    reviews = read_reviews(train)
    assert reviews.texts == [row[0] for row in TRAIN_ROWS[1:]]
    assert reviews.labels.tolist() == [1, 1, 1, 0, 0]


def test_existing_files_are_reused_without_a_request(server, tmp_path):
    fetch_imdb(tmp_path, url=server.url, sha256=server.sha256, progress=False)
    fetch_imdb(tmp_path, url=server.url, sha256=server.sha256, progress=False)
    assert server.requests == 1
    fetch_imdb(tmp_path, url=server.url, sha256=server.sha256, force=True, progress=False)
    assert server.requests == 2


def test_md5_checksum_and_environment_overrides(server, tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_IMDB_URL", server.url)
    monkeypatch.setenv("SENTIMENT_IMDB_CHECKSUM", f"md5:{server.md5}")
    train, test = fetch_imdb(tmp_path, progress=False)
    assert read_rows(test) == TEST_ROWS
    assert server.requests == 1


def test_wrong_checksum_leaves_nothing(server, tmp_path):
    with pytest.raises(SentimentError, match="checksum mismatch") as info:
        fetch_imdb(tmp_path, url=server.url, sha256="0" * 64, progress=False)
    assert "\n" not in str(info.value)
    assert files_in(tmp_path / "imdb") == []


def test_wrong_checksum_keeps_previous_files(server, tmp_path):
    train, _ = fetch_imdb(tmp_path, url=server.url, sha256=server.sha256, progress=False)
    before = train.read_bytes()
    with pytest.raises(SentimentError):
        fetch_imdb(tmp_path, url=server.url, sha256="md5:" + "0" * 32, force=True,
                   progress=False)
    assert train.read_bytes() == before
    assert files_in(tmp_path / "imdb") == ["test.csv.gz", "train.csv.gz"]


def test_malformed_checksum_fails_before_downloading(server, tmp_path):
    with pytest.raises(SentimentError, match="SENTIMENT_IMDB_CHECKSUM"):
        fetch_imdb(tmp_path, url=server.url, sha256="sha256:abc", progress=False)
    assert server.requests == 0


def test_network_errors_name_the_url_and_the_way_around(server, tmp_path):
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for url in (f"http://127.0.0.1:{port}/aclImdb_v1.tar.gz",
                server.url.replace("aclImdb_v1", "missing")):
        with pytest.raises(SentimentError) as info:
            fetch_imdb(tmp_path, url=url, sha256=server.sha256, progress=False)
        message = str(info.value)
        assert url in message and "SENTIMENT_DATA" in message and "\n" not in message
    assert "HTTP 404" in message
    assert files_in(tmp_path / "imdb") == []


def test_not_an_archive_leaves_nothing(server, tmp_path):
    server.archive, archive = b"<html>not a tarball</html>", server.archive
    try:
        with pytest.raises(SentimentError, match="not a readable"):
            fetch_imdb(tmp_path, url=server.url, sha256=None, progress=False)
    finally:
        server.archive = archive
    assert files_in(tmp_path / "imdb") == []


def run_cli(server, home, checksum):
    env = {**os.environ, "SENTIMENT_DATA": str(home), "SENTIMENT_IMDB_URL": server.url,
           "SENTIMENT_IMDB_CHECKSUM": checksum, "no_proxy": "*", "NO_PROXY": "*"}
    return subprocess.run([sys.executable, "-m", "sentiment", "fetch", "imdb"], env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_fetch(server, tmp_path):
    r = run_cli(server, tmp_path, f"sha256:{server.sha256}")
    assert r.returncode == 0, r.stderr
    train, test = tmp_path / "imdb" / "train.csv.gz", tmp_path / "imdb" / "test.csv.gz"
    assert r.stdout.split() == [str(train), str(test)]
    assert read_rows(train) == TRAIN_ROWS and read_rows(test) == TEST_ROWS


def test_cli_bad_checksum(server, tmp_path):
    r = run_cli(server, tmp_path, "sha256:" + "0" * 64)
    assert r.returncode == 2
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith("error: ") and "checksum mismatch" in r.stderr
    assert "Traceback" not in r.stderr
    assert files_in(tmp_path / "imdb") == []
