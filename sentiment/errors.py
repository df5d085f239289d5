"""The error families for user mistakes: caught once in the CLI, shown as one line."""


class SentimentError(Exception):
    """A mistake in the user's input or setup; the message says where and what to do."""


class DataError(ValueError):
    """The training data as given cannot train a model (one class, no feature left, no
    training row...). Raised by the library, which may not know the file's name: the
    command line adds it and shows the message as one line."""
