"""Stopping and resuming training: signals, checkpoints, divergence."""
import csv
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from corpus import NEGATIVE, POSITIVE

from sentiment.errors import SentimentError
from sentiment.model.model import Model
from sentiment.training.job import Settings, TrainingStopped, checkpoint_parts, train

WORDS_POS = "great wonderful loved brilliant superb fun moving best".split()
WORDS_NEG = "awful terrible hated boring dull worst stupid waste".split()
NEUTRAL = "the a film movie plot actor scene story it was and of".split()


def corpus(n, seed=0):
    """n short synthetic reviews, half positive, each with a few polar and neutral words."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        polar = WORDS_POS if label else WORDS_NEG
        words = list(rng.choice(NEUTRAL, 6)) + list(rng.choice(polar, 2))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, np.array(labels)


def stop_after(batches):
    calls = {"n": 0}

    def should_stop():
        calls["n"] += 1
        return calls["n"] > batches
    return should_stop


@pytest.mark.parametrize("optimizer", [{}, {"optimizer": "adam", "lr": 0.01}])
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, loops, monkeypatch,
                                                       optimizer):
    monkeypatch.setattr("sentiment.native.loops.SLICE_ROWS", 50)  # compiled: a poll per batch
    texts, labels = corpus(400)  # adam's checkpoint holds a 0-d array (its step count)
    settings = Settings(epochs=4, batch_size=50, min_count=1, patience=0, **optimizer)
    whole = train(texts, labels, settings, progress=False)
    with pytest.raises(TrainingStopped) as info:  # 360 train rows = 8 batches an epoch
        train(texts, labels, settings, progress=False, should_stop=stop_after(8 + 3))
    stopped = info.value
    assert stopped.reason == "interrupted" and stopped.state.epoch == 1
    path = tmp_path / "m.npz.ckpt"
    stopped.model.save(path, checkpoint=checkpoint_parts(stopped.state))
    resumed = train(texts, labels, settings, progress=False, resume=Model.load(path))
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    for name, value in whole.net.params().items():
        np.testing.assert_array_equal(resumed.net.params()[name], value)


def test_stop_before_any_epoch_completes_has_no_state():
    texts, labels = corpus(200)
    with pytest.raises(TrainingStopped) as info:
        train(texts, labels, Settings(min_count=1), progress=False, should_stop=lambda: True)
    assert info.value.state is None and info.value.model is None


def test_divergence_stops_with_the_last_good_epoch(loops):
    texts, labels = corpus(200)
    # plain SGD with an absurd rate overflows the weights in epoch 2 with this seed (and
    # the naive-Bayes values of smoothing 1: a small file's 4 makes them smaller)
    settings = Settings(optimizer="sgd", lr=1e38, epochs=20, min_count=1, patience=0,
                        val_fraction=0, seed=2, smoothing=1)
    with pytest.raises(TrainingStopped) as info:
        train(texts, labels, settings, progress=False)
    stopped = info.value
    assert stopped.reason == "diverged" and "lower the learning rate" in str(stopped)
    assert stopped.state.epoch == 1
    assert np.isfinite(stopped.model.net.W1).all()


def write_csv(path, texts, labels):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["review", "sentiment"])
        w.writerows(zip(texts, ["positive" if y else "negative" for y in labels]))


def long_run(tmp_path):
    """(model path, command): 40 epochs of small batches on 6,000 reviews, long enough
    to be stopped part-way."""
    texts, labels = corpus(6000)
    data = tmp_path / "reviews.csv"
    write_csv(data, texts, labels)
    model = tmp_path / "m.npz"
    return model, [sys.executable, "-m", "sentiment", "train", str(data), "--model",
                   str(model), "--epochs", "40", "--patience", "0", "--batch-size", "16",
                   "--min-count", "1"]


def test_sigterm_keeps_a_checkpoint_and_resume_finishes(tmp_path):
    model, cmd = long_run(tmp_path)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = [proc.stdout.readline(), proc.stdout.readline(), proc.stdout.readline()]
    assert lines[2].split()[0] == "2", lines  # header, epoch 1, epoch 2 printed
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    ckpt = tmp_path / "m.npz.ckpt"
    assert ckpt.exists() and not model.exists()
    assert not list(tmp_path.glob("*.tmp"))
    done = Model.load(ckpt).checkpoint[1]["epoch"]
    assert done >= 2
    changed = [a if a != "16" else "32" for a in cmd]  # --batch-size 32
    r = subprocess.run(changed + ["--resume"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and ckpt.exists() and not model.exists()
    assert r.stderr.startswith("error: --batch-size 32 differs from the checkpoint's 16")
    r = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"resuming from {ckpt} after epoch {done}" in r.stderr
    epochs = [int(line.split()[0]) for line in r.stdout.splitlines()[1:]
              if line.split() and line.split()[0].isdigit()]
    assert epochs == list(range(done + 1, 41))
    assert model.exists() and not ckpt.exists()
    assert len(Model.load(model).history) == 40


def test_resume_without_checkpoint_is_a_clear_error(tmp_path, tiny_csv):
    r = subprocess.run([sys.executable, "-m", "sentiment", "train", str(tiny_csv),
                        "--model", str(tmp_path / "m.npz"), "--resume"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().endswith("no checkpoint to resume from; train without --resume")


def test_adam_trains_w1_with_adam_steps_not_sgd():
    # Adam must take the gathered-rows path: its first step moves every touched weight
    # by about lr (Adam's step is lr * m / sqrt(v) = lr * sign(g) at t=1), whatever the
    # gradient's size, which plain SGD at the same rate would not
    from sentiment.nn.network import Network
    from sentiment.training.job import fit

    texts, labels = corpus(64)
    model = train(texts, labels, Settings(min_count=1, epochs=1, val_fraction=0),
                  progress=False)
    X = model.encode(texts)
    settings = Settings(optimizer="adam", lr=0.01, batch_size=64, epochs=1,
                        lr_decay=False, val_fraction=0, init_scale=0.1)
    net = Network(X.shape[1], settings.hidden, np.random.default_rng(0), init_scale=0.1)
    before = net.W1.copy()
    fit(net, X, labels, settings, np.random.default_rng(0), progress=False)
    moved = np.abs(net.W1 - before)[np.unique(X.indices)]
    moved = moved[moved > 0]
    assert moved.max() <= 0.01 * (1 + 1e-4)
    assert np.median(moved) == pytest.approx(0.01, rel=1e-3)  # SGD: about lr * |g| << lr


def test_first_signal_asks_to_stop_second_aborts_at_once():
    import os

    from sentiment.cli.train import GracefulStop

    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with GracefulStop() as stop:
            os.kill(os.getpid(), signal.SIGTERM)
            assert stop.requested() and stop.signal == signal.SIGTERM
            os.kill(os.getpid(), signal.SIGINT)  # the second signal raises right here
            raise AssertionError("not reached")
    assert signal.getsignal(signal.SIGINT) is previous  # handlers put back


def test_early_stopping_keeps_the_best_epoch():
    from sentiment.nn.network import Network
    from sentiment.training.job import fit

    # labels that are pure noise: the validation loss can only get worse as training
    # memorizes them, so training must stop early and hand back the best epoch's weights
    texts, _ = corpus(600)
    noise = np.random.default_rng(1).integers(0, 2, len(texts))
    model = train(texts, noise, Settings(min_count=1, epochs=1, val_fraction=0),
                  progress=False)
    X = model.encode(texts)
    settings = Settings(epochs=40, patience=2, lr=0.5, lr_decay=False, batch_size=20)
    net = Network(X.shape[1], settings.hidden, np.random.default_rng(0))
    weights = {}
    history = fit(net, X[:500], noise[:500], settings, np.random.default_rng(0),
                  X_val=X[500:], y_val=noise[500:],
                  on_epoch=lambda s: weights.__setitem__(s.epoch, net.W1.copy()))
    best = min(history, key=lambda s: s.val_loss)
    assert len(history) < settings.epochs  # stopped early
    assert history[-1].epoch == best.epoch + settings.patience
    assert [s.epoch for s in history if s.best][-1] == best.epoch
    np.testing.assert_array_equal(net.W1, weights[best.epoch])
    assert not np.array_equal(net.W1, weights[history[-1].epoch])


def test_sigkill_loses_at_most_the_epoch_under_way(tmp_path):
    model, cmd = long_run(tmp_path)
    every_epoch = {**os.environ, "SENTIMENT_CHECKPOINT_SECONDS": "0"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=every_epoch)
    lines = [proc.stdout.readline() for _ in range(4)]  # header, epochs 1-3
    assert lines[3].split()[0] == "3", lines
    proc.kill()  # SIGKILL: no handler runs
    proc.communicate(timeout=60)
    ckpt = tmp_path / "m.npz.ckpt"
    done = Model.load(ckpt).checkpoint[1]["epoch"]
    assert done >= 2  # epoch 3 was printed, so epoch 2's checkpoint was complete
    r = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"resuming from {ckpt} after epoch {done}" in r.stderr
    assert len(Model.load(model).history) == 40 and not ckpt.exists()


def test_a_checkpoint_stores_the_epoch_weights_once_and_reads_them_back(tmp_path):
    from sentiment.training.job import train_chunks
    from sentiment.training.pipeline import chunks_of

    saved = []
    texts = (POSITIVE + NEGATIVE) * 20
    labels = ([1] * len(POSITIVE) + [0] * len(NEGATIVE)) * 20
    train_chunks(chunks_of(texts, labels), Settings(epochs=2, min_count=1),
                 on_checkpoint=lambda model, parts: saved.append((model, parts)))
    model, parts = saved[-1]
    path = model.save(tmp_path / "m.ckpt", checkpoint=parts)
    stored = set(np.load(path).files)
    assert "ckpt_params_W1" not in stored and "ckpt_best_W1" not in stored
    assert "ckpt_opt_acc" in stored
    loaded = Model.load(path)
    back = loaded.checkpoint[0]
    for k, v in parts[0].items():
        np.testing.assert_array_equal(back[k], v)
    # resumed training changes the model's weights, never the checkpoint's
    assert not np.shares_memory(back["params_W1"], loaded.net.W1)
    assert not np.shares_memory(back["best_W1"], back["params_W1"])


def test_checkpoints_wait_for_their_interval(tmp_path, monkeypatch):
    from sentiment.cli.guards import CheckpointWriter

    texts, labels = corpus(200)
    saved = []
    train(texts, labels, Settings(epochs=3, min_count=1), progress=False,
          on_checkpoint=lambda model, parts: saved.append((model, parts)))
    model, parts = saved[-1]
    for seconds, written in (("3600", False), ("0", True)):
        monkeypatch.setenv("SENTIMENT_CHECKPOINT_SECONDS", seconds)
        path = tmp_path / f"every{seconds}.ckpt"
        with CheckpointWriter(path, "reviews.csv") as writer:
            writer(model, parts)
        assert path.exists() == written
    monkeypatch.setenv("SENTIMENT_CHECKPOINT_SECONDS", "soon")
    with pytest.raises(SentimentError, match="SENTIMENT_CHECKPOINT_SECONDS must be a number"):
        CheckpointWriter(tmp_path / "x.ckpt", "reviews.csv")
