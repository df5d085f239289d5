"""What a request body must be, and the 4xx error that names what is wrong with it.

Plain functions of bytes and parsed JSON: no HTTP here, so each rule is tested alone.
"""
from __future__ import annotations

import json

PREDICT_FIELDS = ("texts", "text", "all")
EXPLAIN_FIELDS = ("text", "top")
EXAMPLE = '{"texts": ["What a wonderful film.", "A dull mess."]}'


class HTTPError(Exception):
    """A request the server refuses: its status and the message of the JSON answer."""

    def __init__(self, status: int, message: str, headers: list | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or []

    def __repr__(self) -> str:
        return f"HTTPError({self.status}, {self.message!r})"


def kind(value) -> str:
    """The JSON name of a parsed value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    names = {str: "a string", int: "a number", float: "a number", list: "a list",
             dict: "an object"}
    return names.get(type(value), type(value).__name__)


def parse_object(body: bytes) -> dict:
    """The JSON object of a body: UTF-8 (a byte-order mark allowed), valid JSON, an object."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPError(400, f"the body is not UTF-8: byte {exc.start} is "
                        f"{body[exc.start]:#04x}; send JSON encoded in UTF-8") from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise HTTPError(400, f"the body is empty; send a JSON object such as {EXAMPLE}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HTTPError(400, f"the body is not valid JSON: {exc.msg} at line {exc.lineno} "
                        f"column {exc.colno}") from None
    except RecursionError:
        raise HTTPError(400, "the body is not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise HTTPError(422, f"expected a JSON object such as {EXAMPLE}, got {kind(data)}")
    return data


def check_fields(data: dict, allowed: tuple[str, ...]) -> None:
    unknown = [k for k in data if k not in allowed]
    if unknown:
        names = ", ".join(repr(k) if len(k) <= 40 else repr(k[:40]) + "..."
                          for k in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise HTTPError(422, f"unknown field{'s' * (len(unknown) > 1)} {names}; the fields "
                        f"are {', '.join(repr(k) for k in allowed)}")


def parse_predict(data: dict, max_texts: int) -> tuple[list[str], bool, bool]:
    """(texts, one text asked as ``text``, every class's probability) of a /predict body."""
    check_fields(data, PREDICT_FIELDS)
    every = data.get("all", False)
    if not isinstance(every, bool):
        raise HTTPError(422, f"'all' must be true or false, got {kind(every)}")
    if ("text" in data) == ("texts" in data):
        given = "both" if "text" in data else "neither"
        raise HTTPError(422, f"give 'texts' (a list of strings) or 'text' (one string); "
                        f"the request has {given}")
    if "text" in data:
        return [one_text(data)], True, every
    texts = data["texts"]
    if not isinstance(texts, list):
        hint = "; for one text, send {\"text\": \"...\"}" if isinstance(texts, str) else ""
        raise HTTPError(422, f"'texts' must be a list of strings, got {kind(texts)}{hint}")
    if not texts:
        raise HTTPError(422, "'texts' is empty; send at least one text")
    if len(texts) > max_texts:
        raise HTTPError(413, f"'texts' has {len(texts):,} texts; a request may have at most "
                        f"{max_texts:,} (the server's --max-texts): split it")
    if not all(type(t) is str for t in texts):
        at = next(i for i, t in enumerate(texts) if not isinstance(t, str))
        raise HTTPError(422, f"'texts' must be a list of strings: item {at} is "
                        f"{kind(texts[at])}")
    return texts, False, every


def one_text(data: dict) -> str:
    text = data.get("text")
    if "text" not in data:
        raise HTTPError(422, "missing field 'text' (one string)")
    if not isinstance(text, str):
        raise HTTPError(422, f"'text' must be a string, got {kind(text)}")
    return text


def parse_explain(data: dict) -> tuple[str, int]:
    """(text, features to show each way) of an /explain body."""
    check_fields(data, EXPLAIN_FIELDS)
    top = data.get("top", 10)
    if type(top) is not int or top < 1:
        raise HTTPError(422, f"'top' must be a whole number of at least 1, got "
                        f"{top if type(top) is int else kind(top)}")
    return one_text(data), top


def content_length(headers) -> int | None:
    """The Content-Length header's value, if given (a bad one is a 400)."""
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                raise HTTPError(400, "the Content-Length header is not a number") from None
    return None
