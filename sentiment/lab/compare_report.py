"""The staged comparison's output: a text table for the terminal, the headline sentences,
and the files (CSV, Markdown, PNG chart, a generated README) that :func:`write_outputs`
puts in ``--out``.

Every function takes the rows of :func:`sentiment.lab.compare.compare` (keys in
:data:`sentiment.lab.compare_report.ROW_KEYS`) and only formats them: nothing here trains or times.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from ..io.files import atomic_write
from .timing import code_version, machine, machine_line

#: Speed-ups the summary states: (faster stage, slower stage).
HEADLINES = (("5", "3"), ("5", "1"))


#: The stage the references are set against: train's defaults, whose features they use.
DEFAULTS_STAGE = "7"
#: Bar colours of the chart: a stage, a stage timed on --limit reviews, a reference.
# the columns of a comparison row, in the order of the CSV file
ROW_KEYS = ("stage", "kind", "name", "changed", "source", "vocabulary", "epochs",
            "train_reviews", "limited", "reviews_per_second", "seconds_per_epoch",
            "best_epoch_seconds", "vectorize_seconds", "fit_seconds", "train_accuracy",
            "test_accuracy", "speedup", "relative_to", "time_ratio", "seconds")

COLOURS = {"stage": "#3b75af", "limited": "#999999", "reference": "#5b9a4a"}


def _secs(x) -> str:
    return "-" if x is None else f"{x:,.2f}" if x >= 1 else f"{x:.3f}"


def pct(x) -> str:
    return "-" if x is None else f"{x:.2%}"


def _times(x) -> str:
    return "-" if x is None else f"{x:,.{1 if x < 9.95 else 0}f}x"


def is_reference(row: dict) -> bool:
    return row.get("kind") == "reference"


def row_title(row: dict, long: bool = False) -> str:
    """``5 vectorized minibatch`` or ``ref. NBSVM recipe``; ``long``: ``stage 5 ...``,
    ``reference NBSVM recipe``."""
    if is_reference(row):
        return f"{'reference' if long else 'ref.'} {row['name']}"
    return f"{'stage ' if long else ''}{row['stage']} {row['name']}"


def _marked(row: dict) -> str:
    """The title with ``*`` for a stage timed on --limit reviews."""
    return row_title(row) + ("*" if row["limited"] else "")


def format_table(rows: list[dict]) -> str:
    """The rows as a fixed-width text table for a terminal."""
    head = (f"{'stage':<28}{'vocab':>9}{'reviews/s':>12}{'s/epoch':>9}{'vec. s':>8}"
            f"{'fit s':>8}{'train':>9}{'test':>9}{'speed-up':>10}{'time vs':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        ratio = (f"{r['time_ratio']:.2f}x {r['relative_to']}" if r["time_ratio"] is not None
                 else "")
        lines.append(f"{_marked(r):<28.28}{r['vocabulary']:>9,}{r['reviews_per_second']:>12,.0f}"
                     f"{_secs(r['seconds_per_epoch']):>9}{_secs(r['vectorize_seconds']):>8}"
                     f"{_secs(r['fit_seconds']):>8}{pct(r['train_accuracy']):>9}"
                     f"{pct(r['test_accuracy']):>9}{_times(r['speedup']):>10}{ratio:>10}")
    lines.extend(_footnotes(rows))
    return "\n".join(lines)


def _footnotes(rows) -> list[str]:
    out = []
    limited = [r for r in rows if r["limited"]]
    if limited:
        n = ", ".join(f"{x:,}" for x in sorted({r["limited"] for r in limited}))
        out.append(f"* trained and timed on {n} random training reviews of "
                   f"{limited[0]['train_reviews']:,} (--limit); its s/epoch and fit s are "
                   "extrapolated to all of them. Test accuracy is always on the whole test "
                   "set.")
    if any(r["time_ratio"] is not None for r in rows):
        out.append("time vs: the stage's fastest epoch over the named stage's fastest "
                   "epoch. reviews/s and s/epoch come from the median epoch.")
    out.append("vec. s: tokenize, build the vocabulary and encode the training and "
               "validation reviews; fit s: the whole training (every epoch and its "
               "validation, or the solver's fit).")
    if any(is_reference(r) for r in rows):
        out.append(f"ref.: a reference, not a stage: scikit-learn in the same process on the "
                   f"features of stage {DEFAULTS_STAGE} (the defaults), trained on the same "
                   "reviews, C chosen on the same validation split; its reviews/s is over the "
                   "whole fit (every solver iteration), not per epoch.")
    return out


def summary(rows: list[dict]) -> list[str]:
    """Sentences with the headline ratios, for the stages present."""
    by_key = {r["stage"]: r for r in rows}
    out = []
    for fast, slow in HEADLINES:
        if fast in by_key and slow in by_key:
            f, s = by_key[fast], by_key[slow]
            speedup = f["reviews_per_second"] / s["reviews_per_second"]
            out.append(f"stage {fast} trains {speedup:,.0f}x "
                       f"more reviews per second than stage {slow} "
                       f"({f['reviews_per_second']:,.0f} vs {s['reviews_per_second']:,.0f}); "
                       f"test accuracy {pct(f['test_accuracy'])} vs {pct(s['test_accuracy'])}")
    for r in rows:
        if r["time_ratio"] is not None:
            base = by_key[r["relative_to"]]
            out.append(f"stage {r['stage']} ({r['name']}) takes {r['time_ratio']:.2f}x the "
                       f"time per epoch of stage {r['relative_to']} (fastest epochs "
                       f"{r['best_epoch_seconds']:.3f} s vs {base['best_epoch_seconds']:.3f} s; "
                       f"medians {r['seconds_per_epoch']:.3f} s vs "
                       f"{base['seconds_per_epoch']:.3f} s)")
    d = by_key.get(DEFAULTS_STAGE)
    for r in rows:
        if is_reference(r) and d is not None:
            out.append(f"stage {d['stage']} ({d['name']}) against reference {r['name']}, same "
                       f"features: test accuracy {pct(d['test_accuracy'])} vs "
                       f"{pct(r['test_accuracy'])}; vectorizing {_secs(d['vectorize_seconds'])} "
                       f"s vs {_secs(r['vectorize_seconds'])} s, fitting "
                       f"{_secs(d['fit_seconds'])} s vs {_secs(r['fit_seconds'])} s (the "
                       f"reference fits in {r['fit_seconds'] / d['fit_seconds']:.1f}x the time)")
    return out


def format_profile(rows: list[dict]) -> str:
    """Each stage's most expensive functions, as text."""
    lines = []
    for r in rows:
        if not r.get("profile"):
            continue
        lines.append(f"stage {r['stage']} {r['name']}: top functions by own time")
        for p in r["profile"]:
            lines.append(f"  {p['own_seconds']:8.3f} s {p['share']:6.1%} {p['calls']:>9,} calls  "
                         f"{p['function']}")
    return "\n".join(lines)


