"""The model file: round trip, atomic save, hostile or damaged files; predict's output."""
import json
import subprocess
import sys
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentiment.errors import SentimentError
from sentiment.features.rules import CURRENT
from sentiment.model import fileformat as modelfile
from sentiment.model.fileformat import FORMAT_VERSION
from sentiment.model.model import Model
from sentiment.training.job import Settings, train

POSITIVE = ["a wonderful film, great acting", "i loved it, the best this year",
            "brilliant, moving and wonderful", "great fun, loved every minute"]
NEGATIVE = ["a terrible film, awful acting", "i hated it, the worst this year",
            "dull, stupid and awful", "boring, a waste of time"]
TEXTS = (POSITIVE + NEGATIVE) * 3
LABELS = ([1] * 4 + [0] * 4) * 3
PROBE = ["wonderful and great", "awful, boring", "", "no known words here", "WONDERFUL!"]
HINT = "train one with 'python -m sentiment train' or pass --model"


@pytest.fixture(scope="module")
def trained() -> Model:
    return train(TEXTS, LABELS, Settings(epochs=20, lr=0.05, min_count=1, val_fraction=0,
                                         seed=0))


@pytest.fixture(scope="module")
def model_file(trained, tmp_path_factory):
    return trained.save(tmp_path_factory.mktemp("model") / "m.npz")


def test_round_trip_predicts_the_same(trained, tmp_path):
    path = trained.save(tmp_path / "m.npz")
    loaded = Model.load(path)
    assert loaded.vocab.words == trained.vocab.words
    assert loaded.vocab.hashes.tolist() == trained.vocab.hashes.tolist()
    assert loaded.vocab.pos_counts.tolist() == trained.vocab.pos_counts.tolist()
    assert loaded.settings == trained.settings and loaded.history == trained.history
    for k, v in trained.net.params().items():
        assert np.array_equal(loaded.net.params()[k], v), k
    assert loaded.predict_proba(PROBE).tolist() == trained.predict_proba(PROBE).tolist()
    assert loaded.predict(PROBE[:2]) == ["positive", "negative"]
    assert repr(loaded) == repr(trained)


def test_smoothing_is_kept_and_scores_as_trained(tmp_path):
    """Two classes make their naive-Bayes values again at load, from the counts: with the
    smoothing the file keeps (format version 2), not 1."""
    model = train(TEXTS, LABELS, Settings(epochs=5, min_count=1, val_fraction=0, seed=0))
    assert model.vocab.smoothing == 4 and model.settings["smoothing"] == 4  # a small file
    path = model.save(tmp_path / "m.npz")
    meta = json.loads(bytes(np.load(path)["meta"]))
    assert meta["version"] == 2 and meta["vocab"]["smoothing"] == 4
    loaded = Model.load(path)
    assert loaded.vocab.smoothing == 4
    assert np.array_equal(loaded.vocab.nb_scale(), model.vocab.nb_scale())
    assert np.array_equal(loaded.vocab.log_ratio(indices=np.array([0, 2])),
                          model.vocab.nb_scale()[[0, 2]])
    assert loaded.predict_proba(PROBE).tolist() == model.predict_proba(PROBE).tolist()


def test_a_file_without_smoothing_reads_as_one_bit_for_bit(tmp_path):
    """An older file has no smoothing: it is 1, and its values are what they were
    (alpha 1 spelt out as before); a model with smoothing 1 is still written as version 1,
    which older code reads."""
    model = train(TEXTS, LABELS, Settings(epochs=5, min_count=1, val_fraction=0, seed=0,
                                          smoothing=1))
    path = model.save(tmp_path / "m.npz")
    meta = json.loads(bytes(np.load(path)["meta"]))
    assert meta["version"] == 1 and "smoothing" not in meta["vocab"]
    vocab = Model.load(path).vocab
    pos, neg = vocab.pos_counts, vocab.neg_counts
    before = (np.log((pos + 1.0) / (float(pos.sum()) + 1.0 * len(pos)))
              - np.log((neg + 1.0) / (float(neg.sum()) + 1.0 * len(neg)))).astype(np.float32)
    assert vocab.smoothing == 1 and vocab.nb_scale().tobytes() == before.tobytes()


