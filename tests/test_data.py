"""The review reader: formats, column and label detection, and every user mistake.

Mistakes go through the real CLI (a subprocess each; variants of a mistake through
``cli.main`` in this process): exit code 2, one line on stderr naming the file (and the
row or column), no traceback, and an existing model file left byte-for-byte as it was.
"""
import gzip
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentiment.errors import SentimentError
from sentiment.io.reader import read_reviews

ROWS = [("a wonderful film, great acting", "positive"),
        ("an awful film", "negative"),
        ('she said "wow", twice', "positive"),
        ("dull\nand long", "negative")]
TEXTS = [text for text, _ in ROWS]
LABELS = [1, 0, 1, 0]


def csv_text(rows=ROWS, header=("review", "sentiment"), sep=","):
    """RFC 4180 text: fields with the separator, a quote or a newline are quoted."""
    def field(v):
        if any(c in v for c in (sep, '"', "\n", "\r")):
            return '"' + v.replace('"', '""') + '"'
        return v
    return "".join(sep.join(field(v) for v in row) + "\n" for row in [header, *rows])


def write(path: Path, text: str | bytes, encoding="utf-8") -> Path:
    data = text.encode(encoding) if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


# -- formats -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, sep", [("r.csv", ","), ("r.tsv", "\t"), ("r.csv.gz", ","),
                                       ("r.tsv.gz", "\t"), ("r.txt", "\t"), ("r", ",")])
def test_reads_csv_tsv_and_gzip(tmp_path, name, sep):
    reviews = read_reviews(write(tmp_path / name, csv_text(sep=sep)))
    assert reviews.texts == TEXTS
    assert reviews.labels.tolist() == LABELS
    assert (reviews.text_column, reviews.label_column) == ("review", "sentiment")
    assert reviews.notes == [f"{tmp_path / name}: text column 'review', label column "
                             "'sentiment' ('positive' -> positive, 'negative' -> negative); "
                             "4 rows"]


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(gzip.compress(csv_text().encode()))
    assert read_reviews(path).texts == TEXTS


def test_quoted_commas_quotes_and_newlines_survive(tmp_path):
    path = write(tmp_path / "r.csv", 'review,sentiment\n"a, b",pos\n"say ""hi""\n'
                 'next line",neg\n"crlf\r\ninside",pos\n')
    assert read_reviews(path).texts == ["a, b", 'say "hi"\nnext line', "crlf\r\ninside"]


def test_windows_line_ends(tmp_path):
    reviews = read_reviews(write(tmp_path / "r.csv", csv_text().replace("\n", "\r\n")))
    assert reviews.texts == [t.replace("\n", "\r\n") for t in TEXTS]
    assert reviews.labels.tolist() == LABELS


@pytest.mark.parametrize("name", ["r.csv", "r.csv.gz", "r.tsv"])
def test_utf8_bom_header_is_found(tmp_path, name):
    sep = "\t" if ".tsv" in name else ","
    reviews = read_reviews(write(tmp_path / name, "\ufeff" + csv_text(sep=sep)))
    assert (reviews.text_column, reviews.label_column) == ("review", "sentiment")
    assert reviews.texts == TEXTS


@pytest.mark.parametrize("spoiled", ["\ufeff\ufeff", "\u00ef\u00bb\u00bf"])
def test_doubled_or_mangled_bom_is_stripped_from_the_header(tmp_path, spoiled):
    reviews = read_reviews(write(tmp_path / "r.csv", spoiled + csv_text()))
    assert reviews.text_column == "review" and reviews.texts == TEXTS


def test_utf16_with_bom_is_read_and_said(tmp_path):
    path = write(tmp_path / "r.tsv", csv_text(sep="\t"), encoding="utf-16")
    reviews = read_reviews(path)
    assert reviews.texts == TEXTS
    assert reviews.notes[0] == f"{path}: read as UTF-16 (it starts with a byte-order mark)"


def test_unicode_text_is_kept(tmp_path):
    rows = [("naïve café ☕ “fine”", "pos"), ("ça m'a déçu 😞", "neg")]
    assert read_reviews(write(tmp_path / "r.csv", csv_text(rows))).texts == \
        [text for text, _ in rows]


# -- columns -----------------------------------------------------------------------------

