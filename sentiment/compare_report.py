"""The staged comparison's output: a text table for the terminal, the headline sentences,
and the files (CSV, Markdown, PNG chart, a generated README) that :func:`write_outputs`
puts in ``--out``.

Every function takes the rows of :func:`sentiment.compare.compare` (keys in
:data:`sentiment.compare.ROW_KEYS`) and only formats them: nothing here trains or times.
"""
from __future__ import annotations

import csv
import platform
from pathlib import Path

import numpy as np

from .compare import ROW_KEYS

#: Speed-ups the summary states: (faster stage, slower stage).
HEADLINES = (("5", "3"), ("5", "1"))


def _secs(x) -> str:
    return f"{x:,.2f}" if x >= 1 else f"{x:.3f}"


def _pct(x) -> str:
    return "-" if x is None else f"{x:.2%}"


def _times(x) -> str:
    return "-" if x is None else f"{x:,.{1 if x < 9.95 else 0}f}x"


def format_table(rows: list[dict]) -> str:
    """The rows as a fixed-width text table for a terminal."""
    head = (f"{'stage':<28}{'vocab':>8}{'reviews/s':>12}{'s/epoch':>10}{'train':>9}"
            f"{'test':>9}{'speed-up':>11}{'time vs':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        title = f"{r['stage']} {r['name']}" + ("*" if r["limited"] else "")
        ratio = (f"{r['time_ratio']:.2f}x {r['relative_to']}" if r["time_ratio"] is not None
                 else "")
        lines.append(f"{title:<28.28}{r['vocabulary']:>8,}{r['reviews_per_second']:>12,.0f}"
                     f"{_secs(r['seconds_per_epoch']):>10}{_pct(r['train_accuracy']):>9}"
                     f"{_pct(r['test_accuracy']):>9}{_times(r['speedup']):>11}{ratio:>10}")
    lines.extend(_footnotes(rows))
    return "\n".join(lines)


def _footnotes(rows) -> list[str]:
    out = []
    limited = sorted({r["limited"] for r in rows if r["limited"]})
    if limited:
        n = ", ".join(f"{x:,}" for x in limited)
        out.append(f"* trained and timed on {n} random training reviews of "
                   f"{rows[0]['train_reviews']:,} (--limit); its s/epoch is extrapolated to "
                   "all of them. Test accuracy is always on the whole test set.")
    if any(r["time_ratio"] is not None for r in rows):
        out.append("time vs: the stage's fastest epoch over the named stage's fastest "
                   "epoch. reviews/s and s/epoch come from the median epoch.")
    return out


def summary(rows: list[dict]) -> list[str]:
    """Sentences with the headline ratios, for the stages present."""
    by_key = {r["stage"]: r for r in rows}
    out = []
    for fast, slow in HEADLINES:
        if fast in by_key and slow in by_key:
            f, s = by_key[fast], by_key[slow]
            out.append(f"stage {fast} trains {f['reviews_per_second'] / s['reviews_per_second']:,.0f}x "
                       f"more reviews per second than stage {slow} "
                       f"({f['reviews_per_second']:,.0f} vs {s['reviews_per_second']:,.0f}); "
                       f"test accuracy {_pct(f['test_accuracy'])} vs {_pct(s['test_accuracy'])}")
    for r in rows:
        if r["time_ratio"] is not None:
            base = by_key[r["relative_to"]]
            out.append(f"stage {r['stage']} ({r['name']}) takes {r['time_ratio']:.2f}x the "
                       f"time per epoch of stage {r['relative_to']} (fastest epochs "
                       f"{r['best_epoch_seconds']:.3f} s vs {base['best_epoch_seconds']:.3f} s; "
                       f"medians {r['seconds_per_epoch']:.3f} s vs "
                       f"{base['seconds_per_epoch']:.3f} s)")
    return out


def format_profile(rows: list[dict]) -> str:
    """Each stage's most expensive functions, as text."""
    lines = []
    for r in rows:
        if not r.get("profile"):
            continue
        lines.append(f"stage {r['stage']} {r['name']}: top functions by own time")
        for p in r["profile"]:
            lines.append(f"  {p['tottime']:8.3f} s {p['share']:6.1%} {p['calls']:>9,} calls  "
                         f"{p['function']}")
    return "\n".join(lines)


def write_csv(rows: list[dict], path) -> Path:
    """Write the rows (without profiles) as CSV, one line per stage."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=ROW_KEYS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def markdown_table(rows: list[dict]) -> str:
    """The rows as a Markdown table, with footnotes."""
    lines = ["| stage | what changed | vocabulary | reviews/s | s/epoch | train acc. | "
             "test acc. | speed-up vs 1 | time vs |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        star = "\\*" if r["limited"] else ""
        ratio = (f"{r['time_ratio']:.2f}x stage {r['relative_to']}"
                 if r["time_ratio"] is not None else "")
        changed = r["changed"].replace("|", "\\|")  # a bare pipe would end the cell
        lines.append(f"| {r['stage']} {r['name']}{star} | {changed} | "
                     f"{r['vocabulary']:,} | {r['reviews_per_second']:,.0f} | "
                     f"{_secs(r['seconds_per_epoch'])} | {_pct(r['train_accuracy'])} | "
                     f"{_pct(r['test_accuracy'])} | {_times(r['speedup'])} | {ratio} |")
    notes = [n.replace("*", "\\*", 1) for n in _footnotes(rows)]
    return "\n".join(lines + [line for n in notes for line in ("", n)])


def write_markdown(rows: list[dict], path) -> Path:
    path = Path(path)
    path.write_text(markdown_table(rows) + "\n", encoding="utf-8")
    return path


def write_chart(rows: list[dict], path, title: str = "") -> Path:
    """Reviews per second per stage (log scale) and accuracy beside it, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['stage']} {r['name']}" + ("*" if r["limited"] else "") for r in rows]
    y = np.arange(len(rows))
    fig, (speed, acc) = plt.subplots(1, 2, figsize=(12, 1.0 + 0.55 * len(rows)),
                                     sharey=True, gridspec_kw={"width_ratios": [3, 2]})
    rates = [r["reviews_per_second"] for r in rows]
    speed.barh(y, rates, color=["#999999" if r["limited"] else "#3b75af" for r in rows])
    speed.set_xscale("log")
    speed.set_xlim(min(rates) / 2, max(rates) * 30)
    for i, r in enumerate(rows):
        extra = f"  ({_times(r['speedup'])})" if r["speedup"] is not None else ""
        speed.text(r["reviews_per_second"] * 1.15, i, f"{r['reviews_per_second']:,.0f}{extra}",
                   va="center", fontsize=9)
    speed.set_yticks(y, labels)
    speed.invert_yaxis()
    speed.set_xlabel("training reviews per second (log scale)")
    for offset, key, color, label in ((-0.2, "test_accuracy", "#e08a3c", "test (whole set)"),
                                      (0.2, "train_accuracy", "#f3c89e", "train")):
        values = [r[key] for r in rows]
        acc.barh(y + offset, values, height=0.4, color=color, label=label)
        for i, v in enumerate(values):
            acc.text(v + 0.004, i + offset, f"{v:.1%}", va="center", fontsize=8)
    low = min([0.5] + [np.floor(r[k] * 10) / 10 for r in rows
                       for k in ("test_accuracy", "train_accuracy")])
    acc.set_xlim(low, 1.08)
    acc.set_xticks(np.arange(low, 1.01, 0.1))
    acc.set_xlabel("accuracy")
    acc.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8,
               frameon=False)
    foot = [line for line in _footnotes(rows) if line.startswith("*")]
    if foot:
        fig.text(0.01, 0.01, foot[0], fontsize=8, color="#555555")
    fig.suptitle(title or "Training speed and accuracy per stage")
    fig.tight_layout(rect=(0, 0.05 if foot else 0, 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_outputs(rows: list[dict], out_dir, *, command: str, data: str,
                  seconds: float) -> list[Path]:
    """Write comparison.csv, comparison.md, comparison.png (if matplotlib is installed)
    and a README.md stating the command, the machine and the headline ratios."""
    out = Path(out_dir)
    written = [write_csv(rows, out / "comparison.csv"),
               write_markdown(rows, out / "comparison.md")]
    chart = None
    try:
        chart = write_chart(rows, out / "comparison.png", f"Speed and accuracy per stage: {data}")
        written.append(chart)
    except ImportError:
        pass
    written.append(_write_readme(rows, out / "README.md", command=command, data=data,
                                 seconds=seconds, chart=chart))
    return written


def _write_readme(rows, path, *, command, data, seconds, chart) -> Path:
    import scipy

    lines = ["# The staged comparison", "",
             "Generated by the command below; do not edit by hand, run it again.", "",
             "```bash", command, "```", "",
             f"Data: {data}. Whole run: {seconds:.0f} s on {_machine()}, numpy "
             f"{np.__version__}, scipy {scipy.__version__}, Python {platform.python_version()}"
             f"{_revision()}.", ""]
    if chart is not None:
        lines += [f"![speed and accuracy per stage]({Path(chart).name})", ""]
    lines += [markdown_table(rows), ""]
    lines += [f"- {s}" for s in summary(rows)] + [""]
    lines += ["## The stages", ""]
    lines += [f"- **{r['stage']} {r['name']}**: {r['changed']}. Source: {r['source']}."
              for r in rows]
    prof = format_profile(rows)
    if prof:
        lines += ["", "## Where the time goes (cProfile, own time, training loop only)", "",
                  "```", prof, "```"]
    path = Path(path)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _revision() -> str:
    """``, code at <git commit>`` (``-dirty`` with uncommitted changes), if in a checkout."""
    import subprocess

    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                             text=True, timeout=10, cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return ""
    return f", code at {rev.stdout.strip()}" if rev.returncode == 0 and rev.stdout else ""


def _machine() -> str:
    import os

    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.1f} at the end"
    return f"{os.cpu_count()} CPUs ({platform.machine()}, {platform.system()}{load})"
