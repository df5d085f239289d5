"""The model built into the package (scripts/build_builtin.py)."""
