"""The server's OpenAPI 3.1 schema (``GET /openapi.json``) and a docs page made from it
(``GET /docs``: one self-contained HTML page, no script fetched from elsewhere)."""
from __future__ import annotations

import html
import json
from functools import lru_cache

ERROR = {"type": "object", "properties": {"error": {"type": "string"}},
         "required": ["error"]}
PREDICTION = {"type": "object", "required": ["label", "score"], "properties": {
    "label": {"type": "string", "description": "the most likely class (as `predict`)"},
    "score": {"type": "number", "description": "the probability of that label"},
    "probabilities": {"type": "object", "additionalProperties": {"type": "number"},
                      "description": "every class's probability (with \"all\": true)"}}}
PREDICT_BODY = {"type": "object", "additionalProperties": False, "properties": {
    "texts": {"type": "array", "items": {"type": "string"}, "minItems": 1,
              "description": "texts to label (at most --max-texts)"},
    "text": {"type": "string", "description": "one text: the answer is one object"},
    "all": {"type": "boolean", "default": False,
            "description": "add every class's probability"}},
    "oneOf": [{"required": ["texts"]}, {"required": ["text"]}]}
EXPLAIN_BODY = {"type": "object", "additionalProperties": False, "required": ["text"],
                "properties": {"text": {"type": "string"},
                               "top": {"type": "integer", "minimum": 1, "default": 10}}}
EXAMPLES = {"/predict": {"texts": ["What a wonderful, moving film.", "A dull, lifeless mess."]},
            "/explain": {"text": "not bad at all", "top": 5}}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    what = {400: "not UTF-8, or not JSON", 413: "body or texts over the limit",
            422: "a field missing, unknown or of the wrong type", 503: "stopping"}
    return {str(c): {"description": what[c], **_json(ERROR)} for c in codes}


@lru_cache(maxsize=1)
def schema() -> dict:
    from .. import __version__

    bad = _errors(400, 413, 422)
    ops = {
        "/predict": {"post": {
            "summary": "Label texts", "requestBody": {"required": True, **_json(PREDICT_BODY)},
            "responses": {"200": {"description": "one prediction per text, in order (one "
                                  "object for \"text\")", **_json({"oneOf": [
                                      {"type": "object", "properties": {"predictions": {
                                          "type": "array", "items": PREDICTION}}},
                                      PREDICTION]})}, **bad}}},
        "/explain": {"post": {
            "summary": "The words that pushed one text's label each way (as `explain`)",
            "requestBody": {"required": True, **_json(EXPLAIN_BODY)},
            "responses": {"200": {"description": "signed contributions to the logit",
                                  **_json({"type": "object"})}, **bad}}},
        "/health": {"get": {"summary": "The process is alive",
                            "responses": {"200": {"description": "alive"}}}},
        "/ready": {"get": {"summary": "A model is loaded and requests are taken",
                           "responses": {"200": {"description": "ready"}, **_errors(503)}}},
        "/metrics": {"get": {"summary": "Counters of every worker, Prometheus text format",
                             "responses": {"200": {"description": "text/plain"}}}},
        "/model": {"get": {"summary": "The model: name, version, classes, training",
                           "responses": {"200": {"description": "the model",
                                                 **_json({"type": "object"})}}}},
        "/reload": {"post": {
            "summary": "Read the model file again (as SIGHUP); a bad file is refused",
            "requestBody": {"required": False, **_json({"type": "object",
                                                        "maxProperties": 0})},
            "responses": {"200": {"description": "reloaded, or unchanged",
                                  **_json({"type": "object"})}, **_errors(422)}}},
    }
    return {"openapi": "3.1.0",
            "info": {"title": "sentiment serve", "version": __version__,
                     "description": "Label texts with a sentiment model over HTTP."},
            "paths": ops}


@lru_cache(maxsize=1)
def docs_page() -> str:
    """The schema as a page: each path, what it does, an example with curl."""
    rows = []
    for path, methods in schema()["paths"].items():
        for method, op in methods.items():
            example = EXAMPLES.get(path)
            curl = f"curl -s localhost:8000{path}"
            if example is not None:
                curl = f"curl -s localhost:8000{path} -d '{json.dumps(example)}'"
            elif method == "post":
                curl = f"curl -s -X POST localhost:8000{path}"
            codes = ", ".join(op["responses"])
            rows.append(f"<h2><code>{method.upper()} {html.escape(path)}</code></h2>"
                        f"<p>{html.escape(op['summary'])}. Answers: {codes}.</p>"
                        f"<pre>{html.escape(curl)}</pre>")
    body = "\n".join(rows)
    full = html.escape(json.dumps(schema(), indent=1))
    return ("<!doctype html><html><head><meta charset='utf-8'><title>sentiment serve"
            "</title><style>body{font-family:sans-serif;max-width:50em;margin:2em auto}"
            "pre{background:#f4f4f4;padding:.5em;overflow-x:auto}</style></head><body>"
            "<h1>sentiment serve</h1><p>Errors are JSON: <code>{\"error\": \"...\"}</code> "
            "with a 4xx status naming what is wrong. The schema: "
            "<a href='/openapi.json'>/openapi.json</a>.</p>"
            f"{body}<details><summary>OpenAPI schema</summary><pre>{full}</pre></details>"
            "</body></html>")
