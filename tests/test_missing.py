"""Texts as tables hold them: a Series keeps its index through prediction, a missing text
gets a missing answer (sentiment.Model and SentimentClassifier)."""
import numpy as np
import pandas as pd
import pytest
from corpus import NEGATIVE, POSITIVE

from sentiment import SentimentClassifier
from sentiment.training.job import Settings, train

TEXTS = (POSITIVE + NEGATIVE) * 5
LABELS = ([1] * len(POSITIVE) + [0] * len(NEGATIVE)) * 5
QUICK = {"min_count": 1, "epochs": 10, "lr": 0.05, "val_fraction": 0.0}
PROBE = pd.Series(["loved it, wonderful", None, "awful and boring", np.nan, pd.NA],
                  index=[10, 20, 30, 40, 50])
GIVEN = [0, 2]  # the rows of PROBE with a text


@pytest.fixture(scope="module")
def model():
    return train(TEXTS, LABELS, Settings(**QUICK), progress=False)


@pytest.fixture(scope="module")
def clf():
    return SentimentClassifier(**QUICK).fit(TEXTS, np.where(LABELS, "pos", "neg"))


def test_model_keeps_the_index_and_answers_missing_with_none(model):
    labels = model.predict(PROBE)
    assert isinstance(labels, pd.Series)
    assert labels.index.tolist() == [10, 20, 30, 40, 50]
    assert labels.tolist() == ["positive", None, "negative", None, None]
    proba = model.predict_proba(PROBE)
    assert isinstance(proba, pd.DataFrame)
    assert proba.columns.tolist() == ["negative", "positive"]
    assert proba.index.tolist() == [10, 20, 30, 40, 50]
    assert proba.iloc[[1, 3, 4]].isna().all().all()
    np.testing.assert_array_equal(proba.iloc[GIVEN].to_numpy(),
                                  model.predict_proba(PROBE.iloc[GIVEN].tolist()))


def test_model_lists_stay_lists(model):
    assert model.predict(["loved it, wonderful", None]) == ["positive", None]
    assert model.predict(["awful and boring"]) == ["negative"]
    proba = model.predict_proba(["loved it, wonderful", float("nan")])
    assert isinstance(proba, np.ndarray) and proba.shape == (2, 2)
    assert np.isnan(proba[1]).all() and not np.isnan(proba[0]).any()
    series = model.predict(pd.Series(["awful and boring"], index=["x"]))
    assert series.to_dict() == {"x": "negative"}


def test_model_refuses_what_is_not_a_text(model):
    with pytest.raises(TypeError, match=r"item 1 is int \(5\); expected a text \(str\), or "
                       "None or NaN for a missing one"):
        model.predict(["a film", 5])
    with pytest.raises(TypeError, match="got a single str"):
        model.predict("a film")


def test_estimator_keeps_the_index_and_answers_missing_with_none(clf):
    labels = clf.predict(PROBE)
    assert isinstance(labels, pd.Series)
    assert labels.index.tolist() == [10, 20, 30, 40, 50]
    assert labels.tolist() == ["pos", None, "neg", None, None]
    proba = clf.predict_proba(PROBE)  # an array: scikit-learn's scorers index [:, 1]
    assert isinstance(proba, np.ndarray) and proba.shape == (5, 2)
    assert np.isnan(proba[[1, 3, 4]]).all()
    np.testing.assert_allclose(proba[GIVEN], clf.predict_proba(PROBE.iloc[GIVEN].tolist()))
    z = clf.decision_function(PROBE)
    assert np.isnan(z[[1, 3, 4]]).all() and not np.isnan(z[GIVEN]).any()
    assert clf.predict(["awful and boring", None]).tolist() == ["neg", None]
    assert clf.predict(["awful and boring"]).tolist() == ["neg"]
    assert clf.score(pd.Series(TEXTS), np.where(LABELS, "pos", "neg")) == 1.0


def test_estimator_fit_says_a_text_is_missing():
    with pytest.raises(ValueError, match="item 1 is float: nan; a text is missing there: "
                       "drop the rows without one before fit"):
        SentimentClassifier(**QUICK).fit(["a film", np.nan], ["pos", "neg"])
