"""The stages of the story, as data: each a name, what changed, where it comes from, and the
training :class:`~sentiment.training.settings.Settings` that make it.

``STAGES`` is the one list of stages: the ``compare`` command's ``--stages`` choices, the
comparison (:mod:`sentiment.lab.compare`) and the tests all iterate it. Adding a stage is adding
an entry here; every stage runs through the same :func:`sentiment.training.job.train`.

Stages 1-4 are the original lesson's network, kept faithful so that their accuracy can be
checked against the lesson's (about 82-86% on IMDB): 10 linear hidden units, a sigmoid
output, squared error through the sigmoid, one review at a time with plain SGD, ``W1``
starting at zero, one epoch over unigrams. Stages 5 on are free to train the way that
works best, and say what they changed. Stage 7 is ``train``'s defaults, ``Settings()``,
whatever they are at the time: it follows the trainer on purpose, so that the table ends
with what a user of ``python -m sentiment train`` gets.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..training.settings import EPOCHS, MIN_STEPS, Settings


@dataclass(frozen=True)
class Stage:
    """One row of the comparison.

    Parameters
    ----------
    key : short id used on the command line (``--stages 1 3 5``) and in the table.
    name : what the stage is, in a few words.
    changed : what differs from the stage before it.
    source : where the idea comes from (the lesson, or a seed document).
    settings : how the stage trains.
    slow : a per-review stage that the comparison may time on the first ``--limit``
        reviews of the shuffled training set instead of all of them.
    relative_to : key of the stage whose time per epoch this one is compared with (the
        dropout stages report their cost on top of stage 5).
    """

    key: str
    name: str
    changed: str
    source: str
    settings: Settings
    slow: bool = False
    relative_to: str | None = None

    def __repr__(self) -> str:
        return f"Stage({self.key!r}, {self.name!r})"

    @property
    def title(self) -> str:
        return f"{self.key} {self.name}"


# The lesson's network and training (its projects 3-6), every default spelled out so that a
# change of the trainer's defaults never changes the baseline.
LESSON = Settings(
    ngrams=1,             # single words
    negation=0,           # every word counts the same, negated or not
    min_count=1,          # every word of the training set ...
    polarity_cutoff=0.0,  # ... positive, negative or neutral
    values="count",       # project 3: how often each word occurs
    kernel="dense",       # a full one-hot layer_0, layer_0 @ W1, a full outer-product update
    hidden=10,            # 10 linear hidden units
    activation="linear",
    loss="mse",           # squared error through the sigmoid output
    optimizer="sgd",      # one review at a time
    lr=0.001,             # project 3 only learned with this small rate
    lr_decay=False,
    batch_size=1,
    epochs=1,             # the lesson's one-pass benchmark
    patience=0,
    dropout=0.0,
    l2=0.0,
    init_scale=0.0,       # W1 starts at zero
    val_fraction=0.0,     # train on the whole training set, as the lesson did
)

# Stage 5's training: what works best once reviews go through in batches. Minibatch SGD on
# the mean gradient moves a rare word's row by 1/batch of what per-review SGD did, and
# learns slowly; row-wise Adagrad gives each word its own step size, applied inside the
# sparse backward product (O(nnz x hidden) per batch, no gathering of rows). Cross-entropy
# makes the logit's gradient p - y, which does not vanish when the sigmoid saturates.
MINIBATCH = LESSON.with_(
    values="binary", kernel="csr", min_count=20, polarity_cutoff=0.05,
    batch_size=1024,      # one sparse product forward and one backward per 1,024 reviews
    loss="xent",
    optimizer="adagrad",
    lr=0.05,
    lr_decay=True,        # linear decay to 0 over the epochs
    epochs=8,             # cheap now; the median epoch is what the comparison times
)

#: ``train``'s defaults: the last stage, and the features the comparison's references use.
DEFAULTS = Settings()


def _describe(s: Settings) -> str:
    """What training with ``s`` does, in a sentence, from the settings themselves."""
    values = {"nb": "present or not, scaled by the naive-Bayes log-count ratio",
              "binary": "present or not", "count": "counted"}[s.values]
    window = s.for_labels(multiclass=False).negation
    negated = (f", negative after a negation up to its {window} words that carry meaning "
               "(two classes)" if window else "")
    words = (f"1-{s.ngrams} grams seen in at least {s.min_count} reviews, {values}{negated}; "
             f"{s.hidden} hidden units, {s.optimizer} at lr {s.lr:g}, {s.batch_size:,} "
             f"reviews per batch, at most "
             f"{s.epochs or f'{EPOCHS} (more on a small file: {MIN_STEPS} batches)'} epochs")
    if s.val_fraction and s.patience:
        words += (f", early stopping on about {s.val_fraction:.0%} of the training set held out "
                  "for validation")
    if s.dropout:
        words += f", dropout {s.dropout:g}"
    return f"train's defaults: {words}"


_STAGES = (
    Stage("1", "dense baseline",
          "word counts as a full one-hot vector; layer_0 @ W1 and a full outer-product "
          "update, one review at a time",
          "the original lesson (project 3)", LESSON, slow=True),
    Stage("2", "noise reduction",
          "binary word presence instead of counts; learning rate 0.1",
          "the original lesson (project 4)", LESSON.with_(values="binary", lr=0.1),
          slow=True),
    Stage("3", "sparse layer 1",
          "sum the active rows of W1 and update only those rows (index lists), still one "
          "review at a time",
          "seed 004 (the lesson's project 5)",
          LESSON.with_(values="binary", lr=0.1, kernel="rows")),
    Stage("4", "reduced vocabulary",
          "drop words seen in fewer than 20 reviews or with |log polarity| < 0.05; "
          "learning rate 0.01",
          "the original lesson (project 6)",
          LESSON.with_(values="binary", lr=0.01, kernel="rows", min_count=20,
                       polarity_cutoff=0.05)),
    Stage("5", "vectorized minibatch",
          "no Python loop over reviews: 1,024 reviews per CSR product forward and one "
          "backward; cross-entropy, row-wise Adagrad, 8 epochs",
          "seed 001", MINIBATCH),
    Stage("6", "dropout",
          f"dropout 0.5 on the hidden layer; one {MINIBATCH.mask!r} mask per batch (the "
          "default, fastest mask)",
          "seeds 000, 002", MINIBATCH.with_(dropout=0.5), relative_to="5"),
    Stage("6b", "dropout, binomial mask",
          "as 6, with the seed's mask: one RandomState.binomial call per review",
          "seed 000", MINIBATCH.with_(dropout=0.5, mask="binomial"), relative_to="5"),
    Stage("7", "defaults", _describe(DEFAULTS),
          "python -m sentiment train; the NB scaling is NBSVM's (Wang and Manning 2012)",
          DEFAULTS),
)

#: Reviews per epoch that the comparison trains and times slow stages on by default: about
#: 40 s each for stages 1 and 2 on a 2-core machine, instead of over 3 minutes each.
DEFAULT_LIMIT = 5000

#: The stages in order, by key.
STAGES: dict[str, Stage] = {s.key: s for s in _STAGES}
