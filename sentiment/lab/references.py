"""Reference rows for the staged comparison: scikit-learn on the features of ``train``'s
defaults, run in the same process on the same split.

They are not stages: they do not go through our trainer, and they put the stages in
context. Both use the features of stage 7 (``Settings()``): binary presence of 1-n grams
seen in at least ``min_count`` training reviews, tokenized by our rule
(:func:`sentiment.lab.references.vectorizer`: ``token_pattern=TOKEN_PATTERN``,
``preprocessor=normalize``). 1-3 grams for both, rather than NBSVM's published 1-2, so
that the only difference from the defaults is the classifier.

=========== ================================================================================
key         reference
=========== ================================================================================
lr          ``LogisticRegression`` on the binary features
nbsvm       the NBSVM recipe (Wang and Manning 2012): the same features, each column scaled
            by the naive-Bayes log-count ratio r, then ``LogisticRegression`` in place of
            their SVM (without their interpolation with the mean weight)
=========== ================================================================================

Both train on the same reviews as stage 7: ``Settings().val_fraction`` of the training set
is held out with the same seed and :func:`sentiment.training.pipeline.validation_rows`, so the
split is the trainer's. C is chosen from :data:`C_CHOICES` by accuracy on that validation split
(ties go to the smaller C); the test set is scored once, with the chosen C.

Times: ``vectorize_seconds`` is CountVectorizer's ``fit_transform`` of the training part
and ``transform`` of the validation part (measured once, shared by both rows and reported
in each, as each would cost alone), plus computing r and scaling for ``nbsvm``;
``fit_seconds`` is the ``fit`` with the chosen C (every C is fitted from scratch);
``reviews_per_second`` is training reviews / ``fit_seconds``: over the whole fit, every
solver iteration, not per epoch; ``seconds`` is the row's wall time including the shared
vectorization and the fits of every C.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

#: Values of LogisticRegression's C tried on the validation split (about 3-5 s each on
#: IMDB with lbfgs, so the choice costs some 10 s a reference).
C_CHOICES = (0.1, 1.0, 10.0)
#: C without a validation split to choose on (scikit-learn's default).
DEFAULT_C = 1.0
MAX_ITER = 1000


@dataclass(frozen=True)
class Reference:
    """One reference row: a scikit-learn classifier on the defaults' features.

    Parameters
    ----------
    key : short id in the table and the ``--json`` rows (``stage`` key).
    name : what it is, in a few words.
    what : the features and classifier, in a sentence (``{features}`` is filled in).
    source : where the recipe comes from.
    nb : scale each feature by the naive-Bayes log-count ratio (NBSVM).
    """

    key: str
    name: str
    what: str
    source: str
    nb: bool = False

    def __repr__(self) -> str:
        return f"Reference({self.key!r}, {self.name!r})"

    @property
    def title(self) -> str:
        return f"reference {self.name}"


_REFERENCES = (
    Reference("lr", "LogisticRegression",
              "{features} + LogisticRegression (lbfgs)",
              "scikit-learn; bag-of-words logistic regression, about 88-89% on IMDB in "
              "published work"),
    Reference("nbsvm", "NBSVM recipe",
              "{features}, each scaled by the naive-Bayes log-count ratio r (alpha 1), + "
              "LogisticRegression (lbfgs) in place of the SVM",
              "Wang and Manning 2012 (NBSVM, 91.2% with 1-2 grams)", nb=True),
)

#: The references in table order, by key.
REFERENCES: dict[str, Reference] = {r.key: r for r in _REFERENCES}


@dataclass
class Features:
    """The defaults' features from scikit-learn, vectorized once for every reference."""

    X: object           # CSR, training part (the trainer's split)
    y: np.ndarray
    X_val: object       # CSR, validation part (may have no rows)
    y_val: np.ndarray
    X_test: object      # CSR, the whole test set
    ngrams: int
    min_count: int
    seconds: float      # fit_transform (train) + transform (validation)
    test_seconds: float  # transform (test)

    def __repr__(self) -> str:
        return (f"Features(train={self.X.shape[0]}, val={self.X_val.shape[0]}, "
                f"test={self.X_test.shape[0]}, features={self.X.shape[1]})")


