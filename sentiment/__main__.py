"""``python -m sentiment``: the command line."""
import gc
import os
import sys

# OpenBLAS's own threads, unless the user sets their number: started as numpy is imported,
# each spins on a core for a while after its start and after every product (perf of IMDB's
# `train --test`: 0.29 s of the run's ~8 s of CPU in blas_thread_server, at numpy's import
# in both processes and after the last products, beside work that had the core). The
# command's products are a batch by the few hidden units, which a second thread did not
# speed up (`bench`'s "epoch, 2 BLAS threads vs 1": 1.00x); threadpoolctl still raises it
# where a caller asks. Set before numpy is imported (the package's __init__ does not).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .cli import main  # noqa: E402

code = main()
# The objects left are freed as the interpreter ends, files and streams closed; its last
# garbage collection would first walk all of them (pandas' alone: 0.1 s of every command
# that read a file) to find cycles, which the ending process does not need freed.
gc.freeze()
sys.exit(code)
