"""Text from anywhere (issue 30): the defaults against the peers on the development sets of
languages written without spaces (Chinese, Japanese, Thai) and of tweets with emoticons.

For each set in ``DATA/dev`` (``zh_nlpcc14``, ``ja_jrte_pn``, ``th_wisesight``,
``en_sentistrength_twitter``; its README says what each holds), every system trains on
``train.csv`` alone and is scored on ``test.csv``; ``valid.csv``, where a set has one, only
chooses logistic regression's settings (without one, a seeded 10% of the training rows do),
and the test file chooses nothing:

* ours: ``python -m sentiment train TRAIN --test TEST`` as a user runs it (``--multiclass``
  where the set has more than two classes), ``--seed`` from ``--seeds``;
* fastText (``fasttext``), bigrams, dim 10, 5 epochs, lr 0.5, 2 threads, softmax, and
  Vowpal Wabbit (``vowpalwabbit``), logistic loss, 2^24 hashed features, bigrams, 1 pass
  (``--oaa K`` for K classes): the settings and preprocessing of
  :mod:`sentiment.lab.peers` (lower-cased, ``<br />`` dropped, ASCII punctuation split off,
  then split on whitespace, as each is normally fed), training rows shuffled with the seed.
  For Chinese, Japanese and Thai that leaves a clause or a phrase one token, which is how a
  user runs them; ``--spaced-peers`` also scores them on text with each character of those
  scripts spaced apart (the ``chars`` preprocessing below), said so in the table;
* scikit-learn's LogisticRegression (lbfgs) on tf-idf (sublinear) of word 1-1/1-2-grams
  and, apart, of character 1-2/1-3-grams (``analyzer="char"``), the n-gram range and C
  chosen on the validation rows; "best LR" is the better of the two on the test file (the
  issue's bar: the better of the two).

A peer whose package is not importable is left out, with a note (install them where you
benchmark: ``pip install fasttext vowpalwabbit``; they are never dependencies).

``--variants`` also trains ours on texts rewritten in Python before training, to emulate
the tokenizers the issue considers (scripts without spaces: characters spaced apart,
character bigrams, runs of one script, ...; social text: emoticons, emoji, mentions and
URLs, elongated words): see :data:`VARIANTS`. The rewritten files go to a temporary
folder, never into the repository. Usage::

    SENTIMENT_DATA=../shared/data python scripts/languages.py [--sets zh_nlpcc14 ...]
        [--seeds 0 1 2] [--variants] [--spaced-peers] [--out docs/languages.md]
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from sentiment.lab.scripts import write_report

SETS = ("zh_nlpcc14", "ja_jrte_pn", "th_wisesight", "en_sentistrength_twitter")
C_GRID = (0.3, 1.0, 3.0, 10.0)
WORD_RANGES = ((1, 1), (1, 2))
CHAR_RANGES = ((1, 2), (1, 3))

# --- the data -------------------------------------------------------------------------


def read_rows(path: Path) -> tuple[list[str], list[str]]:
    """Texts and labels (as written) of one split file."""
    opener = gzip.open if path.name.endswith(".gz") else open
    texts, labels = [], []
    with opener(path, "rt", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            texts.append(row["text"])
            labels.append(row["label"])
    return texts, labels


def split_file(folder: Path, name: str) -> Path | None:
    for suffix in (".csv", ".csv.gz"):
        if (folder / (name + suffix)).is_file():
            return folder / (name + suffix)
    return None


class DevSet:
    """One development set: its files and rows."""

    def __init__(self, folder: Path):
        self.name = folder.name
        self.train_path = split_file(folder, "train")
        self.test_path = split_file(folder, "test")
        self.valid_path = split_file(folder, "valid")
        if self.train_path is None or self.test_path is None:
            raise SystemExit(f"error: {folder}: no train.csv or test.csv")
        self.train = read_rows(self.train_path)
        self.test = read_rows(self.test_path)
        self.valid = read_rows(self.valid_path) if self.valid_path else None
        self.classes = sorted(set(self.train[1]))
        top = Counter(self.train[1]).most_common(1)[0][0]
        self.majority = self.test[1].count(top) / len(self.test[1])
        self.majority_class = top

    def __repr__(self) -> str:
        return f"DevSet({self.name!r}, train={len(self.train[0])}, test={len(self.test[0])})"


def write_csv(path: Path, texts: list[str], labels: list[str]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(zip(texts, labels))
    return path


# --- ours, through the command line ---------------------------------------------------


def ours(train: Path, test: Path, multiclass: bool, seed: int, tmp: Path,
         flags: tuple[str, ...] = ()) -> float:
    """``python -m sentiment train TRAIN --test TEST``: its test accuracy."""
    cmd = [sys.executable, "-m", "sentiment", "train", str(train), "--test", str(test),
           "--model", str(tmp / "languages-model.npz"), "--json", "-q", "--seed", str(seed),
           *(["--multiclass"] if multiclass else []), *flags]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"error: {' '.join(cmd)} failed:\n{done.stderr}")
    return [json.loads(x) for x in done.stdout.splitlines() if "test_accuracy" in x][0][
        "test_accuracy"]


# --- the peers ------------------------------------------------------------------------


def importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def peer_text(text: str) -> str:
    """The peers' preprocessing in :mod:`sentiment.lab.peers`: lower-cased, ``<br />``
    dropped, ASCII punctuation split off, whitespace collapsed."""
    text = re.sub(r"<br\s*/?>", " ", text.lower())
    text = re.sub(r"([!?.,;:()\"])", r" \1 ", text)
    return " ".join(text.split())


def shuffled(texts, labels, seed: int) -> list[tuple[str, str]]:
    rows = list(zip(texts, labels))
    random.Random(seed).shuffle(rows)  # a file sorted by label defeats online learners
    return rows


def fasttext_accuracy(train, test, seed: int, tmp: Path) -> float:
    import fasttext

    path = tmp / "fasttext.train"
    with open(path, "w", encoding="utf-8") as f:
        for t, y in shuffled(*train, seed):
            f.write(f"__label__{y} {peer_text(t)}\n")
    m = fasttext.train_supervised(str(path), wordNgrams=2, dim=10, epoch=5, lr=0.5,
                                  thread=2, verbose=0, seed=seed)
    predicted, _ = m.predict([peer_text(t) for t in test[0]])
    return float(np.mean([p[0] == f"__label__{y}" for p, y in zip(predicted, test[1])]))


def vw_accuracy(train, test, seed: int, classes: list[str]) -> float:
    import vowpalwabbit

    def clean(t: str) -> str:
        return peer_text(t).replace(":", ";").replace("|", "/")

    k = len(classes)
    options = f"--loss_function logistic -b 24 --ngram 2 --quiet --random_seed {seed}"
    if k > 2:
        options += f" --oaa {k}"
        code = {c: i + 1 for i, c in enumerate(classes)}
    else:
        code = {classes[0]: -1, classes[1]: 1}
    ws = vowpalwabbit.Workspace(options)
    for t, y in shuffled(*train, seed):
        ws.learn(f"{code[y]} | {clean(t)}")
    right = 0
    for t, y in zip(*test):
        p = ws.predict(f"| {clean(t)}")
        right += (p == code[y]) if k > 2 else ((p > 0) == (code[y] > 0))
    ws.finish()
    return right / len(test[1])


def logistic(train, valid, test, kind: str, seed: int) -> dict:
    """LogisticRegression on tf-idf word or character n-grams: the n-gram range and C
    chosen on ``valid`` (or a seeded 10% of the training rows), then fitted on the
    training rows and scored once on ``test``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, labels = train[0], np.asarray(train[1])
    if valid is None:
        held = np.random.default_rng(seed).random(len(texts)) < 0.1
        fit_texts = [t for t, h in zip(texts, held) if not h]
        fit_y = labels[~held]
        val_texts, val_y = [t for t, h in zip(texts, held) if h], labels[held]
    else:
        fit_texts, fit_y, val_texts, val_y = texts, labels, valid[0], np.asarray(valid[1])

    def vectorizer(ngram_range):
        if kind == "word":
            return TfidfVectorizer(ngram_range=ngram_range, sublinear_tf=True)
        return TfidfVectorizer(analyzer="char", ngram_range=ngram_range, sublinear_tf=True)

    best = None
    for ngram_range in (WORD_RANGES if kind == "word" else CHAR_RANGES):
        vec = vectorizer(ngram_range)
        X, X_val = vec.fit_transform(fit_texts), vec.transform(val_texts)
        for c in C_GRID:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf = LogisticRegression(C=c, max_iter=1000).fit(X, fit_y)
            acc = float(np.mean(clf.predict(X_val) == val_y))
            if best is None or acc > best[0]:
                best = (acc, ngram_range, c)
    _, ngram_range, c = best
    vec = vectorizer(ngram_range)
    X = vec.fit_transform(texts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=c, max_iter=1000).fit(X, labels)
    acc = float(np.mean(clf.predict(vec.transform(test[0])) == np.asarray(test[1])))
    return {"accuracy": acc, "ngrams": f"{ngram_range[0]}-{ngram_range[1]}", "C": c}


