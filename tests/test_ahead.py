"""`train --test`: the test file read and hashed by a second process while training."""
import json

import numpy as np
import pytest
from test_pipeline import reviews, write_csv

from sentiment.cli import main


def noisy(n, seed):
    """Reviews with a tenth of the labels flipped, so that accuracy is not 100%."""
    texts, labels = reviews(n, seed)
    flip = np.random.default_rng(seed).random(n) < 0.1
    return texts, np.where(flip, 1 - labels, labels)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("ahead")
    return (write_csv(d / "train.csv", *noisy(800, 0)),
            write_csv(d / "test.csv", *noisy(700, 1)), d)


@pytest.mark.parametrize("flags", [[], ["--full"], ["--values", "count"],
                                   ["--negation", "0", "--ngrams", "1"]])
def test_the_test_accuracy_is_what_evaluate_says_of_the_saved_model(files, flags, capsys,
                                                                     monkeypatch):
    from sentiment.cli.ahead import TestAhead

    scored = []
    score = TestAhead.score
    monkeypatch.setattr(TestAhead, "score", lambda self, m: scored.append(1) or score(self, m))
    train, test, d = files
    model = d / "m.npz"
    assert main(["train", str(train), "--test", str(test), "--model", str(model),
                 "--epochs", "2", "--min-count", "1", "--json", *flags]) == 0
    out = capsys.readouterr().out.splitlines()
    said = json.loads(out[-1])
    assert main(["evaluate", str(test), "--model", str(model), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert said["n_test"] == evaluated["n"] == 700
    assert said["test_accuracy"] == evaluated["accuracy"]
    assert 0.6 < said["test_accuracy"] < 1.0
    assert scored == [1]  # the test file was read ahead, by the child


def test_a_bad_label_late_in_the_test_file_is_said_and_the_model_kept(files, capsys):
    train, _, d = files
    texts, labels = noisy(3000, 2)
    test = write_csv(d / "bad.csv", texts, labels)
    lines = test.read_text().splitlines()
    lines[2800] = lines[2800].rsplit(",", 1)[0] + ",maybe"  # row 2801 of the file
    test.write_text("\n".join(lines) + "\n")
    model = d / "kept.npz"
    assert main(["train", str(train), "--test", str(test), "--model", str(model),
                 "--epochs", "1", "--min-count", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{test}: column 'sentiment' has 3 values" in err
    assert "'maybe': 1" in err
    assert model.exists()


@pytest.mark.parametrize("values", ["nb", "binary", "count"])
@pytest.mark.parametrize("negation", [0, 3])
@pytest.mark.parametrize("small", [False, True])
def test_texts_hashed_ahead_score_as_the_model_scores_them(values, negation, small):
    from sentiment.model.compact import compact
    from sentiment.training.chunks import chunk_logits, hash_texts
    from sentiment.training.job import train
    from sentiment.training.settings import Settings

    texts, labels = noisy(400, 3)
    # repeats (counts above 1), negations, a feature said both ways, an unknown word
    texts = [t + " " + t.split()[0] + " not " + t.split()[1] + " zzz" for t in texts]
    model = train(texts, labels, Settings(epochs=2, min_count=1, values=values,
                                          negation=negation), progress=False)
    full = model
    if small:
        model = compact(model, 50)
    settings = Settings(ngrams=model.vocab.ngrams, negation=negation, values=values)
    want = model.logits(texts[:150])
    np.testing.assert_allclose(chunk_logits(model, hash_texts(texts[:150], settings)),
                               want, rtol=1e-5, atol=1e-5)
    # turned into training columns first (as the child does while the model trains),
    # then scored by the model's weight row of each training column: the chunk path's
    # logits to the last bit
    from sentiment.cli.ahead import Columns
    from sentiment.native import loops as fast

    if fast.compiled() is not None:
        chunk = hash_texts(texts[:150], settings)
        held = [(chunk, None)]
        columns = Columns()
        assert columns.take(("vocab", full.vocab.hashes), held) is None
        assert set(held[0][0]) == {"indptr", "cols", "data"}
        got = Columns.logits(model, columns.weights(model), held[0][0])
        np.testing.assert_array_equal(got, chunk_logits(model, chunk))


def test_the_test_file_is_read_ahead_only_beside_a_small_training_file(tmp_path):
    import gzip

    from sentiment.cli.ahead import worth_it

    plain = tmp_path / "r.csv"
    plain.write_text("review,sentiment\n" + "a fine film,positive\n" * 1000)  # 21 kB
    packed = tmp_path / "r.csv.gz"
    with gzip.open(packed, "wt") as f:
        f.write(plain.read_text() * 50)  # ~1 MB of text in a few kB on disk
    assert packed.stat().st_size < 20_000
    assert worth_it([plain], 16 * 30_000)
    assert not worth_it([plain, plain], 16 * 30_000)
    assert worth_it([packed], 16 * 2_000_000)
    assert not worth_it([packed], 16 * 500_000)  # its text counts, not its bytes on disk


def test_one_thread_scores_the_test_file_in_process(files, capsys, monkeypatch):
    """--threads 1 asks for one core (as --resume, whose settings the flags may not say,
    scores it in process too)."""
    from sentiment.cli.ahead import TestAhead

    monkeypatch.setattr(TestAhead, "score", lambda *_: pytest.fail("read ahead"))
    train, test, d = files
    assert main(["train", str(train), "--test", str(test), "--model", str(d / "t.npz"),
                 "--epochs", "1", "--min-count", "1", "--threads", "1"]) == 0
    assert "test accuracy" in capsys.readouterr().out


def test_a_failed_child_falls_back_to_scoring_in_process(files, capsys, monkeypatch):
    from sentiment.cli.ahead import TestAhead

    def dead(self, model):
        raise RuntimeError("the process scoring the test file ended (exit code -9)")

    monkeypatch.setattr(TestAhead, "score", dead)
    train, test, d = files
    assert main(["train", str(train), "--test", str(test), "--model", str(d / "f.npz"),
                 "--epochs", "1", "--min-count", "1", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "(exit code -9); scoring it in this process" in err
    assert json.loads(out.splitlines()[-1])["n_test"] == 700


def test_an_error_read_after_the_model_was_sent_is_said(files, capsys):
    """The child holds a budget of hashed rows (--max-memory / 8) and reads the rest once
    the model is sent: an error there comes back too."""
    train, _, d = files
    rng = np.random.default_rng(4)
    words = np.array([f"word{i}" for i in range(5000)])
    texts = [" ".join(row) for row in words[rng.integers(0, 5000, (60_000, 16))]]  # 9 MB
    labels = ["positive" if i % 2 else "negative" for i in range(60_000)]
    labels[55_000] = "maybe"
    test = d / "long.csv"
    with open(test, "w", newline="") as f:
        f.write("review,sentiment\n" + "".join(f"{t},{y}\n" for t, y in zip(texts, labels)))
    assert main(["train", str(train), "--test", str(test), "--model", str(d / "l.npz"),
                 "--epochs", "1", "--min-count", "1", "--max-memory", "64M"]) == 2
    err = capsys.readouterr().err
    assert f"{test}: column 'sentiment' has 3 values" in err and "'maybe': 1" in err
    assert (d / "l.npz").exists() and not (d / "l.npz.ckpt").exists()  # the model is kept


def _child(test, settings):
    from sentiment.cli.ahead import TestAhead
    from sentiment.io.labels import LabelScheme

    ahead = TestAhead(test, {"text_column": None, "label_column": None, "encoding": None},
                      LabelScheme(), settings, 1 << 30)
    ahead.start()
    ahead.go()
    return ahead


def _small_model():
    from sentiment.training.job import train
    from sentiment.training.settings import Settings

    settings = Settings(epochs=1, min_count=1).for_labels(False)
    return train(*noisy(800, 0), settings, progress=False), settings


def test_the_epochs_get_both_cores_once_the_child_waits_for_the_model(files):
    """The child says when it has nothing left to do but wait for the model (its chunks
    hashed and looked up in the vocabulary): the next epoch may then take two threads."""
    import time

    _, test, _ = files
    model, settings = _small_model()
    ahead = _child(test, settings)
    try:
        # before the vocabulary comes it has lookups to do: the epochs keep to one thread
        assert ahead.epoch_threads() == 1
        ahead.vocabulary(model.vocab)
        waited = time.monotonic()
        while ahead.epoch_threads() == 1 and time.monotonic() - waited < 60:
            time.sleep(0.01)
        assert ahead.epoch_threads() is None
        metrics, _, name = ahead.score(model)
        assert name == str(test) and metrics["n"] == 700
        evaluated = model.logits(noisy(700, 1)[0])
        assert metrics["accuracy"] == np.mean((evaluated > 0) == noisy(700, 1)[1])
    finally:
        ahead.close()
    # unasked (the last epoch ended first), its "idle" waits before the answer in the pipe
    ahead = _child(test, settings)
    try:
        ahead.vocabulary(model.vocab)
        time.sleep(1.0)
        again, _, _ = ahead.score(model)
        assert again == metrics
    finally:
        ahead.close()


def test_an_error_met_while_the_epochs_ask_is_still_said_by_score(files):
    """A bad row the child meets before the model comes ends it at once; its answer, read
    by epoch_threads, is what score raises."""
    import time

    from sentiment.errors import SentimentError

    _, _, d = files
    texts, labels = noisy(50, 5)
    test = write_csv(d / "early.csv", texts, labels)
    lines = test.read_text().splitlines()
    lines[10] = lines[10].rsplit(",", 1)[0] + ",maybe"
    test.write_text("\n".join(lines) + "\n")
    model, settings = _small_model()
    ahead = _child(test, settings)
    try:
        waited = time.monotonic()
        while ahead.epoch_threads() == 1 and time.monotonic() - waited < 60:
            time.sleep(0.01)
        assert ahead.epoch_threads() is None  # it ended: no other process on the core
        with pytest.raises(SentimentError, match="column 'sentiment' has 3 values"):
            ahead.score(model)
    finally:
        ahead.close()
