"""``serve``: the model over HTTP (``sentiment.serve``, the ``serve`` extra)."""
from __future__ import annotations

from ..errors import SentimentError
from .common import model_arg, note, positive, say_which_model, size_in_bytes

INSTALL = 'pip install "sparse-sentiment[serve]"  (from a checkout: pip install ".[serve]")'


def default_workers() -> int:
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count() or 1
    return max(1, min(cores, 4))


def add_serve(sub) -> None:
    p = sub.add_parser("serve", help="answer predictions over HTTP",
                       description="Serve the model over HTTP: POST /predict, POST /explain, "
                       "GET /health, /ready, /metrics, /model, /docs. SIGTERM or Ctrl-C "
                       "stops after answering the requests in flight; SIGHUP (or POST "
                       "/reload) reads the model file again. Needs the serve extra: "
                       f"{INSTALL}.")
    model_arg(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: "
                   "127.0.0.1, this machine only; 0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks "
                   "a free one, said on stderr)")
    p.add_argument("--workers", type=int, metavar="N", help="worker processes sharing the "
                   "port (default: the number of cores, at most 4)")
    p.add_argument("--max-body", default="10M", metavar="SIZE", help="largest request body "
                   "(default: 10M); larger ones get 413")
    p.add_argument("--max-texts", type=int, default=10_000, metavar="N", help="most texts "
                   "in one request (default: 10,000); more get 413")
    p.add_argument("--max-batch", type=int, default=2048, metavar="N", help="most texts "
                   "scored in one call, from concurrent requests (default: 2048)")
    p.add_argument("--max-wait", type=float, default=0.0, metavar="MS", help="milliseconds "
                   "a scoring call waits for more requests (default: 0: requests that "
                   "arrive during a call are scored together in the next)")
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args) -> int:
    import importlib.util
    import sys

    if sys.platform == "win32":
        raise SentimentError("serve runs on Linux and macOS: its workers inherit the "
                             "listening socket and reload on SIGHUP; on Windows, run it "
                             "in WSL or a container")
    if importlib.util.find_spec("uvicorn") is None:
        raise SentimentError(f"serve needs the serve extra: {INSTALL}")
    from ..serve.app import Limits
    from ..serve.state import describe
    from ..serve.supervisor import Supervisor, bind

    workers = default_workers() if args.workers is None else args.workers
    positive(workers, "--workers")
    positive(args.max_texts, "--max-texts")
    positive(args.max_batch, "--max-batch")
    if not 0 <= args.port <= 65535:
        raise SentimentError(f"--port {args.port}: must be between 0 and 65535")
    if not 0 <= args.max_wait <= 1000:
        raise SentimentError(f"--max-wait {args.max_wait}: must be between 0 and 1000 ms")
    limits = Limits(max_body=body_size(args.max_body), max_texts=args.max_texts,
                    max_batch=args.max_batch, max_wait=args.max_wait / 1000)
    served = load_checked(args.model)  # a bad model: said before the port is taken
    line = describe(served)
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    supervisor = Supervisor(str(served.path), served.name, sock, workers, limits)
    del served  # each worker loads its own

    def ready() -> None:
        note(f"serving {line} on {url} with {workers} worker{'s' * (workers > 1)} "
             f"(docs: {url}/docs; Ctrl-C or SIGTERM stops, SIGHUP reloads the model)")

    return supervisor.run(ready)


def load_checked(path):
    """The model ``predict`` would use (said on stderr unless it is the user's own),
    loaded once here so that a missing or bad file is one line before the port is taken."""
    from pathlib import Path

    from ..io.paths import find_model
    from ..serve.state import load_served

    found, kind = find_model(path)
    if not Path(found).is_file():
        raise SentimentError(f"{found}: no such model file (train one with 'sentiment "
                             "train FILE', or leave out --model for the default)")
    served = load_served(Path(found), "built-in" if kind == "builtin" else None)
    say_which_model(kind, served.model.info)
    return served


def body_size(text: str) -> int:
    """Bytes from --max-body: '10M', '512K', or a number of bytes (1K to 1G)."""
    size = size_in_bytes(text)
    if not 1 << 10 <= size <= 1 << 30:  # also refuses nan
        raise SentimentError(f"--max-body {text}: give a size from 1K to 1G, such as 10M")
    return int(size)
