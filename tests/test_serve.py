"""sentiment serve: a real server process on 127.0.0.1, a real HTTP client (http.client).

Every request a test sends is bounded in count and time, and goes to 127.0.0.1 only. The
module's server runs two workers on a small model trained here; the last test stops it
with SIGTERM under load, and checks that it answered every request it read.
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from corpus import NEGATIVE, POSITIVE

pytest.importorskip("uvicorn")

from sentiment.cli import main  # noqa: E402
from sentiment.model.explain import explain  # noqa: E402
from sentiment.model.model import Model  # noqa: E402
from sentiment.training.job import Settings, train  # noqa: E402

TEXTS = (POSITIVE + NEGATIVE) * 5
LABELS = ([1] * len(POSITIVE) + [0] * len(NEGATIVE)) * 5
QUICK = Settings(min_count=1, epochs=10, lr=0.05, val_fraction=0.0)
PROBE = ["a wonderful film, but boring and awful music", "loved it! great fun", "",
         "no known zzzz words", "terrible terrible terrible, the worst"]
#: port -> responses the tests received from the server there (compared with its count)
RECEIVED: dict = {}
LAST: dict = {}  # port -> when the last response from there arrived
LOCK = threading.Lock()
DROPPED = (ConnectionError, http.client.RemoteDisconnected, http.client.CannotSendRequest)


class Server:
    """``sentiment serve`` started on a free port, its stderr read by a thread."""

    def __init__(self, model, *flags, workers=2):
        cmd = [sys.executable, "-m", "sentiment", "serve", "--model", str(model),
               "--port", "0", "--workers", str(workers), *flags]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True,
                                     stdin=subprocess.DEVNULL)
        self.lines: list[str] = []
        self.port = None
        started = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.lines.append(line.rstrip("\n"))
                found = re.search(r" on http://127\.0\.0\.1:(\d+) ", line)
                if found:
                    self.port = int(found.group(1))
                    started.set()
            started.set()

        threading.Thread(target=read, daemon=True).start()
        started.wait(60)
        assert self.port, "the server did not start:\n" + "\n".join(self.lines)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        time.sleep(0.1)  # the reader's last lines
        return code


def call(port, method, path, body=None, headers=None, conn=None):
    """(status, content type, parsed JSON or text) of one request."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
    finally:
        if own:
            conn.close()
    with LOCK:
        RECEIVED[port] = RECEIVED.get(port, 0) + 1
        LAST[port] = time.monotonic()
    ctype = response.getheader("content-type", "")
    parsed = json.loads(data) if ctype.startswith("application/json") else data.decode()
    return response.status, ctype, parsed


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    first = train(TEXTS, LABELS, QUICK, progress=False)
    second = train(TEXTS, [1 - y for y in LABELS], QUICK, progress=False)  # swapped
    paths = {"first": first.save(folder / "first.npz"),
             "second": second.save(folder / "second.npz")}
    paths["live"] = folder / "live.npz"
    shutil.copy(paths["first"], paths["live"])
    return paths


@pytest.fixture(scope="module")
def server(models):
    s = Server(models["live"], "--max-body", "64K", "--max-texts", "3000")
    yield s
    if s.proc.poll() is None:
        s.stop()


def hammer(port, body, threads: int, each: int, stop=None):
    """``threads`` clients, each on its own connection, sending up to ``each`` requests
    (or until ``stop`` is set, or the server closes); the statuses they got, and how many
    requests failed before an answer came."""
    statuses, failed = [], [0]

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(each):
            if stop is not None and stop.is_set():
                break
            try:
                statuses.append(call(port, "POST", "/predict", body, conn=conn)[0])
            except DROPPED:
                failed[0] += 1
                if stop is not None:  # the server is going away: no more from here
                    break
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for w in workers:
        w.start()
    return workers, statuses, failed


def test_predict_answers_in_order_as_predict_does(server, models):
    model = Model.load(models["first"])
    status, ctype, got = call(server.port, "POST", "/predict", {"texts": PROBE})
    assert status == 200 and ctype == "application/json"
    probs, _, best = model.predict_details(PROBE)
    want = [{"label": model.classes[b], "score": round(float(p if b else 1 - p), 6)}
            for p, b in zip(probs.tolist(), best.tolist())]
    assert got == {"predictions": want}
    status, _, one = call(server.port, "POST", "/predict", {"text": PROBE[0], "all": True})
    assert status == 200 and one["label"] == want[0]["label"]
    assert one["probabilities"][one["label"]] == one["score"] == want[0]["score"]
    assert abs(sum(one["probabilities"].values()) - 1) < 1e-5


def test_explain_is_the_explain_command(server, models):
    model = Model.load(models["first"])
    status, _, got = call(server.port, "POST", "/explain", {"text": PROBE[0], "top": 3})
    assert status == 200
    assert got == json.loads(json.dumps(explain(model, PROBE[0]).to_dict(3)))