def reference_features(train_texts, train_labels, test_texts, settings=None) -> Features:
    """Vectorize like ``settings`` (default: ``Settings()``), on the trainer's split."""
    from ..training.job import validation_rows
    from ..training.settings import Settings

    settings = settings or Settings()
    labels = np.asarray(train_labels)
    held_out = validation_rows(np.arange(len(train_texts)), settings.seed,
                               settings.val_fraction)
    tr, va = np.flatnonzero(~held_out), np.flatnonzero(held_out)
    vec = vectorizer(settings.ngrams, settings.min_count)
    t = time.perf_counter()
    X = vec.fit_transform([train_texts[i] for i in tr])
    X_val = vec.transform([train_texts[i] for i in va])
    seconds = time.perf_counter() - t
    t = time.perf_counter()
    X_test = vec.transform(list(test_texts))
    return Features(X, labels[tr], X_val, labels[va], X_test, settings.ngrams,
                    settings.min_count, seconds, time.perf_counter() - t)


def nb_log_ratio(X, y, alpha: float = 1.0) -> np.ndarray:
    """NBSVM's r: log of (p / |p|_1) / (q / |q|_1), p and q the positive and negative
    feature counts plus ``alpha``; the same as :meth:`Vocabulary.log_ratio`."""
    y = np.asarray(y) > 0
    p = np.asarray(X[y].sum(axis=0)).ravel() + alpha
    q = np.asarray(X[~y].sum(axis=0)).ravel() + alpha
    return (np.log(p / p.sum()) - np.log(q / q.sum())).astype(np.float32)


def _scale_columns(X, r: np.ndarray):
    """``X @ diag(r)`` for CSR ``X``, in O(nnz)."""
    X = X.copy()
    X.data *= r[X.indices]
    return X


def choose_c(X, y, X_val, y_val, choices=C_CHOICES) -> dict:
    """Fit LogisticRegression for each C; keep the best on the validation split.

    Returns ``clf``, ``C``, ``fit_seconds`` (of that C's fit), ``val_accuracy`` (per C)
    and ``converged``. Without validation rows, fits DEFAULT_C only.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    best, tried = None, {}
    for C in (choices if X_val.shape[0] else (DEFAULT_C,)):
        clf = LogisticRegression(C=C, solver="lbfgs", max_iter=MAX_ITER)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            t = time.perf_counter()
            clf.fit(X, y)
            seconds = time.perf_counter() - t
        acc = float(np.mean(clf.predict(X_val) == y_val)) if X_val.shape[0] else None
        tried[C] = acc
        if best is None or (acc is not None and acc > best["accuracy"]):
            converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
            best = {"clf": clf, "C": C, "fit_seconds": seconds, "accuracy": acc,
                    "converged": converged}
    best["val_accuracy"] = tried
    return best


def run_reference(ref: Reference, features: Features, test_labels) -> dict:
    """Fit one reference on the shared features and measure it (one comparison row)."""
    start = time.perf_counter()
    f = features
    X, X_val, X_test, vectorize = f.X, f.X_val, f.X_test, f.seconds
    if ref.nb:
        t = time.perf_counter()
        r = nb_log_ratio(X, f.y)
        X, X_val = _scale_columns(X, r), _scale_columns(X_val, r)
        vectorize += time.perf_counter() - t
        X_test = _scale_columns(X_test, r)
    fit = choose_c(X, f.y, X_val, f.y_val)
    clf = fit["clf"]
    test_labels = np.asarray(test_labels)
    n_train = X.shape[0]
    return {"stage": ref.key, "kind": "reference", "name": ref.name,
            "changed": _describe(ref, f, fit), "source": ref.source,
            "vocabulary": int(X.shape[1]), "epochs": None, "train_reviews": n_train,
            "limited": None, "reviews_per_second": n_train / fit["fit_seconds"],
            "seconds_per_epoch": None, "best_epoch_seconds": None,
            "vectorize_seconds": vectorize, "fit_seconds": fit["fit_seconds"],
            "train_accuracy": float(np.mean(clf.predict(X) == f.y)),
            "test_accuracy": float(np.mean(clf.predict(X_test) == test_labels)),
            "speedup": None, "relative_to": None, "time_ratio": None,
            "seconds": time.perf_counter() - start + f.seconds + f.test_seconds}


def _describe(ref: Reference, f: Features, fit: dict) -> str:
    """The reference's sentence with its features and the C it chose, and why."""
    what = ref.what.format(features=f"binary 1-{f.ngrams} grams seen in at least "
                           f"{f.min_count} training reviews (CountVectorizer, min_df "
                           f"{f.min_count}, our token rule)")
    tried = fit["val_accuracy"]
    if len(tried) > 1:
        on_val = ", ".join(f"{c:g}: {a:.2%}" for c, a in tried.items())
        how = f"C {fit['C']:g}, the best on the validation split of {on_val}"
    else:
        how = f"C {fit['C']:g} (no validation split to choose on)"
    if not fit["converged"]:
        how += f"; lbfgs did not converge in {MAX_ITER} iterations"
    return f"reference, not a stage: {what}; {how}"


