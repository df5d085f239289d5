"""The ASGI app: routes, bodies, answers. Plain ASGI (no framework between uvicorn and the
model): each request costs a dict lookup, one ``json.loads`` and one formatted answer.

Every answer is JSON except ``/metrics`` (Prometheus text) and ``/docs`` (HTML); every
refused request gets a 4xx with ``{"error": "..."}`` naming what is wrong, and a bug a
500 with the same shape (its traceback on stderr), never a dropped connection.
"""
from __future__ import annotations

import asyncio
import json
import sys
import time
import traceback
from dataclasses import dataclass

from .batcher import Batcher
from .openapi import docs_page, schema
from .requests import HTTPError, content_length, parse_explain, parse_object, parse_predict
from .state import Served, describe, load_served, summary

JSON = b"application/json"
PROMETHEUS = b"text/plain; version=0.0.4; charset=utf-8"
HTML = b"text/html; charset=utf-8"


@dataclass(frozen=True)
class Limits:
    """What one request may hold."""

    max_body: int = 10 << 20  # bytes
    max_texts: int = 10_000  # texts per request
    max_batch: int = 2048  # texts per scoring call
    max_wait: float = 0.0  # seconds a scoring call waits for more requests


class ClientGone(Exception):
    """The client closed the connection before its body arrived."""


class App:
    """The server's ASGI application, around one :class:`~.state.Served` model that
    :meth:`reload` replaces. ``log`` prints one line on stderr; ``on_reloaded`` is called
    after a reload asked over HTTP changed the model (the worker tells the others)."""

    def __init__(self, served: Served, metrics, limits: Limits = Limits(), log=None,
                 on_reloaded=None, workers: int = 1):
        self.served, self.metrics, self.limits = served, metrics, limits
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.on_reloaded, self.workers = on_reloaded, workers
        self.draining = False
        self.batcher = Batcher(lambda: self.served.model, max_texts=limits.max_batch,
                               max_wait=limits.max_wait, on_batch=metrics.batch)
        self._reloading = asyncio.Lock()
        self.routes = {"/predict": ("POST", self.predict), "/explain": ("POST", self.explain),
                       "/health": ("GET", self.health), "/ready": ("GET", self.ready),
                       "/metrics": ("GET", self.prometheus), "/model": ("GET", self.model),
                       "/reload": ("POST", self.reload_request),
                       "/openapi.json": ("GET", self.openapi), "/docs": ("GET", self.docs)}

    def __repr__(self) -> str:
        return f"App({self.served!r}, {self.limits}, draining={self.draining})"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":  # lifespan: nothing to start or stop
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        start = time.perf_counter()
        path = scope["path"]
        route = self.routes.get(path)
        self.metrics.inflight(1)
        try:
            try:
                status, body, ctype = await self._answer(route, scope, receive)
                headers = []
            except HTTPError as exc:
                status, ctype, headers = exc.status, JSON, exc.headers
                body = json.dumps({"error": exc.message}).encode()
            except ClientGone:
                return
            except Exception as exc:  # a bug: said, never a dropped connection
                self.log(f"internal error answering {scope['method']} {path}:\n"
                         + "".join(traceback.format_exception(exc)).rstrip())
                status, ctype, headers = 500, JSON, []
                body = json.dumps({"error": f"internal error: {type(exc).__name__}; "
                                   "the server's log has the details"}).encode()
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", ctype),
                                    (b"content-length", str(len(body)).encode()), *headers]})
            await send({"type": "http.response.body", "body": body})
            self.metrics.request(path if route else "other", status,
                                 time.perf_counter() - start)
        finally:
            self.metrics.inflight(-1)

    async def _answer(self, route, scope, receive):
        path, method = scope["path"], scope["method"]
        if route is None:
            raise HTTPError(404, f"no such path {path!r}; the paths are "
                            f"{', '.join(self.routes)} (see /docs)")
        allowed, handler = route
        if method != allowed:
            raise HTTPError(405, f"{method} {path}: this path answers {allowed}",
                            [(b"allow", allowed.encode())])
        if allowed == "GET":
            return await handler()
        return await handler(await self._body(scope, receive))

    async def _body(self, scope, receive) -> dict:
        limit = self.limits.max_body
        length = content_length(scope["headers"])
        if length is not None and length > limit:
            raise HTTPError(413, f"the body is {length:,} bytes; at most {limit:,} (the "
                            "server's --max-body)")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise HTTPError(413, f"the body is over {limit:,} bytes (the server's "
                                "--max-body)")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return parse_object(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    # -- the routes: each returns (status, body, content type) --------------------------
    async def predict(self, data: dict):
        texts, single, every = parse_predict(data, self.limits.max_texts)
        result = await self.batcher.submit(texts, every)
        body = result[1:-1] if single else f'{{"predictions":{result}}}'
        return 200, body.encode("utf-8", "surrogatepass"), JSON

    async def explain(self, data: dict):
        from ..model.explain import explain

        text, top = parse_explain(data)
        served = self.served
        e = await asyncio.get_running_loop().run_in_executor(None, explain, served.model,
                                                             text)
        return 200, json.dumps(e.to_dict(top)).encode(), JSON

    async def health(self):
        return 200, b'{"status":"alive"}', JSON

    async def ready(self):
        if self.draining:
            raise HTTPError(503, "draining: the server is stopping")
        return 200, json.dumps({"status": "ready", "model": self.served.version}).encode(), \
            JSON

    async def prometheus(self):
        served = self.served
        info = {"name": served.name, "version": served.version,
                "classes": ",".join(served.model.classes)}
        return 200, self.metrics.text(info).encode(), PROMETHEUS

    async def model(self):
        return 200, json.dumps(summary(self.served, self.workers), default=str).encode(), JSON

    async def openapi(self):
        return 200, json.dumps(schema()).encode(), JSON

    async def docs(self):
        return 200, docs_page().encode(), HTML

    async def reload_request(self, data: dict):
        if data:
            raise HTTPError(422, "POST /reload takes an empty object {}: it reads the "
                            "server's own model file again")
        changed, previous = await self.reload("POST /reload")
        if changed and self.on_reloaded is not None:
            self.on_reloaded()
        return 200, json.dumps({"reloaded": changed, "version": self.served.version,
                                "previous": previous}).encode(), JSON

    # -- reloading ----------------------------------------------------------------------
    async def reload(self, why: str) -> tuple[bool, str]:
        """Read the model file again, off the event loop; swap it in if it loads and
        differs. Return (changed, the version before). A file that does not load is
        refused (422 over HTTP) and the model in use keeps answering."""
        from ..errors import SentimentError

        async with self._reloading:
            old = self.served
            try:
                new = await asyncio.get_running_loop().run_in_executor(
                    None, load_served, old.path, old.name)
            except Exception as exc:  # whatever it is, the file is not served
                if not isinstance(exc, SentimentError):
                    exc = f"{type(exc).__name__}: {exc}"
                self.metrics.reload(False)
                self.log(f"reload ({why}) refused: {exc}; still answering with version "
                         f"{old.version}")
                raise HTTPError(422, f"the model file was refused ({exc}); still answering "
                                f"with version {old.version}") from None
            if new.version == old.version:
                return False, old.version
            self.served = new
            self.metrics.reload(True)
            self.log(f"reloaded ({why}): {describe(new)}, was version {old.version}")
            return True, old.version


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
