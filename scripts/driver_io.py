"""Run ``python -m sentiment ARGS`` as a cluster's driver and say what it read: every module
is imported first, then ``/proc/self/io`` is read around the command alone and printed on
stderr as ``driver io {...}`` (JSON: each counter's difference). scripts/cluster_files.py and
tests/test_cluster_files.py run this file's text with ``python -c`` (the working folder
first on the path, as for ``python -m``)."""
# what a run imports, imported before counting: their files' reads are not the command's
import ctypes.util  # noqa: F401
import encodings.utf_8_sig  # noqa: F401
import json
import pkgutil
import sys

import distributed  # noqa: F401
import distributed.protocol.numpy  # noqa: F401
import fsspec  # noqa: F401
import pandas  # noqa: F401
import scipy.sparse  # noqa: F401
import tornado.platform.asyncio  # noqa: F401
import tqdm.auto  # noqa: F401

import sentiment

for m in pkgutil.walk_packages(sentiment.__path__, "sentiment."):
    if not m.name.startswith(("sentiment.serve", "sentiment.lab", "sentiment.__main__")):
        __import__(m.name)

from sentiment.cli import main  # noqa: E402


def io() -> dict:
    return dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())


before = io()
code = main(sys.argv[1:])
after = io()
print("driver io " + json.dumps({k: int(after[k]) - int(before[k]) for k in after}),
      file=sys.stderr)
sys.exit(code)