def test_save_is_atomic_and_leaves_no_temporary_file(trained, tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    trained.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert Model.load(path).vocab.words == trained.vocab.words


def test_model_files_are_written_as_np_savez_writes_them():
    import io
    import zipfile

    arrays = {"zero_d": np.array(7), "fortran": np.asfortranarray(np.arange(6.).reshape(2, 3)),
              "strided": np.arange(10, dtype=np.int32)[::3], "empty": np.zeros(0, np.int64),
              "flags": np.array([True, False]), "big": np.arange(300_000, dtype=np.float32)}
    ours, theirs = io.BytesIO(), io.BytesIO()
    modelfile.savez(ours, arrays)
    np.savez(theirs, **arrays)
    with zipfile.ZipFile(ours) as a, zipfile.ZipFile(theirs) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
    ours.seek(0)
    with np.load(ours) as loaded:
        for name, value in arrays.items():
            assert loaded[name].shape == value.shape and loaded[name].dtype == value.dtype
            np.testing.assert_array_equal(loaded[name], value)


def test_failed_save_keeps_the_old_model(trained, tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    path.write_bytes(b"old model")

    def disk_full(f, arrays):
        f.write(b"half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(modelfile, "savez", disk_full)
    with pytest.raises(SentimentError, match=r"m\.npz: cannot write the model \(No space "
                                             r"left on device\); free some space or "
                                             r"choose another --model$"):
        trained.save(path)
    assert path.read_bytes() == b"old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


# -- damaged and hostile files -----------------------------------------------------------

class Payload:
    """Unpickling this creates a file: proof that code ran."""

    marker = None

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def arrays_of(path) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def meta_of(arrays) -> dict:
    return json.loads(arrays["meta"].tobytes())


def crc(a) -> int:
    return zlib.crc32(np.ascontiguousarray(a).view(np.uint8).ravel())


def rewrite(src, dst, meta_changes=None, **array_changes):
    """Copy a model with changed arrays (checksums kept valid) and metadata."""
    arrays = arrays_of(src)
    meta = meta_of(arrays)
    for key, value in array_changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
            meta["crc32"][key] = crc(value)
    if callable(meta_changes):
        meta = meta_changes(meta)
    elif meta_changes:
        meta.update(meta_changes)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(dst, **arrays)


def truncated(src, dst, m):
    data = src.read_bytes()
    dst.write_bytes(data[:len(data) // 2])


def random_bytes(src, dst, m):
    dst.write_bytes(np.random.default_rng(0).bytes(5000))


def pickled_array(src, dst, m):
    arrays = arrays_of(src)
    arrays["W1"] = np.array([Payload()], dtype=object)
    np.savez(dst, **arrays)  # numpy pickles object arrays when saving


def pickle_file(src, dst, m):
    import pickle
    dst.write_bytes(pickle.dumps(Payload()))


def npy_file(src, dst, m):
    np.save(open(dst, "wb"), np.zeros(3))


def corrupted_array(src, dst, m):
    arrays = arrays_of(src)  # the metadata keeps the old checksum
    arrays["W1"] = arrays["W1"].copy()
    arrays["W1"][0, 0] += 1
    np.savez(dst, **arrays)


def flipped_byte(src, dst, m):
    import zipfile

    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = z.getinfo("W1.npy")
    # the member's data starts after its local header (30 bytes, name, extra field)
    name_len = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0xFF  # inside W1's data: the zip CRC catches it
    dst.write_bytes(bytes(data))


def inflating_member(src, dst, m):
    """The model plus a member of 80 MiB of zeros, deflated to under 100 kB."""
    import shutil
    import zipfile

    shutil.copy(src, dst)
    with zipfile.ZipFile(dst, "a", compression=zipfile.ZIP_DEFLATED) as z, \
            z.open("pad.npy", "w", force_zip64=True) as f:
        for _ in range(80):
            f.write(bytes(2**20))


def with_meta_array(value):
    return lambda src, dst, m: np.savez(dst, **{**arrays_of(src), "meta": value})


def without_meta(src, dst, m):
    np.savez(dst, **{k: v for k, v in arrays_of(src).items() if k != "meta"})


def meta(**changes):
    return lambda src, dst, m: rewrite(src, dst, changes)


def vocab_meta(**changes):
    return lambda src, dst, m: rewrite(src, dst, lambda m: {
        **m, "vocab": {**m["vocab"], **changes}})


def array(key, make):
    """Replace one array (with a valid checksum); ``make(n, hidden)`` builds it."""
    return lambda src, dst, m: rewrite(src, dst, **{key: make(len(m.vocab), m.net.hidden)})


BAD_FILES = [
    ("empty", lambda s, d, m: d.write_bytes(b""), f"not a model file (it is empty); {HINT}"),
    ("truncated", truncated,
     f"model file is damaged or truncated (File is not a zip file); {HINT}"),
    ("random bytes", random_bytes, f"not a model file (it is not an .npz archive); {HINT}"),
    ("a pickle", pickle_file, f"not a model file (it is not an .npz archive); {HINT}"),
    ("a .npy", npy_file, f"not a model file (it is not an .npz archive); {HINT}"),
    ("pickled object array", pickled_array,
     f"not a model file (array 'W1' holds pickled Python objects, which are never "
     f"loaded); {HINT}"),
    ("corrupted array", corrupted_array,
     f"model file is corrupted (array 'W1' fails its checksum); {HINT}"),
    ("flipped byte", flipped_byte,
     f"model file is damaged or truncated (Bad CRC-32 for file 'W1.npy'); {HINT}"),
    ("inflates to 80 MiB", inflating_member,
     "not a model file (its arrays would take 84 MB in memory from {disk} MB on disk; this "
     f"tool never writes compressed models); {HINT}"),
    ("other version", meta(version=FORMAT_VERSION + 1),
     f"model format version {FORMAT_VERSION + 1} is not supported (this version reads up "
     f"to {FORMAT_VERSION}); retrain it"),
    ("no version", meta(version=None),
     f"model format version None is not supported (this version reads up to "
     f"{FORMAT_VERSION}); retrain it"),
    ("other format", meta(format="something-else"), f"not a sentiment model file; {HINT}"),
    ("metadata not JSON", with_meta_array(np.frombuffer(b"\xff{", np.uint8)),
     f"model metadata is unreadable; {HINT}"),
    ("metadata nested 100,000 deep", with_meta_array(np.frombuffer(b"[" * 100_000,
                                                                   np.uint8)),
     f"model metadata is unreadable; {HINT}"),
    ("metadata not bytes", with_meta_array(np.zeros(3)),
     f"model metadata is unreadable; {HINT}"),
    ("metadata pickled", with_meta_array(np.array([Payload()], dtype=object)),
     f"not a model file (array 'meta' holds pickled Python objects, which are never "
     f"loaded); {HINT}"),
    ("no metadata", without_meta, f"not a sentiment model (no metadata); {HINT}"),
    ("checksums not a dict", meta(crc32=[1, 2]),
     f"model metadata lacks a valid 'crc32'; {HINT}"),
    ("vocab not a dict", meta(vocab="words"), f"model metadata lacks a valid 'vocab'; {HINT}"),
    ("settings not a dict", meta(settings=[1]),
     f"model metadata lacks a valid 'settings'; {HINT}"),
    ("other tokenizer", vocab_meta(hash="md5"),
     f"model was built with tokenizer 'md5', this version uses {CURRENT.name!r}; "
     "retrain it (or score it with the version of sentiment that made it)"),
    ("smoothing 0", vocab_meta(smoothing=0),
     f"model metadata has no valid vocabulary 'smoothing'; {HINT}"),
    ("smoothing a string", vocab_meta(smoothing="4"),
     f"model metadata has no valid vocabulary 'smoothing'; {HINT}"),
    ("ngrams 0", vocab_meta(ngrams=0),
     f"model metadata has no valid vocabulary 'ngrams'; {HINT}"),
    ("ngrams a string", vocab_meta(ngrams="2"),
     f"model metadata has no valid vocabulary 'ngrams'; {HINT}"),
    ("unknown activation", meta(activation="tanh"),
     "model uses activation 'tanh', this version knows linear, relu; retrain it"),
    ("missing array", array("W1", lambda n, h: None),
     f"model file is inconsistent (no array 'W1'); {HINT}"),
    ("1-D W1", array("W1", lambda n, h: np.zeros(5, np.float32)),
     f"model file is inconsistent (array 'W1' is 1-D float32); {HINT}"),
    ("W1 of strings", array("W1", lambda n, h: np.array([["a"]])),
     f"model file is inconsistent (array 'W1' is 2-D <U1); {HINT}"),
    ("W1 too short", array("W1", lambda n, h: np.zeros((3, h), np.float32)),
     "model file is inconsistent (array 'vocab_hashes' has {n} entries, W1 is 3 x {h}); "
     f"{HINT}"),
    ("W1 too narrow", array("W1", lambda n, h: np.zeros((n, h + 1), np.float32)),
     "model file is inconsistent (array 'b1' has {h} entries, W1 is {n} x {h+1}); "
     f"{HINT}"),
    ("NaN weights", array("b1", lambda n, h: np.full(h, np.nan, np.float32)),
     f"model file is inconsistent (array 'b1' holds NaN or infinity); {HINT}"),
    ("index out of range", array("vocab_order", lambda n, h: np.full(n, 10**6, np.int64)),
     "model file is inconsistent (the vocabulary index points outside the vocabulary); "
     f"{HINT}"),
    ("index unsorted", array("vocab_order", lambda n, h: np.arange(n)[::-1].copy()),
     f"model file is inconsistent (the vocabulary index is not sorted); {HINT}"),
]


@pytest.mark.parametrize("make, message", [b[1:] for b in BAD_FILES],
                         ids=[b[0] for b in BAD_FILES])
def test_bad_model_file_is_refused_and_runs_nothing(model_file, trained, tmp_path, make,
                                                    message):
    n, h = len(trained.vocab), trained.net.hidden
    Payload.marker = tmp_path / "code-ran"
    bad = tmp_path / "bad.npz"
    make(model_file, bad, trained)
    with pytest.raises(SentimentError) as err:
        Model.load(bad)
    message = message.replace("{n}", str(n)).replace("{h}", str(h)).replace("{h+1}",
                                                                            str(h + 1))
    message = message.replace("{disk}", f"{bad.stat().st_size / 1e6:,.1f}")
    assert str(err.value) == f"{bad}: {message}"
    assert not Payload.marker.exists()


@settings(max_examples=150, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                min_size=1, max_size=4))
def test_fuzzed_model_files_load_right_or_fail_cleanly(model_file, trained, tmp_path,
                                                       mutations):
    data = bytearray(model_file.read_bytes())
    for where, value in mutations:
        data[int(where * len(data))] = value
    bad = tmp_path / "fuzzed.npz"
    bad.write_bytes(bytes(data))
    try:
        loaded = Model.load(bad)
    except SentimentError as exc:
        assert str(exc).startswith(f"{bad}: ") and "\n" not in str(exc)
    else:  # a byte nothing reads (a zip timestamp, say): the model must be intact
        assert loaded.predict_proba(PROBE).tolist() == trained.predict_proba(PROBE).tolist()


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_truncated_anywhere_fails_cleanly(model_file, tmp_path, fraction):
    data = model_file.read_bytes()
    bad = tmp_path / "cut.npz"
    bad.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(SentimentError, match=r"^.*cut\.npz: (not a model file|model file "
                                             r"is damaged or truncated)"):
        Model.load(bad)


# -- predict through the real CLI: --json and stdin --------------------------------------

def run(*args, input=None):
    return subprocess.run([sys.executable, "-m", "sentiment", *map(str, args)],
                          capture_output=True, text=True, input=input, timeout=120)


def test_predict_json(model_file):
    r = run("predict", "--model", model_file, "--json", "wonderful, loved it",
            "awful and boring", "")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["text"] for row in rows] == ["wonderful, loved it", "awful and boring", ""]
    assert [row["label"] for row in rows[:2]] == ["positive", "negative"]
    for row in rows:
        assert {"text", "label", "probabilities"} <= set(row)
        probs = row["probabilities"]
        assert set(probs) == {"negative", "positive"}
        assert probs["negative"] + probs["positive"] == pytest.approx(1, abs=1e-6)
        assert row["label"] == ("positive" if probs["positive"] > 0.5 else "negative")
    assert [row.get("known_features") for row in rows][2] == 0


STDIN = ("wonderful, loved it\n\nawful and boring\n   \nwonderful \U0001f600\x07\x0c\n"
         + "awful " * 170_000 + "\nzzz\x00qqq\nwonderful")


@pytest.mark.parametrize("args", [["-"], []])
def test_predict_reads_one_review_per_stdin_line_in_order(model_file, args):
    r = run("predict", "--model", model_file, "--json", *args, input=STDIN)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["text"] for row in rows] == STDIN.split("\n")
    assert [row["label"] for row in rows] == ["positive", rows[1]["label"], "negative",
                                              rows[1]["label"], "positive", "negative",
                                              rows[1]["label"], "positive"]
    # blank, whitespace-only and unknown-word lines: nothing to go on, all alike
    assert rows[1]["probabilities"] == rows[3]["probabilities"] == rows[6]["probabilities"]


def test_predict_plain_output_flags_texts_with_no_known_words(model_file):
    r = run("predict", "--model", model_file, input="wonderful\n\nzzz qqq\n")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("positive\t0.") and "(no known words)" not in lines[0]
    # a blank line and unknown words: the same output, flagged
    assert lines[1] == lines[2] and lines[1].endswith("\t(no known words)")


def test_calibration_folds_one_temperature_into_the_output_layer():
    import scipy.sparse as sp

    from sentiment.nn.network import Network, log_loss_logits
    from sentiment.training.job import calibrate
    from sentiment.training.spool import ShardedRows

    rng = np.random.default_rng(0)
    X = sp.random(400, 30, density=0.2, format="csr", random_state=2, dtype=np.float32)
    net = Network(30, 4, rng, init_scale=1.0)
    z = net.logits(X)
    flip = rng.random(400) < 0.2  # the truth agrees with the sign 80% of the time
    y = ((z > 0) ^ flip).astype(np.float32)
    net.w2 *= 10  # far too sure of itself
    before = log_loss_logits(net.logits(X), y)
    t = calibrate(net, ShardedRows.from_matrix(X, y))
    after = net.logits(X)
    assert t > 1 and log_loss_logits(after, y) < before
    assert ((after > 0) == (z > 0)).all()  # the labels do not move
    np.testing.assert_allclose(after, z * 10 / t, rtol=1e-4, atol=1e-5)
    # the best temperature: a little more or less loses
    def loss_at(temperature):
        return log_loss_logits(z.astype(np.float64) * 10 / temperature, y)

    assert loss_at(t) <= min(loss_at(t * 1.001), loss_at(t / 1.001))


def test_calibration_keeps_the_temperature_within_its_bounds():
    from sentiment.nn.network import Network
    from sentiment.training.job import calibrate_logits

    net = Network(3, 2, np.random.default_rng(0))
    z = np.linspace(-5, 5, 200)
    # labels that agree with the sign of z every time: the best T would be near 0
    assert calibrate_logits(net, z, (z > 0).astype(np.float64)) == pytest.approx(0.05)
    net = Network(3, 2, np.random.default_rng(0))
    # labels unrelated to z: the best T is as large as allowed
    y = (np.arange(200) % 2).astype(np.float64)
    assert calibrate_logits(net, z * 100, y) == pytest.approx(20.0)
