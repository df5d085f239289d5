"""The streaming pipeline: chunks, bounded counts, the cache on disk, shards."""
import csv
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from corpus import NEGATIVE, POSITIVE

from sentiment.errors import SentimentError
from sentiment.features.counting import FeatureCounter, factorize
from sentiment.io.reader import ReviewFile, read_reviews
from sentiment.training.job import Settings, TrainingStopped, train, train_chunks
from sentiment.training.pipeline import chunks_of, validation_rows

QUICK = Settings(epochs=3, min_count=1, batch_size=16)


def reviews(n, seed=0):
    """n short reviews from the test corpus with words shuffled; labels alternate."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        words = (POSITIVE if i % 2 else NEGATIVE)[i // 2 % 4].split()
        rng.shuffle(words)
        texts.append(" ".join(words) + f" film{i % 37}")
        labels.append(i % 2)
    return texts, np.array(labels)


def write_csv(path, texts, labels):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["review", "sentiment"])
        w.writerows(zip(texts, ["positive" if y else "negative" for y in labels]))
    return path


def same_model(a, b):
    """Same vocabulary, exactly; same weights up to float32 rounding: a row's columns are
    in the order of its chunk's local codes, so layer 1 adds the same terms in another
    order when the chunks differ (sorting every row to make them bit-identical cost 5% of
    train on IMDB)."""
    assert a.vocab.hashes.tolist() == b.vocab.hashes.tolist()
    assert a.vocab.words == b.vocab.words
    assert a.vocab.pos_counts.tolist() == b.vocab.pos_counts.tolist()
    assert a.vocab.neg_counts.tolist() == b.vocab.neg_counts.tolist()
    for k, v in a.net.params().items():
        np.testing.assert_allclose(v, b.net.params()[k], rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("size", [1, 7, 100])
def test_chunks_of_any_size_give_the_same_model(size):
    texts, labels = reviews(300)
    same_model(train(texts, labels, QUICK, progress=False),
               train(texts, labels, QUICK, chunk_size=size, progress=False))


def test_chunks_hashed_side_by_side_give_the_same_model_as_one_after_the_other():
    texts, labels = reviews(600)
    same_model(train(texts, labels, QUICK, chunk_size=50, threads=1, progress=False),
               train(texts, labels, QUICK, chunk_size=50, threads=2, progress=False))


def test_pass_one_on_threads_equals_pass_one_in_line_merges_and_pruning_included(
        monkeypatch):
    from concurrent.futures import Future

    from sentiment.training import pipeline

    class InLine:  # an executor that runs each job at once, on the calling thread
        def __init__(self, *_):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

        def submit(self, fn, *args):
            done = Future()
            done.set_result(fn(*args))
            return done

    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(40_000)])
    texts = [" ".join(rng.choice(words, 6)) for _ in range(12_000)]
    labels = np.arange(12_000) % 2
    settings = Settings(epochs=1, min_count=1)
    options = dict(chunk_size=1000, max_memory=1 << 22, progress=False)  # merges, prunes
    merge_in = FeatureCounter.merge_in

    def slow_merge_in(self, sources):  # merges that outlast a chunk's hashing
        time.sleep(0.3)
        merge_in(self, sources)

    monkeypatch.setattr(FeatureCounter, "merge_in", slow_merge_in)
    threaded = train(texts, labels, settings, **options)
    monkeypatch.setattr(FeatureCounter, "merge_in", merge_in)
    monkeypatch.setattr(pipeline, "ThreadPoolExecutor", InLine)  # the merges
    monkeypatch.setattr(pipeline, "prefetch",  # the hashing
                        lambda fn, items, ahead: ((item, fn(item)) for item in items))
    in_line = train(texts, labels, settings, **options)
    assert threaded.info["cache"]["count_threshold"] > 1  # the counts were pruned
    same_model(threaded, in_line)


def test_validation_rows_do_not_depend_on_chunks():
    rows = np.arange(10_000)
    held = validation_rows(rows, 0, 0.1)
    assert 900 < held.sum() < 1100
    assert np.array_equal(np.concatenate([validation_rows(rows[i:i + 333], 0, 0.1)
                                          for i in range(0, 10_000, 333)]), held)
    assert not np.array_equal(validation_rows(rows, 1, 0.1), held)
    assert not validation_rows(rows, 0, 0.0).any()


def test_spilled_cache_gives_the_same_vocabulary_and_is_removed(tmp_path):
    texts, labels = reviews(400)
    cache = tmp_path / "cache"
    cache.mkdir()
    seen = []
    small = train(texts, labels, QUICK, chunk_size=50, max_memory=1 << 16,
                  cache_dir=cache, progress=False,
                  on_prepared=lambda m: seen.append((m.info, list(cache.iterdir()))))
    info, files = seen[0]
    assert info["cache"]["disk_bytes"] > 0 and info["shards"] > 1 and files
    assert list(cache.iterdir()) == []  # removed after success
    whole = train(texts, labels, QUICK, progress=False)
    assert whole.info["cache"]["disk_bytes"] == 0 and whole.info["shards"] == 1
    assert small.vocab.hashes.tolist() == whole.vocab.hashes.tolist()
    assert small.vocab.words == whole.vocab.words
    assert small.info["n_train"] == whole.info["n_train"]
    assert small.history[-1]["train_accuracy"] > 0.95


def test_cache_is_removed_when_reading_fails(tmp_path):
    texts, labels = reviews(200)

    def chunks():
        yield texts[:100], labels[:100]
        raise SentimentError("r.csv: row 150 has 3 fields but the header has 2")

    with pytest.raises(SentimentError, match="row 150"):
        train_chunks(chunks(), QUICK, max_memory=1 << 12, cache_dir=tmp_path,
                     progress=False)
    assert list(tmp_path.iterdir()) == []


def test_stop_while_reading_keeps_nothing(tmp_path):
    texts, labels = reviews(200)
    with pytest.raises(TrainingStopped) as info:
        train_chunks(chunks_of(texts, labels, 50), QUICK, max_memory=1 << 12,
                     cache_dir=tmp_path, should_stop=lambda: True, progress=False)
    assert info.value.state is None and info.value.reason == "interrupted"
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_removes_the_cache(tmp_path):
    texts, labels = reviews(150_000)  # enough for a cache on disk under --max-memory 64M
    data = write_csv(tmp_path / "r.csv", texts, labels)
    cache = tmp_path / "cache"
    cache.mkdir()
    cmd = [sys.executable, "-m", "sentiment", "train", str(data), "--model",
           str(tmp_path / "m.npz"), "--max-memory", "64M", "--cache-dir", str(cache),
           "--epochs", "200", "--patience", "0", "--batch-size", "8", "--min-count", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("epoch")  # the rows are ready: cache in use
    assert any(cache.iterdir())
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert list(cache.iterdir()) == []


def test_a_file_sorted_by_label_trains_as_well_as_a_shuffled_one(tmp_path):
    texts, labels = reviews(2000)
    order = np.argsort(-labels, kind="stable")  # every positive, then every negative
    test_texts, test_labels = reviews(400, seed=1)
    scores = []
    for name, idx in (("shuffled", np.arange(len(texts))), ("sorted", order)):
        for memory in (1 << 30, 1 << 16):  # one shard in memory; many shards on disk
            model = train([texts[i] for i in idx], labels[idx], QUICK, chunk_size=300,
                          max_memory=memory, cache_dir=tmp_path, progress=False)
            p = model.predict_details(test_texts)[2]
            scores.append((name, memory, float(np.mean(p == test_labels))))
    accuracies = [s for *_, s in scores]
    assert min(accuracies) > 0.9, scores
    assert max(accuracies) - min(accuracies) < 0.05, scores


def test_counter_stays_within_capacity_and_keeps_frequent_features():
    rng = np.random.default_rng(0)
    common = rng.integers(0, 2**63, 20, dtype=np.uint64)
    counter = FeatureCounter(capacity=500)
    for c in range(40):
        rare = rng.integers(0, 2**63, 300, dtype=np.uint64)
        hashes = np.concatenate([common, rare])
        codes, uniques, first, bounds = factorize(hashes)
        ones = np.ones(len(uniques), np.int32)
        counter.add({"hash": uniques, "pos": ones, "neg": 0 * ones,
                     "n": np.ones(len(uniques), np.int8), "chunk": c + 0 * ones,
                     "token": first.astype(np.int32)}, bounds, 1, 0)
        if counter.full():
            counter.merge()
        assert len(counter) <= counter.capacity
    kept = counter.finish(min_count=2)
    assert counter.threshold > 1  # it had to prune
    counts = dict(zip(kept["hash"].tolist(), kept["pos"].tolist()))
    assert [counts.get(h) for h in common.tolist()] == [40] * 20  # exact, never pruned


def test_factorize_numbers_keys_like_pandas():
    import pandas as pd

    rng = np.random.default_rng(3)
    keys = rng.integers(0, 2**64 - 1, 5000, dtype=np.uint64)[rng.integers(0, 5000, 20000)]
    codes, uniques, first, bounds = factorize(keys)
    assert np.array_equal(uniques[codes], keys)
    assert sorted(uniques.tolist()) == sorted(pd.unique(keys).tolist())
    assert np.array_equal(keys[first], uniques)
    for j in rng.integers(0, len(uniques), 50):  # first really is the first occurrence
        assert np.flatnonzero(keys == uniques[j])[0] == first[j]
    parts = (uniques >> np.uint64(56)).astype(int)
    assert np.array_equal(np.searchsorted(parts, np.arange(257)), bounds)


def test_reading_in_chunks_equals_reading_at_once(tmp_path):
    texts, labels = reviews(2500)
    texts[1234] = "   "  # an empty row, dropped wherever it falls
    path = write_csv(tmp_path / "r.csv", texts, labels)
    whole = read_reviews(path)
    source = ReviewFile(path)
    parts = list(source.chunks(rows=400))
    assert len(parts) == 7
    assert sum((p.texts for p in parts), []) == whole.texts
    assert np.concatenate([p.labels for p in parts]).tolist() == whole.labels.tolist()
    assert source.notes == whole.notes
    assert "row 1236" in whole.notes[0]  # header row 1, data from row 2


def _pandas_version() -> tuple[int, ...]:
    import pandas as pd
    return tuple(int(x) for x in pd.__version__.split(".")[:2])


@pytest.mark.skipif(_pandas_version() < (3, 1), reason="pandas before 3.1 drops a row's "
                    "extra fields without a word in every chunk but the first (README)")
def test_a_bad_row_in_a_later_chunk_is_named_by_its_true_row(tmp_path):
    texts, labels = reviews(3000)
    path = write_csv(tmp_path / "r.csv", texts, labels)
    lines = path.read_text().splitlines()
    lines[2501] = lines[2501] + ",extra"  # row 2502 of the file
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SentimentError, match="row 2502 has 3 fields"):
        for _ in ReviewFile(path).chunks(rows=500):
            pass


def test_predict_file_writes_every_chunk_in_order(tmp_path, monkeypatch, capsys):
    from sentiment.cli import main
    from sentiment.training import budget

    texts, labels = reviews(2600)
    path = write_csv(tmp_path / "r.csv", texts, labels)
    model = train(texts, labels, QUICK, progress=False).save(tmp_path / "m.npz")
    monkeypatch.setattr(budget, "CHUNK_SHARE", 1 << 40)  # chunks of 1,000 rows
    assert main(["predict", "--model", str(model), "--file", str(path)]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0] == ["review", "sentiment", "label", "probability"]
    assert [row[0] for row in rows[1:]] == texts  # one header, every row, in order
    assert np.mean([row[1] == row[2] for row in rows[1:]]) > 0.95


def test_a_tiny_file_trains_with_a_warning(tmp_path, capsys):
    from sentiment.cli import main

    path = write_csv(tmp_path / "r.csv", ["great film", "awful film", "good film"], [1, 0, 1])
    # "film", in one positive and one negative training text, tells nothing: weight 0
    assert main(["train", str(path), "--model", str(tmp_path / "m.npz"),
                 "--min-count", "1"]) == 0
    err = capsys.readouterr().err
    assert "warning: only 2 rows to train on (and 1 held out)" in err
    assert "vocabulary 4 of 5 features (compact; --full keeps all)" in err


def test_predict_file_keeps_every_row_in_place(tmp_path, capsys):
    import json

    from sentiment.cli import main

    texts, labels = reviews(200)
    model = train(texts, labels, QUICK, progress=False).save(tmp_path / "m.npz")
    path = tmp_path / "r.csv"
    path.write_text("id,review\n1,a wonderful film\n2,\n3,a terrible film\n4,   \n",
                    encoding="utf-8")
    assert main(["predict", "--model", str(model), "--file", str(path)]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.reader(out.splitlines()))
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]  # lined up with the input
    assert [r[2] for r in rows[1:]] == ["positive", "", "negative", ""]
    assert rows[2][3] == "" and rows[4][3] == ""  # no probability for an empty text
    assert "kept, unscored, 2 rows with an empty text (rows 3, 5)" in err
    assert "empty 2" in err
    assert main(["predict", "--model", str(model), "--file", str(path), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["probability"] is None for r in records] == [False, True, False, True]


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    texts, labels = reviews(200)
    return train(texts, labels, QUICK, progress=False).save(
        tmp_path_factory.mktemp("model") / "m.npz")


def test_stdin_in_any_state_gets_an_answer(small_model):
    import os

    strict = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    cmd = [sys.executable, "-m", "sentiment", "predict", "--model", str(small_model)]
    # bytes that are not UTF-8, in a strict UTF-8 locale: scored, no traceback
    r = subprocess.run(cmd, input=b"a wonderful \xff film\n\xef\xbb\xbfgreat\n",
                       capture_output=True, env=strict)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 2 and b"Traceback" not in r.stderr
    # a closed stdin: one line, exit 2
    r = subprocess.run(["bash", "-c", " ".join(cmd) + " <&-"], capture_output=True,
                       text=True)
    assert r.returncode == 2
    assert r.stderr == "error: no TEXT given and stdin is closed; pass texts, or --file FILE\n"


def test_text_that_is_not_utf8_goes_back_out_as_it_came(small_model):
    import os

    strict = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    r = subprocess.run([sys.executable, "-m", "sentiment", "explain", "--model",
                        str(small_model), "--json", os.fsdecode(b"a great \xff film")],
                       capture_output=True, env=strict)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b'{"text": "a great \xff film"')


def test_interleave_lines_puts_each_part_line_in_its_place(loops):
    from sentiment.training.pipeline import interleave_lines

    rng = np.random.default_rng(0)
    words = ["", "a", "bé c", "d e f", "x" * 40] * 30
    rng.shuffle(words)
    owner = rng.integers(0, 4, len(words))
    parts = [(np.flatnonzero(owner == k),
              "\n".join(words[i] for i in np.flatnonzero(owner == k)).encode())
             for k in range(4)]
    assert interleave_lines(parts, len(words)) == "\n".join(words).encode()
    assert interleave_lines([], 0) == b""
    if loops == "compiled":
        with pytest.raises(ValueError, match="match"):
            interleave_lines([(np.array([0, 1]), b"a\nb\nc")], 2)


def test_words_bytes_of_columns_equal_the_words_joined():
    from sentiment.features.vocab import Vocabulary

    words = ["good", "not bad", "é", "a b c"]
    for held in (words, "\n".join(words).encode()):
        vocab = Vocabulary(np.arange(4, dtype=np.uint64), held, None, None, 1, 1)
        assert vocab.words_bytes(np.array([2, 0, 3])) == "é\ngood\na b c".encode()
        assert vocab.words_bytes(np.array([], np.int64)) == b""


def test_a_small_file_trains_more_epochs_unless_told():
    """Five epochs are 880 minibatches on IMDB but a few dozen on a file of a few thousand
    texts: by default the epochs are enough for MIN_STEPS minibatches (at most MAX_EPOCHS);
    --epochs is obeyed as given."""
    from sentiment.training.settings import EPOCHS, MAX_EPOCHS, MIN_STEPS, Settings

    auto = Settings()
    assert auto.for_rows(22_500).epochs == EPOCHS  # IMDB: 176 minibatches an epoch
    assert auto.for_rows(3_000).epochs == -(-MIN_STEPS // 24)  # 24 minibatches an epoch
    assert auto.for_rows(10).epochs == MAX_EPOCHS
    assert auto.for_rows(None).epochs == EPOCHS
    assert Settings(epochs=3).for_rows(10).epochs == 3


def test_a_small_file_smooths_its_naive_bayes_values_more_unless_told():
    """The fewer the training rows, the more the naive-Bayes values are smoothed: from
    SMALL_SMOOTHING (4) on a few thousand rows down to SMOOTHING (1) from SMOOTH_ROWS on
    (IMDB's 20,250); --smoothing is obeyed as given, and the vocabulary and the model's
    settings carry the value chosen."""
    from sentiment.training.settings import SMALL_SMOOTHING, SMOOTHING, SettingError, Settings

    auto = Settings()
    assert auto.for_vocabulary(20_250).smoothing == auto.for_vocabulary(16_000).smoothing \
        == SMOOTHING == 1
    assert auto.for_vocabulary(8_000).smoothing == 2
    assert auto.for_vocabulary(3_000).smoothing == auto.for_vocabulary(1).smoothing \
        == SMALL_SMOOTHING == 4
    assert auto.for_vocabulary(None).smoothing == SMOOTHING
    assert Settings(smoothing=0.5).for_vocabulary(3_000).smoothing == 0.5
    with pytest.raises(SettingError, match="smoothing must be more than 0"):
        Settings(smoothing=0)
    model = train(["good fun", "bad dull", "good film", "dull film"] * 5, [1, 0, 1, 0] * 5,
                  Settings(epochs=1, seed=0), progress=False)
    assert model.vocab.smoothing == model.settings["smoothing"] == SMALL_SMOOTHING


def test_a_large_file_trains_fewer_epochs_unless_told():
    """A million reviews are 7,000 minibatches an epoch: by default the epochs stop at
    enough for MAX_STEPS minibatches (at least one), IMDB's 22,500 rows keeping EPOCHS;
    --epochs is obeyed as given."""
    from sentiment.training.settings import EPOCHS, MAX_STEPS, Settings

    auto = Settings()
    per_epoch = -(-900_000 // auto.batch_size)
    assert auto.for_rows(900_000).epochs == max(1, -(-MAX_STEPS // per_epoch)) < EPOCHS
    assert auto.for_rows(450_000).epochs == -(-MAX_STEPS // 3_516)
    assert auto.for_rows(10**9).epochs == 1
    assert auto.for_rows(90_000).epochs == EPOCHS  # 704 minibatches an epoch
    assert auto.with_(batch_size=1024).for_rows(900_000).epochs == \
        -(-MAX_STEPS // -(-900_000 // 1024))
    assert Settings(epochs=5).for_rows(900_000).epochs == 5


def test_a_small_file_trains_again_on_every_row_unless_told():
    """A small file's validation rows, once they have chosen the temperature, train too:
    a second network from the start on all rows for the same epochs (Settings.small:
    fewer rows than EPOCHS epochs of MIN_STEPS minibatches; IMDB's 22,500 are not);
    --no-refit keeps the first network, and so does a file without validation rows."""
    from sentiment.training.settings import Settings

    assert Settings().small(3_000) and not Settings().small(22_500)
    texts, labels = reviews(300)
    settings = Settings(epochs=3, min_count=1)
    again = train(texts, labels, settings, progress=False)
    first = train(texts, labels, settings.with_(refit=False), progress=False)
    assert again.info["refit"] == {"rows": 300, "epochs": 3} and "refit" not in first.info
    assert again.vocab.hashes.tolist() == first.vocab.hashes.tolist()
    assert not np.array_equal(again.net.W1, first.net.W1)
    assert len(again.history) == len(first.history)  # the first pass's, with validation
    assert "refit" not in train(texts, labels, settings.with_(val_fraction=0),
                                progress=False).info


@pytest.mark.parametrize("cap,expected", [(None, 2), (1, 1)])
def test_the_refit_epochs_take_the_first_passs_threads(monkeypatch, cap, expected):
    # beside train --test's child (epoch_threads=1) the refit of a small file too
    import os

    from sentiment.training import job

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    seen = []
    real = job.fit
    monkeypatch.setattr(job, "fit", lambda *a, **k: seen.append(k.get("threads"))
                        or real(*a, **k))
    texts, labels = reviews(300)
    model = train(texts, labels, Settings(epochs=2, min_count=1), progress=False,
                  epoch_threads=cap)
    assert model.info["refit"] == {"rows": 300, "epochs": 2}
    assert seen == [expected]


def test_a_cap_given_as_a_function_is_asked_as_the_epochs_go(monkeypatch):
    # train --test's child has the other core until it waits for the model
    import os

    from sentiment.native.loops import compiled
    from sentiment.training import loop

    if compiled() is None:
        pytest.skip("the threads are the compiled epoch's")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    used = []
    real = loop.epoch_compiled

    def asked(threads):  # what each slice of batches is told
        def ask():
            used.append(threads())
            return used[-1]
        return ask

    monkeypatch.setattr(loop, "epoch_compiled", lambda *a: real(*a[:-1], asked(a[-1])))
    answers = iter([1, 1, None, None])  # 300 rows: one slice an epoch
    texts, labels = reviews(300)
    model = train(texts, labels, Settings(epochs=4, min_count=1, refit=False),
                  progress=False, epoch_threads=lambda: next(answers))
    assert len(model.history) == 4
    assert used == [1, 1, 2, 2]
    used.clear()
    train(texts, labels, Settings(epochs=2, min_count=1, refit=False), progress=False,
          threads=1, epoch_threads=lambda: None)  # --threads 1 stays the cap
    assert used == [1, 1]


def test_the_allocators_threshold_grows_as_the_budget_shrinks():
    from sentiment.memory import mmap_threshold

    mb = 1 << 20
    assert mmap_threshold(1 << 30) == mmap_threshold(4 << 30) == mb  # large arrays mapped
    assert mmap_threshold(256 * mb) == 4 * mb
    assert mmap_threshold(80 * mb) == mmap_threshold(1) == 8 * mb  # small chunks' arrays


def test_the_allocators_settings_start_no_process(monkeypatch):
    # ctypes.util.find_library ran /sbin/ldconfig at each call: a vfork child sharing the
    # process's memory, which a benchmark summing the process tree counted twice
    from sentiment import memory

    def refuse(*args, **kwargs):
        raise AssertionError(f"a process was started: {args[:1]}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    memory.one_heap()
    memory.release_freed_memory(80 << 20)
    memory.give_back_freed_memory()


def test_a_chunks_text_is_a_share_of_the_budget_up_to_6_mb():
    from sentiment.training.budget import Budget

    assert Budget(1 << 30).chunk_rows(1000) == Budget(8 << 30).chunk_rows(1000) == 6000
    assert Budget(80 << 20).chunk_rows(1000) == (80 << 20) // 128 // 1000  # 655
    assert Budget(1 << 20).chunk_rows(1000) == 100  # at least 100 rows