def write_csv(rows: list[dict], path) -> Path:
    """Write the rows (without profiles) as CSV, one line per stage."""
    path = Path(path)
    with atomic_write(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=ROW_KEYS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def markdown_table(rows: list[dict]) -> str:
    """The rows as a Markdown table, with footnotes."""
    lines = ["| stage | what changed | vocabulary | reviews/s | s/epoch | vec. s | fit s | "
             "train acc. | test acc. | speed-up vs 1 | time vs |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        star = "\\*" if r["limited"] else ""
        ratio = (f"{r['time_ratio']:.2f}x stage {r['relative_to']}"
                 if r["time_ratio"] is not None else "")
        changed = r["changed"].replace("|", "\\|")  # a bare pipe would end the cell
        lines.append(f"| {row_title(r)}{star} | {changed} | "
                     f"{r['vocabulary']:,} | {r['reviews_per_second']:,.0f} | "
                     f"{_secs(r['seconds_per_epoch'])} | {_secs(r['vectorize_seconds'])} | "
                     f"{_secs(r['fit_seconds'])} | {pct(r['train_accuracy'])} | "
                     f"{pct(r['test_accuracy'])} | {_times(r['speedup'])} | {ratio} |")
    notes = [n.replace("*", "\\*", 1) for n in _footnotes(rows)]
    return "\n".join(lines + [line for n in notes for line in ("", n)])


def write_markdown(rows: list[dict], path) -> Path:
    path = Path(path)
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(markdown_table(rows) + "\n")
    return path


def _colour(row: dict) -> str:
    return COLOURS["reference" if is_reference(row) else
                   "limited" if row["limited"] else "stage"]


def _speed_panel(ax, rows: list[dict], y) -> None:
    """Reviews per second, log scale; references green and hatched, with a legend."""
    from matplotlib.patches import Patch

    rates = [r["reviews_per_second"] for r in rows]
    ax.barh(y, rates, color=[_colour(r) for r in rows],
            hatch=["//" if is_reference(r) else "" for r in rows], edgecolor="white")
    ax.set_xscale("log")
    ax.set_xlim(min(rates) / 2, max(rates) * 30)
    for i, r in enumerate(rows):
        extra = (f"  ({_times(r['speedup'])})" if r["speedup"] is not None else
                 "  (whole fit)" if is_reference(r) else "")
        ax.text(r["reviews_per_second"] * 1.15, i, f"{r['reviews_per_second']:,.0f}{extra}",
                va="center", fontsize=9)
    ax.set_yticks(y, [_marked(r) for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("training reviews per second (log scale)")
    kinds = {_colour(r): r for r in rows}
    legend = [Patch(color=COLOURS["stage"], label="stage: per epoch")]
    if COLOURS["limited"] in kinds:
        legend.append(Patch(color=COLOURS["limited"], label="stage, timed on --limit reviews"))
    if COLOURS["reference"] in kinds:
        legend.append(Patch(facecolor=COLOURS["reference"], hatch="//", edgecolor="white",
                            label="reference (scikit-learn): whole fit"))
    ax.legend(handles=legend, loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncol=len(legend), fontsize=8, frameon=False)


def write_chart(rows: list[dict], path, title: str = "") -> Path:
    """Reviews per second per row (log scale) and accuracy beside it, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = np.arange(len(rows))
    height = 1.3 + 0.55 * len(rows)  # inches
    fig, (speed, acc) = plt.subplots(1, 2, figsize=(12, height), sharey=True,
                                     gridspec_kw={"width_ratios": [3, 2]})
    _speed_panel(speed, rows, y)
    first_ref = next((i for i, r in enumerate(rows) if is_reference(r)), 0)
    if first_ref:  # a rule between the stages and the references
        for ax in (speed, acc):
            ax.axhline(first_ref - 0.5, color="#555555", linewidth=0.8, linestyle="--")
    hatch = ["//" if is_reference(r) else "" for r in rows]
    for offset, key, color, label in ((-0.2, "test_accuracy", "#e08a3c", "test (whole set)"),
                                      (0.2, "train_accuracy", "#f3c89e", "train")):
        values = [r[key] for r in rows]
        acc.barh(y + offset, values, height=0.4, color=color, label=label, hatch=hatch,
                 edgecolor="white")
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
    if any(is_reference(r) for r in rows):
        foot.append(f"ref.: scikit-learn on the features and training reviews of stage "
                    f"{DEFAULTS_STAGE}, same process; not a stage.")
    line_height = 0.17 / height  # one 8-point line, as a share of the figure's height
    for i, line in enumerate(reversed(foot)):
        fig.text(0.01, 0.3 * line_height + i * line_height, line, fontsize=8,
                 color="#555555")
    fig.suptitle(title or "Training speed and accuracy per stage")
    fig.tight_layout(rect=(0, (len(foot) + 0.3) * line_height if foot else 0, 1, 1))
    path = Path(path)
    try:
        with atomic_write(path) as f:
            fig.savefig(f, format="png", dpi=110)
    finally:
        plt.close(fig)
    return path


def write_outputs(rows: list[dict], out_dir, *, command: str, data: str,
                  seconds: float) -> list[Path]:
    """Write comparison.csv, comparison.md, comparison.png (if matplotlib is installed)
    and a README.md stating the command, the machine and the headline ratios."""
    out = Path(out_dir)
    code = code_version()  # before writing: rewriting committed outputs is not a code change
    revision = f", code at {code}" if code else ""
    written = [write_csv(rows, out / "comparison.csv"),
               write_markdown(rows, out / "comparison.md")]
    chart = None
    try:
        chart = write_chart(rows, out / "comparison.png", f"Speed and accuracy per stage: {data}")
        written.append(chart)
    except ImportError:
        pass
    written.append(_write_readme(rows, out / "README.md", command=command, data=data,
                                 seconds=seconds, chart=chart, revision=revision))
    return written


def _write_readme(rows, path, *, command, data, seconds, chart, revision="") -> Path:
    lines = ["# The staged comparison", "",
             "Generated by the command below; do not edit by hand, run it again.", "",
             "```bash", command, "```", "",
             f"Data: {data}. Whole run: {seconds:.0f} s on {machine_line(machine())}; load "
             f"average at the end {os.getloadavg()[0]:.1f}{revision}.", ""]
    if chart is not None:
        lines += [f"![speed and accuracy per stage]({Path(chart).name})", ""]
    lines += [markdown_table(rows), ""]
    lines += [f"- {s}" for s in summary(rows)] + [""]
    lines += ["## The stages", ""]
    lines += [f"- **{row_title(r)}**: {r['changed']}. Source: {r['source']}."
              for r in rows if not is_reference(r)]
    refs = [r for r in rows if is_reference(r)]
    if refs:
        import sklearn

        lines += ["", "## The references", "",
                  f"Not stages: scikit-learn {sklearn.__version__} in the same process, on "
                  f"the features of stage {DEFAULTS_STAGE} (the defaults) and its training "
                  "reviews; C chosen on its validation split, never on the test set.", ""]
        lines += [f"- **{row_title(r)}**: {r['changed'].removeprefix('reference, not a stage: ')}"
                  f". Source: {r['source']}." for r in refs]
    prof = format_profile(rows)
    if prof:
        lines += ["", "## Where the time goes (cProfile, own time, training loop only)", "",
                  "```", prof, "```"]
    path = Path(path)
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path