def test_health_ready_model_docs_and_metrics(server):
    port = server.port
    assert call(port, "GET", "/health")[2] == {"status": "alive"}
    status, _, ready = call(port, "GET", "/ready")
    assert status == 200 and ready["status"] == "ready" and len(ready["model"]) == 12
    _, _, model = call(port, "GET", "/model")
    assert model["name"] == "live.npz" and model["classes"] == ["negative", "positive"]
    assert model["version"] == ready["model"] and model["training"]["epochs"] == 10
    _, _, schema = call(port, "GET", "/openapi.json")
    assert schema["openapi"].startswith("3.") and "/predict" in schema["paths"]
    status, ctype, page = call(port, "GET", "/docs")
    assert status == 200 and ctype.startswith("text/html") and "POST /predict" in page
    call(port, "POST", "/predict", {"texts": ["great"]})
    status, ctype, text = call(port, "GET", "/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    assert re.search(r'sentiment_requests_total\{path="/predict",code="200"\} [1-9]', text)
    assert 'sentiment_request_duration_seconds_bucket{path="/predict",le="+Inf"}' in text
    assert "sentiment_batch_texts_count" in text and "sentiment_workers 2" in text
    assert f'version="{ready["model"]}"' in text


BAD = [  # (method, path, body, headers, status, words of the error)
    ("POST", "/predict", b"{nope", None, 400, "not valid JSON"),
    ("POST", "/predict", b"", None, 400, "the body is empty"),
    ("POST", "/predict", b'{"text": "caf\xe9"}', None, 400, "not UTF-8: byte 13"),
    ("POST", "/predict", b"[1, 2]", None, 422, "expected a JSON object"),
    ("POST", "/predict", {"texts": []}, None, 422, "'texts' is empty"),
    ("POST", "/predict", {"texts": "one"}, None, 422, "must be a list of strings"),
    ("POST", "/predict", {"texts": ["a", 3]}, None, 422, "item 1 is a number"),
    ("POST", "/predict", {"texts": None}, None, 422, "got null"),
    ("POST", "/predict", {"text": ["a"]}, None, 422, "'text' must be a string"),
    ("POST", "/predict", {}, None, 422, "the request has neither"),
    ("POST", "/predict", {"text": "a", "texts": ["b"]}, None, 422, "has both"),
    ("POST", "/predict", {"txt": "a"}, None, 422, "unknown field 'txt'"),
    ("POST", "/predict", {"text": "a", "all": "yes"}, None, 422, "'all' must be true"),
    ("POST", "/predict", {"texts": ["a"] * 3001}, None, 413, "at most 3,000"),
    ("POST", "/predict", {"texts": ["a" * 70_000]}, None, 413, "at most 65,536"),
    ("POST", "/explain", {"texts": ["a"]}, None, 422, "unknown field 'texts'"),
    ("POST", "/explain", {"text": "a", "top": 0}, None, 422, "'top' must be"),
    ("POST", "/explain", {"top": 2}, None, 422, "missing field 'text'"),
    ("POST", "/reload", {"path": "/etc/passwd"}, None, 422, "takes an empty object"),
    ("GET", "/predict", None, None, 405, "answers POST"),
    ("POST", "/health", b"{}", None, 405, "answers GET"),
    ("GET", "/nowhere", None, None, 404, "no such path '/nowhere'"),
]


@pytest.mark.parametrize("method,path,body,headers,status,words", BAD,
                         ids=[f"{b[1]}-{b[4]}-{b[5][:20]}" for b in BAD])
def test_a_bad_request_gets_a_4xx_json_error(server, method, path, body, headers, status,
                                             words):
    got, ctype, answer = call(server.port, method, path, body, headers)
    assert (got, ctype) == (status, "application/json")
    assert words in answer["error"]


def test_no_bad_request_made_a_500(server):
    _, _, text = call(server.port, "GET", "/metrics")
    assert 'code="500"' not in text
    assert call(server.port, "GET", "/health")[0] == 200


def test_concurrent_requests_are_batched_and_answered(server, models):
    model = Model.load(models["first"])
    want = model.predict(["loved it! great fun"])[0]
    threads, statuses, failed = hammer(server.port, {"text": "loved it! great fun"}, 24, 25)
    for t in threads:
        t.join(60)
    assert statuses == [200] * 600 and failed == [0]
    assert call(server.port, "POST", "/predict", {"text": "loved it! great fun"}
                )[2]["label"] == want
    _, _, text = call(server.port, "GET", "/metrics")
    calls = float(re.search(r"\nsentiment_batch_texts_count (\S+)", text).group(1))
    requests = float(re.search(r"\nsentiment_batch_requests_total (\S+)", text).group(1))
    assert requests > calls  # some scoring calls served several requests


def _version(port) -> str:
    return call(port, "GET", "/ready")[2]["model"]


def _wait_for(port, version, seconds=20) -> bool:
    """True once a run of /ready answers (from any worker) all say ``version``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(_version(port) == version for _ in range(8)):
            return True
        time.sleep(0.1)
    return False


def test_sighup_under_load_swaps_the_model_and_fails_no_request(server, models):
    port, live = server.port, models["live"]
    before = _version(port)
    stop = threading.Event()
    threads, statuses, failed = hammer(port, {"texts": PROBE}, 8, 10_000, stop)
    time.sleep(0.3)
    tmp = live.with_name("live.npz.tmp")
    shutil.copy(models["second"], tmp)
    os.replace(tmp, live)
    server.proc.send_signal(signal.SIGHUP)
    changed = _wait_for(port, _file_version(live))
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(60)
    assert changed and _version(port) != before
    assert failed == [0] and statuses and set(statuses) == {200}
    swapped = call(port, "POST", "/predict", {"text": "loved it! great fun"})[2]
    assert swapped["label"] == "negative"  # the second model's labels are swapped


def _file_version(path) -> str:
    from sentiment.serve.state import file_version

    return file_version(path)


def test_a_bad_model_file_is_refused_and_the_old_one_answers(server, models):
    port, live = server.port, models["live"]
    before = _version(port)
    live.write_bytes(b"not a model at all")
    server.proc.send_signal(signal.SIGHUP)
    status, _, answer = call(port, "POST", "/reload", b"{}")
    assert status == 422 and "refused" in answer["error"] and before in answer["error"]
    time.sleep(0.5)
    assert _version(port) == before and call(port, "POST", "/predict", {"text": "x"})[0] == 200
    assert any("refused" in line for line in server.lines)
    shutil.copy(models["first"], live)
    status, _, answer = call(port, "POST", "/reload", b"{}")
    assert status == 200 and answer["reloaded"] and answer["previous"] == before
    assert _wait_for(port, _file_version(models["first"]))


def test_k_classes_are_served_alike(tmp_path):
    ratings = ["1", "5", "10"]
    texts = (POSITIVE + NEGATIVE + ["it was fine", "an average film, ok"]) * 5
    labels = (["10"] * 4 + ["1"] * 4 + ["5"] * 2) * 5
    model = train(texts, labels, QUICK, multiclass=True, progress=False)
    path = model.save(tmp_path / "three.npz")
    s = Server(path, workers=1)
    try:
        status, _, got = call(s.port, "POST", "/predict", {"texts": PROBE[:2], "all": True})
        assert status == 200 and model.classes == ratings
        probs, _, best = model.predict_details(PROBE[:2])
        for answer, p, b in zip(got["predictions"], probs.tolist(), best.tolist()):
            assert answer["label"] == ratings[b] and answer["score"] == round(p[b], 6)
            assert list(answer["probabilities"]) == ratings
        assert call(s.port, "GET", "/model")[2]["classes"] == ratings
        _worker_dies_and_another_answers(s)
    finally:
        assert s.stop() == 0


def _worker_dies_and_another_answers(s):
    """The only worker killed: a request sent meanwhile waits in the listening socket,
    which the supervisor holds, and the worker started in its place answers it."""
    children = f"/proc/{s.proc.pid}/task/{s.proc.pid}/children"
    if not os.path.exists(children):
        return  # not Linux: the rest of the test stands
    (worker,) = map(int, open(children).read().split())
    os.kill(worker, signal.SIGKILL)
    status, _, got = call(s.port, "POST", "/predict", {"text": "loved it"})
    assert status == 200 and got["label"] in ("1", "5", "10")
    assert any("worker 0 exited (code -9); starting another" in line for line in s.lines)


def test_command_line_mistakes_are_one_line(tmp_path, capsys, monkeypatch):
    assert main(["serve", "--model", str(tmp_path / "missing.npz")]) == 2
    assert "missing.npz: no such model file" in capsys.readouterr().err
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port 70000" in capsys.readouterr().err
    assert main(["serve", "--max-body", "lots"]) == 2
    assert "--max-body lots" in capsys.readouterr().err
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "uvicorn" else real(name, *a))
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "sparse-sentiment[serve]"' in err


def test_a_port_in_use_is_said(server, capsys):
    assert main(["serve", "--port", str(server.port)]) == 2
    assert "the port is in use" in capsys.readouterr().err


def test_predict_does_not_import_the_http_stack():
    code = ("import sys; from sentiment.cli import build_parser; build_parser('predict'); "
            "build_parser(); print(sorted({'uvicorn', 'sentiment.serve'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_sigterm_under_load_answers_every_request_it_read(server):
    """Last: stops the module's server. Large requests keep it busy, so some are in flight
    when SIGTERM comes; each is answered, and the server's count of answers is the
    count the clients received."""
    stop = threading.Event()
    threads, statuses, failed = hammer(server.port, {"texts": PROBE * 400}, 8, 10_000, stop)
    time.sleep(0.5)
    sent = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    code = server.proc.wait(30)
    stop.set()
    for t in threads:
        t.join(60)
    time.sleep(0.1)
    assert code == 0
    assert statuses and set(statuses) == {200} and LAST[server.port] > sent
    said = next(line for line in server.lines if line.startswith("stopped:"))
    answered, left = re.search(r"([\d,]+) requests answered, ([\d,]+) left", said).groups()
    assert left == "0" and int(answered.replace(",", "")) == RECEIVED[server.port], said