@pytest.mark.parametrize("text_name", ["review", "text", "sentence", "content", "body",
                                       "comment", "Review", " TEXT "])
@pytest.mark.parametrize("label_name", ["sentiment", "label", "polarity", "class", "target",
                                        "Label"])
def test_column_aliases(tmp_path, text_name, label_name):
    rows = [(str(i), t, lab) for i, (t, lab) in enumerate(ROWS)]
    path = write(tmp_path / "r.csv", csv_text(rows, header=("id", text_name, label_name)))
    reviews = read_reviews(path)
    assert (reviews.text_column, reviews.label_column) == (text_name, label_name)
    assert reviews.texts == TEXTS and reviews.labels.tolist() == LABELS


def test_explicit_columns_win_over_aliases(tmp_path):
    rows = [(t, "ignored text", "positive", lab) for t, lab in ROWS]
    header = ("body_of_review", "review", "sentiment", "stars_as_label")
    path = write(tmp_path / "r.csv", csv_text(rows, header=header))
    reviews = read_reviews(path, text_column="body_of_review", label_column="stars_as_label")
    assert reviews.texts == TEXTS and reviews.labels.tolist() == LABELS
    # a name that differs only in case is accepted
    assert read_reviews(path, text_column="BODY_OF_REVIEW",
                        label_column="Stars_As_Label").texts == TEXTS


def test_labels_are_optional_when_not_needed(tmp_path):
    path = write(tmp_path / "r.csv", "text\nfine\ngood\n")
    reviews = read_reviews(path, need_labels=False)
    assert reviews.texts == ["fine", "good"] and reviews.labels is None
    assert reviews.notes == [f"{path}: text column 'text'; 2 rows"]


# -- labels ------------------------------------------------------------------------------

@pytest.mark.parametrize("spellings", [
    ("positive", "negative"), ("pos", "neg"), ("POSITIVE", "Negative"), ("Pos", "NEG"),
    ("1", "0"), ("true", "false"), ("True", "FALSE"), ("1.0", "0.0"), ("1", "-1"),
    ("yes", "no"), (" positive ", "negative "),
])
def test_label_spellings_map_to_one_and_zero(tmp_path, spellings):
    pos, neg = spellings
    rows = [(t, pos if y else neg) for t, y in zip(TEXTS, LABELS)]
    reviews = read_reviews(write(tmp_path / "r.csv", csv_text(rows)))
    assert reviews.labels.tolist() == LABELS
    assert reviews.labels.dtype == np.int8


def test_mixed_spellings_of_two_labels_are_two_labels(tmp_path):
    rows = [("a", "positive"), ("b", "Positive"), ("c", "pos"), ("d", "NEG"), ("e", "0")]
    reviews = read_reviews(write(tmp_path / "r.csv", csv_text(rows)))
    assert reviews.labels.tolist() == [1, 1, 1, 0, 0]
    assert "('positive' -> positive, 'Positive' -> positive, 'pos' -> positive, " \
           "'NEG' -> negative, '0' -> negative)" in reviews.notes[0]


def test_empty_rows_are_dropped_and_counted(tmp_path):
    text = ("review,sentiment\nfine film,positive\n,negative\n\n   ,positive\n"
            "bad film,\ngood,pos\n")
    path = write(tmp_path / "r.csv", text)
    reviews = read_reviews(path)
    assert reviews.texts == ["fine film", "good"]
    assert reviews.labels.tolist() == [1, 1]
    assert reviews.notes[0] == (f"{path}: dropped 4 rows with an empty text or label "
                                "(rows 3, 4, 5, 6)")
    assert reviews.frame.index.tolist() == [0, 1]


def test_row_numbers_count_rows_not_the_rows_kept(tmp_path):
    path = write(tmp_path / "r.csv", "review,sentiment\n,pos\n,neg\nx,pos\ny,meh\n")
    with pytest.raises(SentimentError, match=r"row 5, column 'sentiment': label 'meh'"):
        read_reviews(path)


SPELLINGS = {"positive": 1, "NEG": 0, "pos": 1, "0": 0, "1": 1, "True": 1}


@settings(max_examples=200, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.text(st.characters(exclude_categories=["Cs"],
                                                     exclude_characters="\x00"),
                                       max_size=30),
                               st.sampled_from(list(SPELLINGS))), min_size=1, max_size=6),
       name=st.sampled_from(["r.csv", "r.tsv", "r.csv.gz"]))
