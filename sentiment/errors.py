"""The one error family for user mistakes: caught once in the CLI, shown as one line."""


class SentimentError(Exception):
    """A mistake in the user's input or setup; the message says where and what to do."""

