"""Print the lowest declared version of every dependency (and extra) as pins, for pip.

``pip install -r <(python scripts/lowest_requirements.py plot)`` installs exactly the
floors that pyproject.toml declares (``numpy>=1.24`` -> ``numpy==1.24.*``), so CI can check
that they still pass the tests (``.ci/run``).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def declared(extras: list[str]) -> list[str]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in extras:
        specs += project["optional-dependencies"][extra]
    return specs


def pin(spec: str) -> str:
    """``name>=version`` as the pin of that floor; an environment marker (``; sys_platform
    != 'win32'``) is kept."""
    spec, _, marker = spec.partition(";")
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9.]*)\s*", spec)
    if not match:
        raise SystemExit(f"{spec!r}: not of the form name>=version")
    name, version = match.groups()
    pinned = f"{name}=={version}.*" if version.count(".") < 2 else f"{name}=={version}"
    return f"{pinned}; {marker.strip()}" if marker.strip() else pinned


if __name__ == "__main__":
    print("\n".join(pin(s) for s in declared(sys.argv[1:])))
