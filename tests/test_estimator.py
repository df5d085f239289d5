"""The scikit-learn estimators: sklearn's own checks, GridSearchCV, clone, Pipeline, and the
text estimator trains exactly as ``train`` does."""
import subprocess
import sys
from dataclasses import fields

import numpy as np
import pytest
from corpus import NEGATIVE, POSITIVE
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from sentiment import SentimentClassifier, SparseNetworkClassifier
from sentiment.training.job import Settings, train

TEXTS = (POSITIVE + NEGATIVE) * 5
LABELS = np.array((["pos"] * len(POSITIVE) + ["neg"] * len(NEGATIVE)) * 5)
PROBE = ["loved it, wonderful", "awful and boring"]
QUICK = {"min_count": 1, "epochs": 10, "lr": 0.05, "val_fraction": 0.0}


@parametrize_with_checks([SparseNetworkClassifier()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_text_parameters_are_the_training_settings():
    params = SentimentClassifier().get_params()
    settings = Settings().to_dict()
    assert set(params) == set(settings) - {"seed"} | {"random_state", "verbose"}
    assert {k: params[k] for k in settings if k != "seed"} == \
        {k: v for k, v in settings.items() if k != "seed"}
    assert SentimentClassifier(random_state=7, hidden=4).settings() == \
        Settings(seed=7, hidden=4)
    network_params = SparseNetworkClassifier().get_params()
    assert set(network_params) - {"random_state"} <= {f.name for f in fields(Settings)}


def test_fit_gives_the_weights_of_train():
    clf = SentimentClassifier(**QUICK, random_state=3).fit(TEXTS, LABELS)
    model = train(TEXTS, (LABELS == "pos").astype(int), Settings(**QUICK, seed=3),
                  progress=False)
    assert clf.classes_.tolist() == ["neg", "pos"]
    for name, value in model.net.params().items():
        np.testing.assert_array_equal(clf.model_.net.params()[name], value, err_msg=name)
    np.testing.assert_allclose(clf.predict_proba(TEXTS)[:, 1],
                               model.predict_proba(TEXTS)[:, 1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("labels", [["pos", "neg"], [1, -1], [True, False], [5.0, 2.0]])
def test_any_two_label_values(labels):
    y = np.where(LABELS == "pos", labels[0], labels[1])
    clf = SentimentClassifier(**QUICK).fit(list(TEXTS), y.tolist())
    assert clf.classes_.tolist() == sorted(labels)
    assert clf.predict(PROBE).tolist() == labels
    proba = clf.predict_proba(PROBE)
    assert proba.shape == (2, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(TEXTS, y) == 1.0


def test_grid_search_over_the_text_estimator():
    grid = {"ngrams": [1, 2], "lr": [0.001, 0.05]}
    search = GridSearchCV(SentimentClassifier(min_count=1, epochs=10, val_fraction=0.0),
                          grid, cv=3, error_score="raise").fit(TEXTS, LABELS)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["lr"] in grid["lr"]
    assert search.best_score_ >= 0.9
    assert search.best_estimator_.predict(PROBE).tolist() == ["pos", "neg"]


def test_cross_val_score_and_clone():
    clf = SentimentClassifier(**QUICK, hidden=4)
    scores = cross_val_score(clf, TEXTS, LABELS, cv=4)
    assert scores.shape == (4,) and scores.min() >= 0.75
    fitted = clone(clf).fit(TEXTS, LABELS)
    copy = clone(fitted)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "model_") and hasattr(fitted, "model_")


def test_pipeline_with_count_vectorizer():
    pipe = make_pipeline(CountVectorizer(binary=True),
                         SparseNetworkClassifier(epochs=20, lr=0.05)).fit(TEXTS, LABELS)
    assert pipe.predict(PROBE).tolist() == ["pos", "neg"]
    assert pipe.score(TEXTS, LABELS) == 1.0
    assert len(pipe[-1].history_) == 20


def test_sparse_and_dense_input_give_the_same_model():
    X = CountVectorizer(binary=True).fit_transform(TEXTS)
    a = SparseNetworkClassifier(epochs=3).fit(X, LABELS)
    b = SparseNetworkClassifier(epochs=3).fit(X.toarray(), LABELS)
    np.testing.assert_array_equal(a.net_.W1, b.net_.W1)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X.toarray()))


@pytest.mark.parametrize("X, y, match", [
    (TEXTS, np.linspace(0, 1, 40), "Unknown label type"),
    (TEXTS, ["pos"] * 40, "needs two classes in y; got 1 class"),
    ("one single text", ["pos"], "expects an iterable of texts"),
    ([1, 2], ["pos", "neg"], "expects texts \\(str\\); item 0 is int"),
    (TEXTS, ["pos"] * 39, "inconsistent numbers of samples"),
])
def test_text_estimator_refuses_bad_input(X, y, match):
    with pytest.raises(ValueError, match=match):
        SentimentClassifier(**QUICK).fit(X, y)


def test_class_weight_takes_none_as_scikit_learn_does():
    skewed = TEXTS + POSITIVE * 10
    y = np.concatenate([LABELS, ["pos"] * 40])
    none = SentimentClassifier(**QUICK, class_weight=None).fit(skewed, y)
    assert none.settings().class_weight == "none"
    balanced = SentimentClassifier(**QUICK, class_weight="balanced").fit(skewed, y)
    assert balanced.model_.settings["class_weight"] == "balanced"
    # the negative texts weigh 3 times more: their probability of "pos" is lower
    assert (balanced.predict_proba(NEGATIVE)[:, 1] < none.predict_proba(NEGATIVE)[:, 1]).all()


def test_bad_setting_is_reported_at_fit():
    clf = SentimentClassifier(hidden=0)  # scikit-learn: no validation in __init__
    with pytest.raises(ValueError, match="hidden must be between 1 and 4096; got 0"):
        clf.fit(TEXTS, LABELS)


def test_import_stays_light():
    code = ("import sys, sentiment; light = 'sklearn' not in sys.modules; "
            "c = sentiment.SentimentClassifier; "
            "print(light, 'sklearn' in sys.modules, 'SentimentClassifier' in dir(sentiment))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.split() == ["True", "True", "True"], r.stderr


def test_three_classes_train_a_softmax_with_classes_in_numpy_order():
    texts = TEXTS + ["an average film, some good and some bad"] * 20
    y = ["pos"] * len(POSITIVE) + ["neg"] * len(NEGATIVE)
    y = np.array(y * 5 + ["mixed"] * 20)
    clf = SentimentClassifier(epochs=20, lr=0.05, min_count=1, val_fraction=0).fit(texts, y)
    assert clf.classes_.tolist() == ["mixed", "neg", "pos"]
    proba = clf.predict_proba(texts)
    assert proba.shape == (len(texts), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert clf.decision_function(texts).shape == (len(texts), 3)
    assert (clf.predict(texts) == y).mean() >= 0.9
    assert clf.model_.classes == ["mixed", "neg", "pos"]
    with pytest.raises(ValueError, match="K classes train with --loss xent"):
        SentimentClassifier(loss="mse", optimizer="sgd").fit(texts, y)
