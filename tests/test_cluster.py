"""The Dask route: a real cluster on 127.0.0.1 (LocalCluster with 2 worker processes, and
the ``dask scheduler`` / ``dask worker`` command line), never a mock."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from corpus import write_csv

distributed = pytest.importorskip("distributed")

from sentiment.cluster.engine import Engine  # noqa: E402
from sentiment.cluster.mixing import mix, train_cluster  # noqa: E402
from sentiment.errors import SentimentError  # noqa: E402
from sentiment.io.labels import LabelScheme  # noqa: E402
from sentiment.model.model import Model  # noqa: E402
from sentiment.training.job import train_chunks  # noqa: E402
from sentiment.training.pipeline import chunks_of  # noqa: E402
from sentiment.training.settings import Settings  # noqa: E402

GOOD = "great wonderful loved brilliant moving best fun superb".split()
BAD = "awful terrible hated boring dull worst waste stupid".split()
FILLER = ("the a movie film story acting plot it was and of this i to scenes actor "
          "director music end").split()


def reviews(n: int, seed: int = 0):
    """``n`` short reviews: filler words and a few words of their polarity (and a stray
    word of the other), labels 0/1."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        y = int(rng.integers(2))
        mine, other = (GOOD, BAD) if y else (BAD, GOOD)
        words = list(rng.choice(FILLER, 8)) + list(rng.choice(mine, 2))
        if rng.random() < 0.3:
            words.append(str(rng.choice(other)))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(y)
    return texts, np.array(labels, np.int8)


@pytest.fixture(scope="module")
def engine():
    with Engine(workers=2) as e:
        yield e


def run(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "sentiment", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout)


def test_local_cluster_trains_on_both_workers_like_one_process(engine):
    texts, labels = reviews(3000)
    settings = Settings(epochs=3)
    with distributed.get_task_stream(engine.client) as tasks:
        model = train_cluster(engine, chunks_of(texts, labels, 500), settings,
                              scheme=LabelScheme())
    ran = {t["worker"] for t in tasks.data if "round" in t["key"]}
    assert len(ran) == 2  # both workers trained
    assert all(n > 0 for n in model.info["workers"].values())
    assert len(model.info["workers"]) == 2
    alone = train_chunks(chunks_of(texts, labels, 500), settings)
    # the same vocabulary, counted on the workers and merged up a tree
    assert model.vocab.words == alone.vocab.words
    assert np.array_equal(model.vocab.counts(), alone.vocab.counts())
    test_texts, test_labels = reviews(1000, seed=1)
    ours = np.mean(model.predict_proba(test_texts).argmax(axis=1) == test_labels)
    theirs = np.mean(alone.predict_proba(test_texts).argmax(axis=1) == test_labels)
    assert ours > 0.9 and abs(ours - theirs) < 0.03
    assert len(model.history) >= 1 and model.history[0]["val_accuracy"] is not None


def test_one_process_and_a_one_worker_cluster_run_the_same_epochs(tmp_path):
    """One epoch driver for both routes: the same epochs, records of the same fields,
    checkpoints after the same epochs, and models that score alike."""
    texts, labels = reviews(2000, seed=3)
    settings = Settings(epochs=3, patience=0, seed=5, refit=False)  # the refit: one process
    saved = {"alone": [], "cluster": []}
    alone = train_chunks(chunks_of(texts, labels, 500), settings,
                         on_checkpoint=lambda m, parts: saved["alone"].append(parts[1]["epoch"]))
    ckpt = tmp_path / "m.npz.ckpt"

    def keep(m, parts):
        saved["cluster"].append(parts[1]["epoch"])
        m.save(ckpt, checkpoint=parts)

    with Engine(workers=1) as one:
        model = train_cluster(one, chunks_of(texts, labels, 500), settings, scheme=LabelScheme(),
                              on_checkpoint=keep)
    assert [h["epoch"] for h in model.history] == [h["epoch"] for h in alone.history] \
        == [1, 2, 3]
    assert [sorted(h) for h in model.history] == [sorted(h) for h in alone.history]
    assert all(h["val_loss"] is not None for h in model.history + alone.history)
    assert saved["cluster"] == saved["alone"] == [1, 2]  # after every epoch but the last
    # a cluster's checkpoint goes on in one process (train --resume)
    resumed = train_chunks(chunks_of(texts, labels, 500), settings, resume=Model.load(ckpt))
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert model.info["temperature"] > 0 and alone.info["temperature"] > 0
    test_texts, test_labels = reviews(1000, seed=4)
    ours = np.mean(model.predict_proba(test_texts).argmax(axis=1) == test_labels)
    theirs = np.mean(alone.predict_proba(test_texts).argmax(axis=1) == test_labels)
    assert ours > 0.9 and abs(ours - theirs) < 0.03