def test_any_text_reads_back_exactly(tmp_path, rows, name):
    path = write(tmp_path / name, csv_text(rows, sep="\t" if ".tsv" in name else ","))
    kept = [(text, SPELLINGS[label]) for text, label in rows if text.strip()]
    if not kept:
        with pytest.raises(SentimentError, match="every row has an empty text or label"):
            read_reviews(path)
        return
    reviews = read_reviews(path)
    assert reviews.texts == [text for text, _ in kept]
    assert reviews.labels.tolist() == [label for _, label in kept]


# -- user mistakes through the real CLI --------------------------------------------------

EXISTING = b"an existing model file that must survive a failed run\n"
LATIN1 = "review,sentiment\ncaf\u00e9 tr\u00e8s bon,positive\nna\u00efve and awful,negative\n"
CP1252 = "review,sentiment\n\u201cgreat\u201d film,positive\nawful \u2013 dull,negative\n"


def run(*args, cwd=None, input=None):
    return subprocess.run([sys.executable, "-m", "sentiment", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, input=input, timeout=120)


def run_all(calls: list[tuple]) -> list[subprocess.CompletedProcess]:
    """Run many CLI calls at once: each is a separate process (the real CLI), in parallel."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda args: run(*args), calls))


def existing_model(folder: Path) -> Path:
    """A model path holding bytes a failed run must not touch."""
    path = folder / "out" / "model.npz"
    path.parent.mkdir()
    path.write_bytes(EXISTING)
    return path


@pytest.fixture
def model(tmp_path) -> Path:
    return existing_model(tmp_path)


def small_truncated_gz(d: Path) -> Path:
    path = d / "r.csv.gz"
    path.write_bytes(gzip.compress(csv_text().encode())[:30])
    return path


def big_truncated_gz(path: Path) -> Path:
    """A .gz whose first 64 KB decompress fine and whose end is cut off."""
    rng = np.random.default_rng(0)
    words = np.array(["good", "bad", "film", "plot", "actor", "scene", "dull", "fun"])
    lines = ["review,sentiment"] + [" ".join(rng.choice(words, 30)) + ",positive"
                                    for _ in range(4000)]
    data = gzip.compress("\n".join(lines).encode())
    path.write_bytes(data[:int(len(data) * 0.8)])
    return path


def big_latin1(path: Path) -> Path:
    """ASCII for the first 64 KB and more, then one latin-1 byte."""
    rows = "".join(f"plain ascii review number {i},positive\n" for i in range(3000))
    path.write_bytes(("review,sentiment\n" + rows + "caf\u00e9,negative\n").encode("latin-1"))
    return path


def mixed_encodings(path: Path) -> Path:
    """UTF-8 for the first 64 KB and more, then seven cp1252 rows among UTF-8 ones."""
    rows = "".join(f"plain review number {i} \u2013 fine,positive\n" for i in range(3000))
    data = ("review,sentiment\n" + rows).encode("utf-8")
    for i in range(7):
        data += f"row {i} \u201cquoted\u201d,negative\n".encode("cp1252")
        data += "caf\u00e9 in UTF-8,positive\n".encode("utf-8")
    path.write_bytes(data)
    return path


def write_to(name, content, encoding="utf-8"):
    return lambda d: write(d / name, content, encoding)


def make_dir(d):
    (d / "reviews").mkdir()
    return d / "reviews"


def binary(d):
    path = d / "reviews.csv"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    return path


def xlsx(d):
    path = d / "reviews.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(200))
    return path


def many_labels(d):
    rows = [(f"review {i}", f"value{i}") for i in range(12)]
    return write(d / "r.csv", csv_text(rows))


# (id, make the file, extra arguments, the message after "error: <file>: ")
MISTAKES = [
    ("missing", lambda d: d / "nope.csv", [], "no such file; check the path"),
    ("directory", make_dir, [], "is a directory; pass a CSV or TSV file"),
    ("empty", write_to("r.csv", ""), [],
     "the file is empty; it needs a header row and one review per row"),
    ("blank lines only", write_to("r.csv", "\n \n\n"), [],
     "the file is empty; it needs a header row and one review per row"),
    ("header only", write_to("r.csv", "review,sentiment\n"), [],
     "has a header but no rows; add one review per row"),
    ("header only gz", write_to("r.csv.gz", "review,sentiment\n"), [],
     "has a header but no rows; add one review per row"),
    ("blank first line", write_to("r.csv", "\nreview,sentiment\na,pos\n"), [],
     "line 1 is blank; the first line must be the header (the column names)"),
    ("no text column", write_to("r.csv", "id,stars,body2\n1,2,3\n"), [],
     "no text column (found: id, stars, body2); name it with --text-column"),
    ("no text column, BOM", write_to("r.csv", "\ufeffid,stars,body2\n1,2,3\n"), [],
     "no text column (found: id, stars, body2); name it with --text-column"),
    ("no text column, mangled BOM",
     write_to("r.csv", "\u00ef\u00bb\u00bfid,stars,body2\n1,2,3\n"), [],
     "no text column (found: id, stars, body2); name it with --text-column"),
    ("no label column", write_to("r.csv", "review,stars\ngood,9\n"), [],
     "no label column (found: review, stars); name it with --label-column"),
    ("unknown --text-column", write_to("r.csv", csv_text()), ["--text-column", "body"],
     "no column 'body' (found: review, sentiment); check --text-column"),
    ("unknown --label-column", write_to("r.csv", csv_text()), ["--label-column", "stars"],
     "no column 'stars' (found: review, sentiment); check --label-column"),
    ("three labels", write_to("r.csv", csv_text(
        [("a", "positive"), ("b", "positive"), ("c", "positive"), ("d", "negative"),
         ("e", "negative"), ("f", "neutral")])), [],
     "column 'sentiment' has 3 values ('positive': 3, 'negative': 2, 'neutral': 1); "
     "a label column needs two (positive/negative): train with --multiclass to keep "
     "every value as a class, or --stars for a rating, or pick another column with "
     "--label-column"),
    ("twelve labels", many_labels, [],
     "column 'sentiment' has 12 values ('value0': 1, 'value1': 1, 'value2': 1, "
     "'value3': 1, 'value4': 1, 'value5': 1, 'value6': 1, 'value7': 1, 'value8': 1, "
     "'value9': 1, and 2 more); a label column needs two (positive/negative): train "
     "with --multiclass to keep every value as a class, or --stars for a rating, or pick "
     "another column with --label-column"),
    ("bad label", write_to("r.csv", csv_text([("a", "positive"), ("b", "Positive"),
                                              ("c", "good"), ("d", "positive")])), [],
     "row 4, column 'sentiment': label 'good' is not one of positive/negative, pos/neg, "
     "1/0, true/false; fix it or pick another column with --label-column"),
    ("typo among two labels", write_to("r.csv", csv_text(
        [("a", "positive"), ("b", "negative"), ("c", "Positive"), ("d", "postive")])), [],
     "column 'sentiment' has 4 values ('positive': 1, 'negative': 1, 'Positive': 1, "
     "'postive': 1); a label column needs two (positive/negative): train with "
     "--multiclass to keep every value as a class, or --stars for a rating, or pick "
     "another column with "
     "--label-column"),
    ("all rows empty", write_to("r.csv", "review,sentiment\n,positive\n  ,negative\n"), [],
     "every row has an empty text or label (2 rows, columns 'review' and 'sentiment'); "
     "check the file or name the columns with --text-column and --label-column"),
    ("truncated gz", small_truncated_gz, [],
     "the gzip data is truncated or damaged (Compressed file ended before the "
     "end-of-stream marker was reached); download or compress the file again"),
    ("truncated gz after 64 KB", lambda d: big_truncated_gz(d / "r.csv.gz"), [],
     "the gzip data is truncated or damaged (Compressed file ended before the "
     "end-of-stream marker was reached); download or compress the file again"),
    ("binary", binary, [], "is not a text file (it holds binary data); pass a CSV or TSV "
     "file"),
    ("xlsx", xlsx, [], "is a zip archive (an Excel .xlsx file, say), not CSV or TSV text; "
     "export or unzip it to CSV"),
    ("extra field in row 2", write_to("r.csv", "review,sentiment\ngreat, fun,positive\n"
                                      "bad,negative\n"), [],
     "row 2 has 3 fields but the header has 2; put reviews that contain commas in "
     "double quotes"),
    ("extra field in row 3", write_to("r.csv", "review,sentiment\nbad,negative\n"
                                      "great, fun,positive\n"), [],
     "row 3 has 3 fields but the header has 2; put reviews that contain commas in "
     "double quotes"),
    ("unclosed quote", write_to("r.csv", 'review,sentiment\na,pos\n"b,neg\nc,pos\n'), [],
     'row 3: a quoted field never ends (an unpaired "); close the quote, or double a '
     'quote inside a quoted field ("")'),
    ("unclosed quote tsv", write_to("r.tsv", 'review\tsentiment\na\tpos\n"b\tneg\n'), [],
     'row 3: a quoted field never ends (an unpaired "); close the quote, or double a '
     'quote inside a quoted field ("")'),
    ("latin-1", write_to("r.csv", LATIN1, "latin-1"), [],
     "is not UTF-8 (byte 0xe9 on line 2); pass its encoding, e.g. --encoding latin-1"),
    ("cp1252", write_to("r.csv", CP1252, "cp1252"), [],
     "is not UTF-8 (byte 0x93 on line 2); pass its encoding, e.g. --encoding cp1252"),
    ("latin-1 after 64 KB", lambda d: big_latin1(d / "r.csv"), [],
     "is not UTF-8 on 1 line after the first 64 KB (line 3002; byte 0xe9): pass its "
     "encoding, e.g. --encoding latin-1, or convert those lines"),
    ("mixed encodings", lambda d: mixed_encodings(d / "r.csv"), [],
     "mixes encodings: 7 lines (lines 3002, 3004, 3006, 3008, 3010, ...; byte 0x93) are "
     "not UTF-8, 3,007 others are; convert those lines to UTF-8 (reading it all as cp1252 "
     "would garble the others)"),
    ("unknown --encoding", write_to("r.csv", csv_text()), ["--encoding", "klingon"],
     "unknown encoding 'klingon'; pass a name such as utf-8, cp1252 or latin-1 to "
     "--encoding"),
    ("BOM but --encoding latin-1", write_to("r.csv", "\ufeff" + csv_text()),
     ["--encoding", "latin-1"],
     "starts with a UTF-8 byte-order mark, so it is not latin-1; leave out --encoding"),
]


# Variants of a mistake above that a subprocess already covers: run through cli.main in
# this process (the same parsing and error handling, without 0.5 s of start-up each).
IN_PROCESS = {"blank lines only", "header only gz", "no text column, mangled BOM",
              "no label column", "unknown --text-column", "unknown --label-column",
              "twelve labels", "typo among two labels", "truncated gz after 64 KB", "xlsx",
              "extra field in row 3", "unclosed quote tsv", "cp1252", "latin-1 after 64 KB",
              "unknown --encoding", "BOM but --encoding latin-1", "blank first line"}


def run_in_process(args, capsys) -> subprocess.CompletedProcess:
    from sentiment.cli import main
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


@pytest.fixture(scope="module")
def mistakes(tmp_path_factory) -> dict:
    """Each mistake's file and model: id -> (file, model, extra arguments, subprocess
    result, None for the IN_PROCESS ones). The subprocesses run concurrently."""
    cases = {}
    for case_id, make, extra, _ in MISTAKES:
        folder = tmp_path_factory.mktemp("mistake")
        cases[case_id] = (make(folder), existing_model(folder), extra)
    spawned = [k for k in cases if k not in IN_PROCESS]
    results = dict(zip(spawned, run_all([("train", cases[k][0], "--model", cases[k][1],
                                          *cases[k][2]) for k in spawned])))
    return {k: (*case, results.get(k)) for k, case in cases.items()}


@pytest.mark.parametrize("case_id, message", [(m[0], m[3]) for m in MISTAKES],
                         ids=[m[0] for m in MISTAKES])
def test_mistake_is_one_line_and_keeps_the_model(mistakes, capsys, case_id, message):
    path, model, extra, r = mistakes[case_id]
    if r is None:
        r = run_in_process(["train", path, "--model", model, *extra], capsys)
    assert "Traceback" not in r.stderr
    assert r.returncode == 2
    assert r.stderr == f"error: {path}: {message}\n"
    assert r.stdout == ""
    assert model.read_bytes() == EXISTING
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.npz"]


def test_one_class_is_refused_after_saying_what_was_read(tmp_path, model):
    path = write(tmp_path / "r.csv", "review,sentiment\ngood,positive\nfine,pos\n")
    r = run("train", path, "--model", model)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"{path}: text column 'review', label column 'sentiment' ('positive' -> positive, "
        "'pos' -> positive); 2 rows",
        f"error: {path}: every label is positive (2 rows); training needs both positive "
        "and negative reviews"]
    assert model.read_bytes() == EXISTING


@pytest.mark.parametrize("where, message", [
    ("missing/model.npz", "folder {d}/missing does not exist; create it or choose another "
                          "--model"),
    ("out", "is a directory; pass a file name to --model"),
])
def test_unwritable_model_path_fails_before_reading(tmp_path, model, where, message):
    target = tmp_path / where
    r = run("train", write(tmp_path / "r.csv", csv_text()), "--model", target)
    assert r.returncode == 2
    # one line and nothing else: the review file was not even read
    assert r.stderr == f"error: {target}: {message.format(d=tmp_path)}\n"
    assert r.stdout == ""
    assert model.read_bytes() == EXISTING


def test_bad_test_file_fails_before_training(tmp_path, model):
    r = run("train", write(tmp_path / "r.csv", csv_text()), "--test", tmp_path / "nope.csv",
            "--model", model)
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == f"error: {tmp_path / 'nope.csv'}: no such file; " \
                                        "check the path"
    assert r.stdout == "" and model.read_bytes() == EXISTING


# -- encodings that work once named ------------------------------------------------------

TRAINABLE = "".join(f"{t} {i},{lab}\n" for i in range(4) for t, lab in
                    [("caf\u00e9 tr\u00e8s bon", "positive"), ("na\u00eff awful", "negative")])


def test_named_encoding_trains_without_mangling(tmp_path):
    path = write(tmp_path / "r.csv", "review,sentiment\n" + TRAINABLE, "latin-1")
    model = tmp_path / "m.npz"
    r = run("train", path, "--model", model, "--encoding", "latin-1", "--epochs", "1",
            "--min-count", "1", "--val-fraction", "0")
    assert r.returncode == 0, r.stderr
    assert f"{path}: read as latin-1 (--encoding)" in r.stderr.splitlines()
    from sentiment.model.model import Model
    words = Model.load(model).vocab.words
    assert {"café", "très", "naïf"} <= set(words)


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "ISO-8859-1", "l1"])
def test_named_encoding_reads_exactly(tmp_path, encoding):
    path = write(tmp_path / "r.csv", LATIN1, "latin-1")
    reviews = read_reviews(path, encoding=encoding)
    assert reviews.texts == ["caf\u00e9 tr\u00e8s bon", "na\u00efve and awful"]
    assert reviews.notes[0] == f"{path}: read as {encoding} (--encoding)"


def test_utf8_read_as_latin1_is_warned(tmp_path):
    path = write(tmp_path / "r.csv", "review,sentiment\n" + TRAINABLE)
    reviews = read_reviews(path, encoding="latin-1")
    assert reviews.notes[:2] == [
        f"{path}: read as latin-1 (--encoding)",
        f"{path}: warning: the file looks like UTF-8; read as latin-1, its accented "
        "letters come out garbled"]


def test_cp1252_read_as_latin1_is_warned(tmp_path):
    path = write(tmp_path / "r.csv", CP1252, "cp1252")
    assert read_reviews(path, encoding="latin-1").notes[1] == (
        f"{path}: warning: bytes 0x80-0x9f are control characters in latin-1; the file is "
        "probably cp1252 (--encoding cp1252)")
    assert read_reviews(path, encoding="cp1252").texts == ["\u201cgreat\u201d film",
                                                           "awful \u2013 dull"]


# -- predict and evaluate with a model that is not there or not a model ------------------

HINT = "train one with 'python -m sentiment train' or pass --model"
BAD_MODELS = {"missing": f"no such model file; {HINT}",
              "directory": f"is a directory, not a model file; {HINT}",
              "garbage": f"not a model file (it is not an .npz archive); {HINT}",
              "empty": f"not a model file (it is empty); {HINT}"}


@pytest.fixture(scope="module")
def bad_model_runs(tmp_path_factory) -> dict:
    """predict and evaluate with each kind of bad model: (command, kind) -> (path, result)."""
    folder = tmp_path_factory.mktemp("bad-models")
    reviews = write(folder / "r.csv", csv_text())
    paths = {kind: folder / f"{kind}.npz" for kind in BAD_MODELS}
    paths["directory"].mkdir()
    paths["garbage"].write_bytes(b"this is not a model\n" * 10)
    paths["empty"].write_bytes(b"")
    keys = [("predict", kind) for kind in BAD_MODELS] + [("evaluate", "missing"),
                                                         ("evaluate", "garbage")]
    results = run_all([(command, "good film" if command == "predict" else reviews,
                        "--model", paths[kind]) for command, kind in keys])
    return {key: (paths[key[1]], r) for key, r in zip(keys, results)}


@pytest.mark.parametrize("command, kind", [("predict", kind) for kind in BAD_MODELS]
                         + [("evaluate", "missing"), ("evaluate", "garbage")])
def test_unreadable_model(bad_model_runs, command, kind):
    path, r = bad_model_runs[command, kind]
    assert r.returncode == 2
    assert r.stderr == f"error: {path}: {BAD_MODELS[kind]}\n"
    assert r.stdout == ""


@pytest.mark.parametrize("flags, message", [
    (["--seed", "-1"], "--seed must be between 0 and 4294967295; got -1"),
    (["--l2", "-1", "--optimizer", "sgd"], "--l2 must be at least 0; got -1.0"),
    (["--init-scale", "nan"], "--init-scale must be a finite number; got nan"),
    (["--polarity-cutoff", "nan"], "--polarity-cutoff must be a finite number; got nan"),
    (["--hidden", str(10**12)], "--hidden must be between 1 and 4096; got 1000000000000"),
    (["--lr", "0"], "--lr must be more than 0; got 0.0"),
    (["--dropout", "1"], "--dropout must be below 1; got 1.0"),
    (["--kernel", "dense"], "--kernel 'dense' trains one review at a time with plain SGD"),
])
def test_a_bad_setting_names_its_flag(tmp_path, capsys, flags, message):
    from sentiment.cli import main

    path = write(tmp_path / "r.csv", csv_text())
    assert main(["train", str(path), "--model", str(tmp_path / "m.npz"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "m.npz").exists()


def test_an_output_never_overwrites_an_input(tmp_path, capsys):
    from sentiment.cli import main

    data = write(tmp_path / "r.csv", csv_text())
    before = data.read_bytes()
    model = tmp_path / "m.npz"
    cases = [
        (["train", str(data), "--model", str(data)],
         "--model would overwrite the training file; choose another --model"),
        (["train", str(data), "--test", str(tmp_path / "." / "r.csv"), "--model",
          str(tmp_path / "r.csv")], "--model would overwrite the training file"),
        (["train", str(data), "--model", str(model), "--log", str(model)],
         "--log would overwrite the --model output; choose another --log"),
        (["predict", "--file", str(data), "--model", str(model), "--output", str(data)],
         "--output would overwrite the --file; choose another --output"),
        (["predict", "--file", str(data), "--model", str(model), "--output", str(model)],
         "--output would overwrite the model; choose another --output"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
        assert data.read_bytes() == before and not model.exists()


def test_train_into_a_closed_pipe_still_saves_the_model(tmp_path):
    import subprocess
    import sys

    data = write(tmp_path / "r.csv", csv_text())
    model = tmp_path / "m.npz"
    proc = subprocess.Popen([sys.executable, "-m", "sentiment", "train", str(data), "--model",
                             str(model), "--min-count", "1", "--epochs", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader has left before the first line, as `| head -0` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "error: stdout failed (Broken pipe); the model was saved to" in err
    assert "Traceback" not in err and model.exists()
    assert oct(model.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("sep, name, word", [("\t", "r.csv", "tab"), (";", "r.csv", "semicolon"),
                                             (";", "r.txt", None), (",", "r.tsv", "comma")])
def test_the_header_decides_the_separator_whatever_the_name(tmp_path, sep, name, word):
    reviews = read_reviews(write(tmp_path / name, csv_text(sep=sep)))
    assert reviews.texts == TEXTS and reviews.labels.tolist() == LABELS
    said = [n for n in reviews.notes if "-separated" in n]
    assert said == ([f"{tmp_path / name}: read as {word}-separated (the header line has 1 "
                     f"{word}), whatever its name says"] if word else [])