def vectorizer(ngrams: int, min_count: int):
    """scikit-learn's CountVectorizer configured like our tokenizer and vocabulary."""
    from sklearn.feature_extraction.text import CountVectorizer

    from ..features.tokens import TOKEN_PATTERN, normalize

    # the preprocessor replaces CountVectorizer's own lower-casing; normalize lower-cases
    return CountVectorizer(ngram_range=(1, ngrams), min_df=min_count, binary=True,
                           token_pattern=TOKEN_PATTERN, lowercase=True,
                           preprocessor=normalize, dtype=np.float32)


def vocabulary_agreement(ours: list[str], theirs, examples: int = 5) -> dict:
    """Compare two vocabularies as sets of words (n-grams joined by a space)."""
    a, b = set(ours), set(theirs)
    only_ours, only_theirs = sorted(a - b), sorted(b - a)
    return {"ours": len(ours), "sklearn": len(theirs), "common": len(a & b),
            "duplicates_ours": len(ours) - len(a), "only_ours": len(only_ours),
            "only_sklearn": len(only_theirs), "examples_only_ours": only_ours[:examples],
            "examples_only_sklearn": only_theirs[:examples],
            "identical": not only_ours and not only_theirs and len(a) == len(ours)}


def matrix_agreement(X, words: list[str], A, columns: dict) -> dict:
    """Rows of our matrix ``X`` that hold other words than the same rows of sklearn's ``A``.

    Our column ``j`` (word ``words[j]``) is mapped to sklearn's column of that word; words
    sklearn lacks get columns of their own, so they count as differences.
    """
    import scipy.sparse as sp

    width = A.shape[1]
    col = np.fromiter((columns.get(w, -1) for w in words), dtype=np.int64, count=len(words))
    missing = col < 0
    col[missing] = width + np.arange(int(missing.sum()))
    shape = (X.shape[0], width + int(missing.sum()))
    mapped = sp.csr_matrix((np.ones(X.nnz, np.float32), col[X.indices], X.indptr), shape=shape)
    theirs = sp.csr_matrix((np.ones(A.nnz, np.float32), A.indices, A.indptr), shape=shape)
    diff = (mapped - theirs).tocsr()
    diff.eliminate_zeros()
    return {"rows": X.shape[0], "rows_differing": int(np.count_nonzero(np.diff(diff.indptr))),
            "nnz_ours": int(X.nnz), "nnz_sklearn": int(A.nnz)}


def agreement(vocab, X, X_test, vec, A, A_test) -> dict:
    """Vocabulary and train/test matrices of ours against CountVectorizer's."""
    words = vocab.words
    out = vocabulary_agreement(words, vec.get_feature_names_out())
    out["train"] = matrix_agreement(X, words, A, vec.vocabulary_)
    out["test"] = matrix_agreement(X_test, words, A_test, vec.vocabulary_)
    out["agree"] = (out["identical"] and not out["train"]["rows_differing"]
                    and not out["test"]["rows_differing"])
    return out
