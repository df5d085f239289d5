"""``sentiment serve``: the model behind HTTP, on uvicorn (the ``serve`` extra).

A supervisor (:mod:`.supervisor`) binds the port and starts N worker processes that share
it (:mod:`.worker`); each runs the ASGI app (:mod:`.app`) on uvicorn, batches the texts of
concurrent requests into one scoring call off the event loop (:mod:`.batcher`), and counts
what it does in memory shared with the others (:mod:`.metrics`), so ``GET /metrics`` sums
every worker. Only :mod:`.worker` imports uvicorn; the rest is the standard library and
the package's core.
"""
