"""``python -m sentiment``: the command line."""
import gc
import sys

from .cli import main

code = main()
# The objects left are freed as the interpreter ends, files and streams closed; its last
# garbage collection would first walk all of them (pandas' alone: 0.1 s of every command
# that read a file) to find cycles, which the ending process does not need freed.
gc.freeze()
sys.exit(code)
