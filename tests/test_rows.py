"""The spool that holds encoded rows between passes, in memory and on disk."""
import numpy as np
import pytest

from sentiment.training.spool import ShardedRows, Spool


def _chunk(rng, n):
    return {"a": rng.integers(0, 1000, n).astype(np.int32), "b": rng.random(n),
            "c": rng.integers(0, 2, n + 3).astype(np.uint8)}


@pytest.mark.parametrize("budget", [0, 10**9])
def test_groups_read_back_the_same_in_memory_and_on_disk(tmp_path, budget):
    rng = np.random.default_rng(0)
    chunks = {f"chunk{i}": _chunk(rng, n) for i, n in enumerate([5, 0, 17, 1])}
    with Spool(budget, tmp_path) as spool:
        for key, arrays in chunks.items():
            spool.put(key, arrays)
        assert (spool.dir is not None) == (budget == 0)
        if spool.dir is not None:  # groups put once share a file
            assert [p.name for p in spool.dir.iterdir()] == ["part1.bin"]
        for key, arrays in chunks.items():
            got = spool.get(key)
            for name, a in arrays.items():
                np.testing.assert_array_equal(got[name], a)
                assert got[name].dtype == a.dtype
                np.testing.assert_array_equal(spool.read(key, name, 1, 4), a[1:4])
        popped = spool.pop("chunk2")
        for name, a in chunks["chunk2"].items():
            np.testing.assert_array_equal(popped[name], a)
        if spool.dir is not None:  # the file stays while it holds other groups
            assert spool.on_disk == (spool.dir / "part1.bin").stat().st_size
            spool.discard("chunk0")
            np.testing.assert_array_equal(spool.pop("chunk3")["b"], chunks["chunk3"]["b"])
            spool.pop("chunk1")
            assert spool.on_disk == 0 and "chunk1" not in spool.keys()
        folder = spool.dir
    assert folder is None or not folder.exists()


def test_a_group_spilled_after_several_puts_and_a_growing_group(tmp_path):
    rng = np.random.default_rng(1)
    first, second, third = _chunk(rng, 4), _chunk(rng, 6), _chunk(rng, 3)
    big = {"a": np.zeros(1000, np.int32)}
    with Spool(200, tmp_path) as spool:
        spool.put("once", first)
        spool.put("once", second)  # in memory: a second put appends
        spool.put("shard", first, grows=True)
        spool.put("big", big)  # past the budget: everything goes to disk
        assert spool.dir is not None
        spool.put("shard", third, grows=True)  # appended to its files on disk
        spool.put("once", third)  # put twice already: it grows
        got, shard = spool.get("once"), spool.pop("shard")
        for name in first:
            np.testing.assert_array_equal(got[name], np.concatenate([first[name],
                                                                     second[name],
                                                                     third[name]]))
            np.testing.assert_array_equal(shard[name], np.concatenate([first[name],
                                                                       third[name]]))
        assert not any(p.name.startswith("shard") for p in spool.dir.iterdir())


def test_shards_without_open_files_left(tmp_path):
    """Past the process's limit of open files, a shard's file is opened for each append."""
    rng = np.random.default_rng(2)
    X = rng.integers(0, 2, (300, 40)).astype(np.float32)
    import scipy.sparse as sp

    m = sp.csr_matrix(X)
    y = rng.integers(0, 2, 300).astype(np.float32)
    for max_open in (0, 1000):
        with Spool(0, tmp_path) as spool:
            spool._max_open = max_open
            rows = ShardedRows(spool, 7, 40)
            for lo in range(0, 300, 50):
                part = m[lo:lo + 50]
                rows.scatter(np.random.default_rng(lo), part.indptr, part.indices, part.data,
                             y[lo:lo + 50])
            assert len(spool._files) == min(max_open, 7 * 4)
            got = sorted(tuple(r) + (lab,) for Xs, ys in rows.parts(rows=9)
                         for r, lab in zip(Xs.toarray(), ys))
        assert got == sorted(tuple(r) + (lab,) for r, lab in zip(X, y))


def test_a_key_put_again_grows_wherever_it_is(tmp_path):
    """A second put of a key (not marked growing) appends, whether it is in memory, crosses
    the budget, or is already in one file on disk."""
    a = {"x": np.arange(10, dtype=np.int64)}
    b = {"x": np.arange(10, 25, dtype=np.int64)}
    c = {"x": np.arange(25, 27, dtype=np.int64)}
    with Spool(100, tmp_path) as spool:
        spool.put("k", a)  # 80 bytes: in memory
        spool.put("k", b)  # crosses the budget: the spill and this put both kept
        assert spool.dir is not None
        spool.put("once", {"y": np.arange(6).reshape(2, 3)})  # one file; 6 elements
        spool.put("once", c)  # rewritten as a file per array, then appended to
        np.testing.assert_array_equal(spool.get("k")["x"], np.arange(25))
        np.testing.assert_array_equal(spool.read("once", "y", 0, 10), np.arange(6))
        np.testing.assert_array_equal(spool.pop("once")["x"], np.arange(25, 27))


def test_groups_put_once_fill_shared_files_each_removed_with_its_last_group(tmp_path,
                                                                         monkeypatch):
    import sentiment.training.cachefiles as cachefiles

    monkeypatch.setattr(cachefiles, "SEGMENT_BYTES", 1000)
    rng = np.random.default_rng(3)
    chunks = {f"c{i}": {"a": rng.integers(0, 9, 60).astype(np.int64),
                        "b": rng.integers(0, 9, 7).astype(np.int8)} for i in range(6)}
    with Spool(0, tmp_path) as spool:
        for key, arrays in chunks.items():
            spool.put(key, arrays)
        files = sorted(p.name for p in spool.dir.iterdir())
        assert files == ["part1.bin", "part2.bin", "part3.bin"]  # two 576-byte groups each
        spool.discard("c0")
        got = spool.pop("c1")
        np.testing.assert_array_equal(got["a"], chunks["c1"]["a"])
        np.testing.assert_array_equal(got["b"], chunks["c1"]["b"])
        spool._bin.shutdown(wait=True)
        spool._bin = None
        assert sorted(p.name for p in spool.dir.iterdir()) == ["part2.bin", "part3.bin"]
        assert spool.on_disk == 4 * 576
        for key in ["c2", "c3", "c4", "c5"]:
            np.testing.assert_array_equal(spool.get(key)["a"], chunks[key]["a"])
            np.testing.assert_array_equal(spool.pop(key)["b"], chunks[key]["b"])
        assert spool.on_disk == 0
