"""The error families for user mistakes: caught once in the CLI, shown as one line; and the
stop a user asked for (Ctrl-C, SIGTERM) on its way out of long work."""


class SentimentError(Exception):
    """A mistake in the user's input or setup; the message says where and what to do."""


class StopRequested(Exception):
    """A stop was asked for (``should_stop()`` turned true) where long work polls it: while
    rows are read and prepared, inside an epoch, during a cluster's round. Whoever started
    the work turns it into its outcome (training:
    :class:`~sentiment.training.loop.TrainingStopped`)."""


class DataError(ValueError):
    """The training data as given cannot train a model (one class, no feature left, no
    training row...). Raised by the library, which may not know the file's name: the
    command line adds it and shows the message as one line."""