def test_multiclass_on_a_cluster(engine):
    from sentiment.io.labels import ClassTable, encode_labels

    texts, labels = reviews(2000, seed=2)
    # three classes: the polarity, and a third marked by its own word
    third = np.arange(len(texts)) % 5 == 0
    texts = [t + " meh" if m else t for t, m in zip(texts, third)]
    codes, names = encode_labels(np.where(third, "mixed", np.where(labels == 1, "pos", "neg")))
    model = train_cluster(engine, chunks_of(texts, codes, 700), Settings(epochs=3),
                          scheme=LabelScheme("multiclass", []), classes=ClassTable(names))
    assert model.classes == ["mixed", "neg", "pos"]
    test = ["great wonderful film meh", "awful boring film", "loved it superb"]
    assert model.predict(test) == ["mixed", "neg", "pos"]


def test_no_validation_rows_and_a_small_last_chunk(engine):
    texts, labels = reviews(1030, seed=7)  # the last chunk: 30 rows
    model = train_cluster(engine, chunks_of(texts, labels, 500),
                          Settings(epochs=2, val_fraction=0.0), scheme=LabelScheme())
    assert model.info["n_val"] == 0 and model.info["n_train"] == 1030
    model = train_cluster(engine, chunks_of(texts, labels, 500), Settings(epochs=2),
                          scheme=LabelScheme())
    assert model.info["n_train"] + model.info["n_val"] == 1030


def test_a_stop_request_does_not_wait_for_the_round(engine):
    from sentiment.cluster.engine import gather_or_stop

    futures = [engine.client.submit(time.sleep, 2, pure=False)]
    start = time.perf_counter()
    assert gather_or_stop(futures, lambda: True) is None
    assert time.perf_counter() - start < 1.5
    assert gather_or_stop([engine.client.submit(sum, [1, 2], pure=False)], None) == [3]


def test_the_first_round_adds_up_the_workers_adagrad_accumulators():
    from sentiment.cluster.mixing import mix_optimizer

    eps = np.float32(1e-6)
    a = {"n": 1, "optimizer": {"acc": np.array([eps + 1, eps], np.float32)}}
    b = {"n": 1, "optimizer": {"acc": np.array([eps + 2, eps + 3], np.float32)}}
    np.testing.assert_allclose(mix_optimizer({}, [a, b])["acc"], [eps + 3, eps + 3])


def test_mixing_rows_keeps_an_update_only_one_worker_made():
    old = {"W1": np.zeros((3, 2), np.float32), "b1": np.zeros(2, np.float32),
           "w2": np.zeros(2, np.float32), "b2": np.zeros(1, np.float32)}
    a = {k: v.copy() for k, v in old.items()}
    b = {k: v.copy() for k, v in old.items()}
    a["W1"][0] = 1.0  # only worker a saw feature 0
    a["W1"][1], b["W1"][1] = 1.0, 3.0  # both saw feature 1
    a["b1"][:], b["b1"][:] = 1.0, 2.0
    results = [{"params": a, "n": 10}, {"params": b, "n": 30}]
    rows = mix(old, results, "rows")
    assert rows["W1"][0].tolist() == [1, 1] and rows["W1"][1].tolist() == [2, 2]
    assert rows["W1"][2].tolist() == [0, 0]
    assert rows["b1"].tolist() == [1.75, 1.75]  # weighted by rows trained
    average = mix(old, results, "average")
    assert average["W1"][0].tolist() == [0.25, 0.25]


