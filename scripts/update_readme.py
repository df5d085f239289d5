"""Copy generated tables into the pages of PAGES, between their BEGIN/END markers.

They show tables that scripts generate under docs/ (never typed by hand). A section
``<!-- BEGIN docs/X.md -->`` ... ``<!-- END docs/X.md -->`` receives the first Markdown
table of ``docs/X.md`` (with its caption lines up to the next blank line after the table).
Usage: ``python scripts/update_readme.py`` after regenerating the docs.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"(<!-- BEGIN (\S+) -->\n).*?(<!-- END \2 -->)", re.S)


def first_table(text: str) -> str:
    """The first Markdown table in ``text``, with its footnote if one follows."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    # a footnote to starred rows ("\* ...") belongs with the table
    if end + 1 < len(lines) and lines[end + 1].startswith("\\*"):
        end += 2
        while end < len(lines) and lines[end].strip():
            end += 1
    return "\n".join(lines[start:end]) + "\n"


PAGES = ("README.md", "docs/lesson.md", "docs/cluster.md", "docs/negation.md")


def main() -> int:
    for page in PAGES:
        fill_page(ROOT / page)
    return 0


def fill_page(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")

    def fill(match: re.Match) -> str:
        source = ROOT / match.group(2)
        if not source.exists():
            print(f"{source}: missing; run the script that generates it", file=sys.stderr)
            return match.group(0)
        return match.group(1) + first_table(source.read_text(encoding="utf-8")) + \
            match.group(3)

    readme.write_text(MARKER.sub(fill, text), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
