"""Texts as tables hold them: a pandas Series keeps its index through prediction, and a
missing text (None, NaN, ``pd.NA``) gets a missing answer (None as its label, NaN as its
probabilities) instead of failing the whole call.

:func:`split` takes the texts apart (the ones to score, where the missing ones are, the
Series' index); :func:`labels_out` and :func:`rows_out` put the answers back in place.
pandas is never imported here: a Series can only come from a caller who imported it.
"""
from __future__ import annotations

import sys

import numpy as np


def is_missing(value) -> bool:
    """None, a float NaN (numpy's too), ``pd.NA`` or ``pd.NaT``."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(value != value)
    return type(value).__name__ in ("NAType", "NaTType")


def _series_index(texts):
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(texts, pd.Series):
        return texts.index
    return None


def split(texts, name: str = "texts") -> tuple[list, np.ndarray | None, object]:
    """(the texts to score, a mask of the missing ones or None if none is, the index of
    a pandas Series or None). Raises TypeError for a bare string (one text per
    character, else) and for an item that is neither a text nor missing."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"expected a list of texts, got a single {type(texts).__name__}; "
                        f"wrap it in a list: [{texts[:30]!r}]")
    index = _series_index(texts)
    texts = texts.tolist() if index is not None else list(texts)
    odd = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if not odd:
        return texts, None, index
    missing = np.zeros(len(texts), dtype=bool)
    for i in odd:
        if not is_missing(texts[i]):
            raise TypeError(f"{name}: item {i} is {type(texts[i]).__name__} "
                            f"({texts[i]!r:.60}); expected a text (str), or None or NaN "
                            "for a missing one")
        missing[i] = True
    return [t for t, gone in zip(texts, missing) if not gone], missing, index


def labels_out(labels, missing: np.ndarray | None, index):
    """``labels`` of the scored texts put back in place (None where a text was
    missing): a list, or a Series on ``index``. ``labels`` may be a list or an array; an
    array stays one (of objects, if a label is missing)."""
    if missing is not None:
        full = np.empty(len(missing), dtype=object)
        full[~missing] = list(labels)
        labels = full.tolist() if isinstance(labels, list) else full
    if index is None:
        return labels
    import pandas as pd

    return pd.Series(labels, index=index, dtype=object if missing is not None else None)


def rows_out(rows: np.ndarray, missing: np.ndarray | None, index=None, columns=None):
    """Rows of numbers of the scored texts put back in place (NaN where a text was
    missing); a DataFrame on ``index`` (named ``columns``) when ``index`` is given."""
    if missing is not None:
        full = np.full((len(missing),) + rows.shape[1:], np.nan,
                       dtype=np.result_type(rows.dtype, np.float32))
        full[~missing] = rows
        rows = full
    if index is None:
        return rows
    import pandas as pd

    if rows.ndim == 1:
        return pd.Series(rows, index=index)
    return pd.DataFrame(rows, index=index, columns=columns)