# --- rewriting texts: the candidate tokenizers, emulated ------------------------------

#: Scripts written without spaces between words (Unicode blocks): Thai, Lao, Myanmar,
#: Khmer, Hiragana, Katakana (with the phonetic extensions and half-width forms), Han
#: (with extension A, the compatibility ideographs and the supplementary planes) and the
#: iteration marks. Hangul is written with spaces and is not here.
NO_SPACE_RANGES = {
    "thai": ((0x0E00, 0x0E7F),), "lao": ((0x0E80, 0x0EFF),), "myanmar": ((0x1000, 0x109F),),
    "khmer": ((0x1780, 0x17FF),), "hiragana": ((0x3040, 0x309F),),
    "katakana": ((0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)),
    "han": ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0xF900, 0xFAFF), (0x20000, 0x2FFFF),
            (0x3005, 0x3007)),
}
NO_SPACE = re.compile("[" + "".join(
    f"{chr(lo)}-{chr(hi)}" for ranges in NO_SPACE_RANGES.values()
    for lo, hi in ranges) + "]+")


def script_of(char: str) -> str:
    code = ord(char)
    for name, ranges in NO_SPACE_RANGES.items():
        if any(lo <= code <= hi for lo, hi in ranges):
            return name
    return "other"


def units(run: str, clusters: bool = False) -> list[str]:
    """The characters of a run; with ``clusters``, a combining mark (Thai vowel and tone
    marks, ...) stays with the character before it."""
    if not clusters:
        return list(run)
    out: list[str] = []
    for ch in run:
        if out and unicodedata.category(ch) in ("Mn", "Mc"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def grams(u: list[str], n: int) -> list[str]:
    return ["".join(u[i:i + n]) for i in range(len(u) - n + 1)]


def spaced(text: str, clusters: bool = False) -> str:
    """(a) each character of a script without spaces a word of its own."""
    return NO_SPACE.sub(lambda m: " " + " ".join(units(m.group(), clusters)) + " ", text)


def bigram_words(text: str) -> str:
    """(b) each run of such a script as its overlapping character bigrams (a run of one
    character stays itself)."""
    def rewrite(m):
        u = units(m.group())
        return " " + " ".join(grams(u, 2) if len(u) > 1 else u) + " "
    return NO_SPACE.sub(rewrite, text)


def gram_words(text: str, top: int = 3) -> str:
    """(c) each run as its character 1- to ``top``-grams, every one a word (trained with
    ``--ngrams 1``, so the model adds no n-grams of them)."""
    def rewrite(m):
        u = units(m.group())
        return " " + " ".join(g for n in range(1, top + 1) for g in grams(u, n)) + " "
    return NO_SPACE.sub(rewrite, text)


def runs_and_chars(text: str) -> str:
    """(d) characters spaced apart, and each whole run once more, at the end of the text."""
    runs = NO_SPACE.findall(text)
    return spaced(text) + (" . " + " ".join(runs) if runs else "")


def script_runs(text: str) -> str:
    """Runs of one script (Han, Hiragana, Katakana, Thai...) as words: a text is cut where
    its script changes (for Japanese, a crude word split: kanji | kana endings)."""
    def rewrite(m):
        run = m.group()
        parts, start = [], 0
        for i in range(1, len(run)):
            if script_of(run[i]) != script_of(run[i - 1]):
                parts.append(run[start:i])
                start = i
        parts.append(run[start:])
        return " " + " ".join(parts) + " "
    return NO_SPACE.sub(rewrite, text)


# Emoticons: western (:-) ;D =P :/ <3 ...), reversed ((: D:), eastern (^_^ -_- T_T), xD.
EMOTICON = re.compile(r"""(?<![\w:;=<>/])(?:
      [<>]?[:;=8][-o*'^]?[)\](\[dDpP/\\|}{@3*$xXoO0]+
    | [)\](\[dDpP/\\|][-o']?[:;=]
    | </?3+
    | \^[_\-.~]*\^
    | [-oO0T>x;][_.][-oO0T<x;]
    | [xX][dD]+
)(?![\w])""", re.X)
EMO_LETTERS = {":": "c", ";": "s", "=": "e", "8": "8", "-": "h", "o": "o", "'": "q",
               "^": "u", "*": "k", ")": "r", "]": "rb", "(": "l", "[": "lb", "d": "d",
               "p": "p", "/": "f", "\\": "b", "|": "v", "}": "rc", "{": "lc", "@": "a",
               "3": "3", "$": "z", "x": "x", "0": "0", "<": "lt", ">": "gt", "_": "n",
               ".": "t", "~": "w", "t": "tt"}


def emoticon_word(face: str, normalize: bool) -> str:
    """An emoticon as one ASCII word the current tokenizer keeps (``:-)`` -> ``emochr``);
    with ``normalize``, the nose dropped and repeats collapsed (``:-)))`` -> ``emocr``)."""
    face = face.lower()
    if normalize:
        face = re.sub(r"(.)\1+", r"\1", face)
        if len(face) > 2 and face[0] in ":;=8":
            face = face[0] + face[-1] if face[1] in "-o'^*" else face
    return " emo" + "".join(EMO_LETTERS.get(c, "y") for c in face) + " "


def emoticons(text: str, normalize: bool = False) -> str:
    return EMOTICON.sub(lambda m: emoticon_word(m.group(), normalize), text)


EMOJI = re.compile("[\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff]")
EMOJI_MODIFIERS = re.compile("[\ufe0f\u200d\U0001f3fb-\U0001f3ff]")


def emoji(text: str) -> str:
    """Each emoji (U+2600-27BF, U+2B00-2BFF, U+1F000-1FAFF) a word of its own; variation
    selectors, joiners and skin tones dropped. Today an emoji is a word character, glued
    to the word beside it and to the emoji after it."""
    return EMOJI.sub(lambda m: f" {m.group()} ", EMOJI_MODIFIERS.sub("", text))


URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
MENTION = re.compile(r"(?<!\w)@\w+")
HASHTAG = re.compile(r"(?<![\w&])#(\w+)")
ELONGATED = re.compile(r"([^\W\d_]|[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])\1{2,}")


def social(text: str) -> str:
    """URLs -> ``url``, mentions -> ``atuser`` (today a mention is its name's words)."""
    return MENTION.sub(" atuser ", URL.sub(" url ", text))


def hashtags(text: str) -> str:
    """``#word`` -> ``htword``, a word apart from ``word`` (today the ``#`` is dropped)."""
    return HASHTAG.sub(lambda m: " ht" + m.group(1) + " ", text)


def elongation(text: str) -> str:
    """A letter (or Thai mark) repeated 3+ times kept twice: ``sooo`` -> ``soo``."""
    return ELONGATED.sub(r"\1\1", text)


def chain(*steps):
    def run(text: str) -> str:
        for step in steps:
            text = step(text)
        return text
    return run


def everything(text: str) -> str:
    return spaced(emoji(elongation(emoticons(social(text), normalize=True))))


def recommended(text: str) -> str:
    """What scored best here: emoticons (normalized), elongation, emoji apart, characters
    of scripts without spaces apart with their combining marks; mentions and URLs as
    they are."""
    return spaced(emoji(elongation(emoticons(text, normalize=True))), clusters=True)


def subwords(text: str, n: int = 3) -> str:
    """:func:`recommended`, then each ASCII word's character ``n``-grams (with ``<`` and
    ``>`` at its ends, as fastText's subwords) appended as words of their own
    (``qqbgo``, ``qqgoo`` ... for ``good``)."""
    text = recommended(text)
    words = re.findall(r"(?<![\w'])[a-z]+(?![\w'])", text.lower())
    grams_ = ["qq" + ("b" + w + "e")[i:i + n] for w in words if not w.startswith("emo")
              for i in range(len(w) + 3 - n)]
    return text + (" . " + " ".join(grams_) if grams_ else "")


#: name -> (what it is, rewrite of a text or None for the files as they are, train flags)
VARIANTS = {
    "before": ("today: the files as they are, defaults", None, ()),
    "chars": ("(a) characters spaced apart; defaults (--ngrams 3: char 1-3-grams)",
              spaced, ()),
    "chars-ngrams2": ("(a) with --ngrams 2 (char 1-2-grams)", spaced, ("--ngrams", "2")),
    "chars-ngrams4": ("(a) with --ngrams 4 (char 1-4-grams)", spaced, ("--ngrams", "4")),
    "chars-ngrams1": ("(a) with --ngrams 1 (single characters; words of other scripts "
                      "lose their n-grams too)", spaced, ("--ngrams", "1")),
    "chars-nfkc": ("(a) after NFKC (full-width punctuation and letters to ASCII: ！ -> !)",
                   lambda t: spaced(unicodedata.normalize("NFKC", t)), ()),
    "chars-clusters": ("(a) with a combining mark kept on its character (Thai)",
                       lambda t: spaced(t, clusters=True), ()),
    "bigrams-only": ("(b) character bigrams as words, --ngrams 1", bigram_words,
                     ("--ngrams", "1")),
    "bigrams-ngrams3": ("(b) character bigrams as words, defaults (bigram n-grams ~ "
                        "char 2-4-grams)", bigram_words, ()),
    "grams1-3-words": ("(c) character 1-3-grams as words, --ngrams 1", gram_words,
                       ("--ngrams", "1")),
    "runs+chars": ("(d) (a) plus each run of such a script whole", runs_and_chars, ()),
    "script-runs": ("runs of one script as words (kanji / kana), defaults", script_runs, ()),
    "emoticons": ("(a) + each emoticon one ASCII word, as typed", chain(emoticons, spaced),
                  ()),
    "emoticons-norm": ("(a) + emoticons, nose dropped and repeats collapsed",
                       chain(lambda t: emoticons(t, normalize=True), spaced), ()),
    "emoji": ("(a) + each emoji a word of its own", chain(emoji, spaced), ()),
    "mentions-urls": ("(a) + @mention -> atuser, URL -> url", chain(social, spaced), ()),
    "hashtags": ("(a) + #tag -> httag, apart from the word", chain(hashtags, spaced), ()),
    "elongation": ("(a) + letters repeated 3+ times kept twice", chain(elongation, spaced),
                   ()),
    "all": ("(a) + emoticons-norm + emoji + mentions-urls + elongation", everything, ()),
    "recommended": ("chars-clusters + emoticons-norm + emoji + elongation (no mentions-urls)",
                    recommended, ()),
    "recommended-subwords": ("recommended + each ASCII word's char 3-grams as extra words",
                             subwords, ()),
    "recommended-epochs20": ("recommended, trained with --epochs 20 --patience 3 (a setting, "
                             "not a tokenizer)", recommended, ("--epochs", "20", "--patience",
                                                                "3")),
}


# --- the run --------------------------------------------------------------------------


def shown(arg: str) -> str:
    """An argument as a shell reads it: in double quotes where it needs quoting and can
    have them, else as :func:`shlex.quote` writes it."""
    if shlex.quote(arg) == arg or any(c in arg for c in '"$`\\!'):
        return shlex.quote(arg)
    return f'"{arg}"'


def provenance() -> str:
    """Which ``sentiment`` the commands run: its version, folder and, in a git checkout,
    the commit and whether the package has uncommitted changes."""
    done = subprocess.run([sys.executable, "-c", "import sentiment, sentiment.native.loops as f; "
                           "print(sentiment.__version__, sentiment.__file__, f.describe())"],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"error: sentiment does not import:\n{done.stderr}")
    version, path, loops = done.stdout.strip().split(" ", 2)
    folder = Path(path).parent
    git = ["git", "-C", str(folder)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    where = f"sentiment {version} from {folder} ({loops})"
    if head:
        dirty = subprocess.run([*git, "status", "--porcelain", "."], capture_output=True,
                               text=True).stdout.strip()
        where += f", commit {head}" + (" with uncommitted changes" if dirty else "")
    return where


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"


def mean(values: list[float]) -> float:
    return statistics.fmean(values)


def spread(values: list[float]) -> str:
    return pct(values[0]) if len(values) == 1 else (
        f"{mean(values):.2%} ({min(values):.2%}-{max(values):.2%})")


def run_set(ds: DevSet, seeds: list[int], peers: dict[str, bool], spaced_peers: bool,
            tmp: Path) -> dict:
    multi = len(ds.classes) > 2
    out: dict[str, list] = {"ours": [], "fasttext": [], "vw": [], "fasttext_spaced": [],
                            "vw_spaced": [], "lr_word": [], "lr_char": []}
    lr_cache: dict[str, dict] = {}
    sp = None
    if spaced_peers:
        sp = ([spaced(t) for t in ds.train[0]], ds.train[1])
        sp_test = ([spaced(t) for t in ds.test[0]], ds.test[1])
    for seed in seeds:
        t = time.perf_counter()
        out["ours"].append(ours(ds.train_path, ds.test_path, multi, seed, tmp))
        note(f"{ds.name} seed {seed}: ours {out['ours'][-1]:.2%} "
             f"({time.perf_counter() - t:.1f} s)")
        if peers["fasttext"]:
            out["fasttext"].append(fasttext_accuracy(ds.train, ds.test, seed, tmp))
            if sp is not None:
                out["fasttext_spaced"].append(fasttext_accuracy(sp, sp_test, seed, tmp))
        if peers["vowpalwabbit"]:
            out["vw"].append(vw_accuracy(ds.train, ds.test, seed, ds.classes))
            if sp is not None:
                out["vw_spaced"].append(vw_accuracy(sp, sp_test, seed, ds.classes))
        if peers["sklearn"]:
            for kind in ("word", "char"):
                # deterministic given its validation rows: chosen and fitted once, with
                # the first seed's split where a set has no valid.csv (a fit of the
                # larger sets takes 10-40 s)
                if kind not in lr_cache:
                    t = time.perf_counter()
                    lr_cache[kind] = logistic(ds.train, ds.valid, ds.test, kind, seed)
                    note(f"{ds.name} seed {seed}: LR {kind} {lr_cache[kind]} "
                         f"({time.perf_counter() - t:.1f} s)")
                    out[f"lr_{kind}"].append(lr_cache[kind])
        note(f"{ds.name} seed {seed}: " + ", ".join(
            f"{k} {v[-1] if isinstance(v[-1], float) else v[-1]['accuracy']:.2%}"
            for k, v in out.items() if v))
    return out


def acc_list(values: list) -> list[float]:
    return [v if isinstance(v, float) else v["accuracy"] for v in values]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="folder of the sets (default: $SENTIMENT_DATA/dev)")
    ap.add_argument("--sets", nargs="+", default=list(SETS), metavar="SET")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0], metavar="SEED")
    ap.add_argument("--variants", nargs="*", metavar="NAME",
                    help="also train ours on rewritten texts (no NAME: every variant: "
                         + ", ".join(VARIANTS) + ")")
    ap.add_argument("--spaced-peers", action="store_true",
                    help="also score fastText and VW on text whose characters of scripts "
                         "without spaces are spaced apart")
    ap.add_argument("--no-peers", action="store_true", help="ours (and variants) only")
    ap.add_argument("--note", help="a sentence for the report's header (e.g. which commit "
                    "an exported copy of the package is)")
    ap.add_argument("--out", help="write the report (Markdown) here")
    args = ap.parse_args()
    from sentiment.io.reader import data_home

    root = Path(args.data) if args.data else data_home() / "dev"
    if not root.is_dir():
        raise SystemExit(f"error: {root}: no such folder; set SENTIMENT_DATA or --data")
    variants = None
    if args.variants is not None:
        variants = args.variants or list(VARIANTS)
        unknown = [v for v in variants if v not in VARIANTS]
        if unknown:
            raise SystemExit(f"error: unknown variants {unknown}; known: {list(VARIANTS)}")
    peers = {m: not args.no_peers and importable(m)
             for m in ("fasttext", "vowpalwabbit", "sklearn")}
    missing = [m for m, ok in peers.items() if not ok and not args.no_peers]
    if missing:
        note(f"peers not importable, left out: {', '.join(missing)} (pip install "
             f"{' '.join(m.replace('sklearn', 'scikit-learn') for m in missing)})")
    sets = [DevSet(root / name) for name in args.sets]
    command = "python scripts/languages.py " + " ".join(shown(a) for a in sys.argv[1:])
    lines = ["# Text from anywhere: the development sets", "",
             f"`{command}`; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
             f"{provenance()}; 2 cores, one training at a time; seeds {args.seeds} "
             "(means over them; ours' range in brackets; logistic regression once, with "
             "the first seed)." + (f" {args.note}" if args.note else ""), "",
             "Every system trains on `train.csv` alone and is scored on `test.csv`; "
             "`valid.csv`, where a set has one, only chooses logistic regression's n-gram "
             "range and C (a seeded 10% of the training rows where it has none). Ours: "
             "`python -m sentiment train TRAIN --test TEST` (`--multiclass` for 3-4 "
             "classes), the defaults. fastText: bigrams, dim 10, 5 epochs, lr 0.5; Vowpal "
             "Wabbit: bigrams, 1 pass, logistic loss (`--oaa K` for K classes); both on "
             "lower-cased text with ASCII punctuation split off, split on whitespace, as "
             "each is normally fed (Chinese, Japanese and Thai clauses stay one token). LR: "
             "scikit-learn LogisticRegression on tf-idf word 1-1/1-2-grams (word) or "
             "character 1-2/1-3-grams (char), range and C from "
             f"{list(C_GRID)} chosen on the validation rows; best LR is the better of the "
             "two on test. Majority share: the test rows of the training set's most "
             "common class.", ""]
    if missing:
        lines += [f"Not importable here, left out: {', '.join(missing)}.", ""]
    results = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for ds in sets:
            note(f"{ds!r}: {len(ds.classes)} classes, majority {ds.majority:.2%}")
            results[ds.name] = run_set(ds, args.seeds, peers, args.spaced_peers, tmp)
        header = ["set", "classes", "train / test", "majority share", "ours (defaults)"]
        cols = []
        if peers["fasttext"]:
            cols.append(("fasttext", "fastText bigrams"))
            if args.spaced_peers:
                cols.append(("fasttext_spaced", "fastText bigrams, chars spaced"))
        if peers["vowpalwabbit"]:
            cols.append(("vw", "VW bigrams"))
            if args.spaced_peers:
                cols.append(("vw_spaced", "VW bigrams, chars spaced"))
        if peers["sklearn"]:
            cols += [("lr_word", "LR word"), ("lr_char", "LR char"), ("lr_best", "best LR")]
        header += [c[1] for c in cols]
        any_peer = bool(cols)
        if any_peer:
            header += ["best peer", "ours - best peer", "ours - majority"]
        lines += ["| " + " | ".join(header) + " |",
                  "| --- |" + " ---: |" * (len(header) - 1)]
        best_peer = {}
        for ds in sets:
            r = results[ds.name]
            means = {k: mean(acc_list(v)) for k, v in r.items() if v}
            if peers["sklearn"]:
                means["lr_best"] = max(means["lr_word"], means["lr_char"])
            # the peers: fastText and VW as users run them, the better LR
            bar = {k: means[k] for k in ("fasttext", "vw", "lr_best") if k in means}
            cells = [ds.name, str(len(ds.classes)),
                     f"{len(ds.train[0]):,} / {len(ds.test[0]):,}", pct(ds.majority),
                     spread(r["ours"])]
            for key, _ in cols:
                cell = pct(means[key])
                if key.startswith("lr_") and key != "lr_best":
                    chosen = Counter(f"{v['ngrams']}, C {v['C']:g}" for v in r[key])
                    cell += f" ({'; '.join(chosen)})"
                cells.append(cell)
            if any_peer:
                name = max(bar, key=bar.get)
                best_peer[ds.name] = bar[name]
                label = dict(cols)[name]
                cells += [f"{bar[name]:.2%} ({label})", f"{means['ours'] - bar[name]:+.2%}",
                          f"{means['ours'] - ds.majority:+.2%}"]
            lines.append("| " + " | ".join(cells) + " |")
        if args.spaced_peers:
            lines += ["", "The chars-spaced columns are not what users run: each Han, "
                      "Kana, Thai ... character is spaced apart before the peer's own "
                      "preprocessing (the `chars` rewrite below); they do not enter "
                      "'best peer'."]
        if variants:
            lines += variant_table(sets, variants, args.seeds, tmp, best_peer)
    write_report(lines, args.out)