def test_predict_file_and_evaluate_through_workers_keep_every_row_in_order(tmp_path):
    texts, labels = reviews(1200, seed=3)
    data = write_csv(tmp_path / "train.csv", texts, labels)
    model = tmp_path / "m.npz"
    r = run("train", data, "--model", model, "--epochs", "2", "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert "local Dask cluster, 2 workers" in r.stderr
    test_texts, test_labels = reviews(5000, seed=4)
    test = write_csv(tmp_path / "test.csv", test_texts, test_labels)
    r = run("predict", "--model", model, "--file", test, "--output", tmp_path / "a.csv",
            "--workers", "2")
    assert r.returncode == 0, r.stderr
    r = run("predict", "--model", model, "--file", test, "--output", tmp_path / "b.csv")
    assert r.returncode == 0, r.stderr
    a = (tmp_path / "a.csv").read_text()
    assert a == (tmp_path / "b.csv").read_text()
    assert len(a.splitlines()) == 5001
    r = run("evaluate", test, "--model", model, "--workers", "2", "--json")
    assert r.returncode == 0, r.stderr
    import json
    assert json.loads(r.stdout)["n"] == 5000


def test_dask_command_line_scheduler_and_workers(tmp_path):
    """``dask scheduler`` and ``dask worker`` on 127.0.0.1, then train through them."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    logs = tmp_path / "scheduler.log"
    procs = [subprocess.Popen(dask + ["--host", "127.0.0.1", "--port", str(port),
                                      "--dashboard-address", "127.0.0.1:0"],
                              stdout=subprocess.DEVNULL, stderr=open(logs, "w"),
                              cwd=tmp_path)]
    try:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "2",
             "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "worker.log", "w"),
            cwd=tmp_path))
        client = None
        for _ in range(100):  # until both workers have joined
            try:
                client = client or distributed.Client(address, timeout=5)
                if len(client.scheduler_info()["workers"]) == 2:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert client is not None and len(client.scheduler_info()["workers"]) == 2
        client.close()
        texts, labels = reviews(1000, seed=5)
        data = write_csv(tmp_path / "train.csv", texts, labels)
        r = run("train", data, "--model", tmp_path / "m.npz", "--epochs", "2",
                "--cluster", address, "--test", data)
        assert r.returncode == 0, r.stderr
        assert f"the Dask scheduler {address}, 2 workers" in r.stderr
        assert "test accuracy" in r.stdout
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGINT)
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_unreachable_scheduler_and_bad_flags_are_one_line_errors(tmp_path, tiny_csv):
    for args, says in [(("--cluster", "tcp://127.0.0.1:1"), "cannot reach a Dask scheduler"),
                       (("--workers", "0"), "--workers 0: must be at least 1"),
                       (("--workers", "2", "--cluster", "tcp://127.0.0.1:1"),
                        "give one of them"),
                       (("--rounds", "0"), "--rounds 0: must be at least 1")]:
        r = run("train", tiny_csv, "--model", tmp_path / "m.npz", *args)
        assert r.returncode == 2, (args, r.stderr)
        assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not (tmp_path / "m.npz").exists()


def test_without_dask_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(SentimentError, match=r'pip install -e "\.\[dask\]"'):
        Engine(workers=1)


def test_a_worker_that_dies_fails_the_run_with_a_message_and_no_model(tmp_path):
    texts, labels = reviews(2000, seed=6)
    with Engine(workers=2) as e:
        def kill_one(model):
            victim = e.workers[0]
            try:
                e.client.run(lambda: os.kill(os.getpid(), signal.SIGKILL), workers=[victim])
            except OSError:  # the connection to it closed as it died
                pass

        with pytest.raises(SentimentError, match="worker died"):
            train_cluster(e, chunks_of(texts, labels, 500), Settings(epochs=2),
                          scheme=LabelScheme(), on_prepared=kill_one)
