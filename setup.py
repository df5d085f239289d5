"""The optional compiled accelerator, sentiment.native._fast (everything else is in pyproject.toml).

``optional=True``: where no C compiler is found the install goes on without it, and the
package runs the same steps with numpy and scipy (sentiment/native/loops.py says which is used).
"""
from setuptools import Extension, setup

SOURCES = [f"sentiment/native/{name}.c" for name in
           ("_fast", "_epoch", "_epoch_pair", "_tokens", "_scripts", "_words", "_counting",
            "_lookup", "_merge", "_normalize")]

setup(ext_modules=[Extension("sentiment.native._fast", SOURCES,
                             depends=["sentiment/native/_fast.h"], optional=True,
                             extra_compile_args=["-O3"])])