def variant_table(sets, variants, seeds, tmp: Path, best_peer: dict) -> list[str]:
    """Ours on rewritten texts: one row per variant, one column per set."""
    acc: dict[str, dict[str, list[float]]] = {v: {} for v in variants}
    for ds in sets:
        multi = len(ds.classes) > 2
        for name in variants:
            _, rewrite, flags = VARIANTS[name]
            if rewrite is None:
                train, test = ds.train_path, ds.test_path
            else:
                train = write_csv(tmp / "train.csv", [rewrite(t) for t in ds.train[0]],
                                  ds.train[1])
                test = write_csv(tmp / "test.csv", [rewrite(t) for t in ds.test[0]],
                                 ds.test[1])
            acc[name][ds.name] = [ours(train, test, multi, s, tmp, flags) for s in seeds]
            note(f"variant {name} on {ds.name}: {spread(acc[name][ds.name])}")
    lines = ["", "## Ours on rewritten texts (emulating candidate tokenizers)", "",
             "Each text rewritten in Python, then `train TRAIN --test TEST` with the "
             "defaults unless the variant says otherwise; means over the seeds. (a)-(d) "
             "touch only characters of scripts without spaces (Han, Hiragana, Katakana, "
             "Thai, Lao, Khmer, Myanmar), so on the English set they equal `before`; the "
             "social rewrites come on top of (a).", "",
             "| variant | what | " + " | ".join(ds.name for ds in sets) + " |",
             "| --- | --- |" + " ---: |" * len(sets)]
    for name in variants:
        cells = [f"{mean(acc[name][ds.name]):.2%}" for ds in sets]
        lines.append(f"| {name} | {VARIANTS[name][0]} | " + " | ".join(cells) + " |")
    if best_peer:
        lines.append("| best peer | from the table above | " + " | ".join(
            pct(best_peer.get(ds.name)) for ds in sets) + " |")
    return lines


if __name__ == "__main__":
    main()
