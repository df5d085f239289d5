"""One worker process: ``python -m sentiment.serve.worker CONFIG`` (started by the
supervisor, never by hand). It loads the model, runs the app on uvicorn on the listening
socket it inherited, and handles its own signals:

- SIGTERM: stop taking connections, answer every request already read, exit 0;
- SIGHUP: read the model file again (a bad file is refused, the old model answers on);
- SIGINT: ignored (the supervisor, which got it too, sends SIGTERM);
- the supervisor gone: stop as on SIGTERM.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from pathlib import Path


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server without its signal handling (this module has its own)."""

        @contextlib.contextmanager
        def capture_signals(self):  # uvicorn >= 0.29
            yield

        def install_signal_handlers(self) -> None:  # older uvicorn
            pass

    return Server


def uvicorn_config(app, graceful: float):
    """uvicorn's settings for a worker: httptools and uvloop where installed (``auto``),
    no access log, no lifespan, a bounded graceful shutdown."""
    import uvicorn

    return uvicorn.Config(app, loop="auto", http="auto", lifespan="off", access_log=False,
                          log_level="warning", server_header=False,
                          timeout_graceful_shutdown=graceful)


async def run(config: dict) -> int:
    from .app import App, Limits
    from .metrics import Metrics
    from .state import load_served

    slot = config["slot"]

    def log(line: str) -> None:
        print(f"worker {slot}: {line}", file=sys.stderr, flush=True)

    served = load_served(Path(config["model"]), config["name"])
    parent = os.getppid()
    app = App(served, Metrics(config["metrics"], slot), Limits(**config["limits"]), log,
              on_reloaded=lambda: os.kill(parent, signal.SIGHUP), workers=config["workers"])
    sock = socket.socket(fileno=config["fd"])
    server = _server_class()(uvicorn_config(app, config["graceful"]))

    def stop() -> None:
        app.draining = True
        server.should_exit = True

    def reload() -> None:
        async def quietly():
            with contextlib.suppress(Exception):  # refused: said in the log
                await app.reload("SIGHUP")
        asyncio.ensure_future(quietly())

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop)
    loop.add_signal_handler(signal.SIGHUP, reload)
    watch = asyncio.ensure_future(_watch(parent, server, stop, config["ready_fd"]))
    try:
        await server.serve(sockets=[sock])
    finally:
        watch.cancel()
        app.batcher.close()
    return 0


async def _watch(parent: int, server, stop, ready_fd: int) -> None:
    """Tell the supervisor once the server listens; stop if the supervisor dies."""
    while not server.started:
        await asyncio.sleep(0.01)
    os.write(ready_fd, b"r")
    os.close(ready_fd)
    while True:
        await asyncio.sleep(1.0)
        if os.getppid() != parent:
            stop()
            return


def main(argv: list[str]) -> int:
    # until the app runs: a SIGHUP is not fatal, a SIGTERM has nothing to wait for
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor got it too: it says when
    config = json.loads(argv[0])
    try:
        import uvloop  # noqa: F401
        runner = uvloop.run if hasattr(uvloop, "run") else None
    except ImportError:
        runner = None
    from ..errors import SentimentError

    try:
        return (runner or asyncio.run)(run(config))
    except SentimentError as exc:  # the model file went bad since the command checked it
        print(f"worker {config['slot']}: error: {exc}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
