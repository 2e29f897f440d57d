"""``nas-search report``: one self-contained HTML file of one run or several side by side.

The figures are matplotlib SVG written into the page: no JavaScript, no network, no CDN, and
a file of tens of kilobytes that opens anywhere (a browser, a CI artifact, a mail). Plotly was
the alternative: it would add a dependency and about 3.5 MB of plotly.js to every report to
be offline, and interaction is not what these figures need; what they need from it, the id of
a point under the mouse, SVG gives through a ``<title>`` on each point. Text stays text
(``svg.fonttype: none``) so the page can be searched, and the output is the same bytes for the
same runs (fixed hash salt, no date).
"""

from __future__ import annotations

import html
import io
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from nas_search._version import __version__
from nas_search.config import ObjectiveSpec
from nas_search.results.evidence import (
    Predictions,
    RunData,
    common_report,
    hypervolume_curve,
    parameter_importance,
    predictions,
    same_objectives,
)
from nas_search.results.journal import write_atomic
from nas_search.results.plot import draw_front, pair_panels
from nas_search.results.tables import ParetoReport, front_columns, pareto_report

SVG = "http://www.w3.org/2000/svg"
COLORS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown")
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
th { background: #f4f4f4; } td.text { text-align: left; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #555; }
pre { background: #f7f7f7; padding: 0.8em; font-size: 0.8em; overflow-x: auto; }
svg { max-width: 100%; height: auto; } div.wide { overflow-x: auto; }
"""


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def svg_of(fig: Any, titles: dict[str, list[str]] | None = None) -> str:
    """The figure as an inline ``<svg>`` element; the points of each collection whose gid is
    a key of ``titles`` get those hover titles, one per point, in order."""
    plt = _pyplot()
    buffer = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "nas-search"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    ET.register_namespace("", SVG)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(buffer.getvalue())
    for metadata in root.findall(f"{{{SVG}}}metadata"):  # creator and licence: noise here
        root.remove(metadata)
    for gid, texts in (titles or {}).items():
        group = root.find(f".//{{{SVG}}}g[@id='{gid}']")
        if group is None:
            continue
        for parent in list(group.iter()):
            for k, child in enumerate(list(parent)):
                if child.tag != f"{{{SVG}}}use" or not texts:
                    continue
                wrapper = ET.Element(f"{{{SVG}}}g", {"class": "point"})
                ET.SubElement(wrapper, f"{{{SVG}}}title").text = texts.pop(0)
                parent.remove(child)
                wrapper.append(child)
                parent.insert(k, wrapper)
    return ET.tostring(root, encoding="unicode")


def _point_titles(frame: pd.DataFrame, names: Sequence[str], run: str = "") -> list[str]:
    prefix = f"run {run}, " if run else ""
    return [
        prefix + f"id {row['id']}: " + ", ".join(f"{n} {row[n]:.6g}" for n in names)
        for _, row in frame.iterrows()
    ]


def front_svg(
    runs: Sequence[RunData], reports: Sequence[ParetoReport], common: ParetoReport
) -> tuple[str, str]:
    """The measured fronts: one panel for two objectives, every pair for more; ids on hover."""
    names = [o.name for o in common.objectives]
    fig, panels = pair_panels(len(names), (6, 4.6))
    titles: dict[str, list[str]] = {}
    outside = 0
    for ax, (a, b) in panels:
        for k, (run, report) in enumerate(zip(runs, reports, strict=True)):
            label = f"{run.label}: " if len(runs) > 1 else ""
            gid = f"r{k}-"
            outside = max(outside, draw_front(ax, report, a, b, list(common.reference), label,
                                              COLORS[k % len(COLORS)], gid))  # fmt: skip
            run_label = run.label if len(runs) > 1 else ""
            titles[f"{gid}all-{a}-{b}"] = _point_titles(report.rows, names, run_label)
            titles[f"{gid}front-{a}-{b}"] = _point_titles(report.front, names, run_label)
        ax.legend(loc="best", fontsize=7)
    fig.tight_layout()
    ref = ", ".join(f"{n} {v:.6g}" for n, v in zip(names, common.reference, strict=True))
    caption = (
        f"Every measured sub-network (grey) and the Pareto front{'s' if len(runs) > 1 else ''}; "
        f"hover a point for its id. Axes fitted to the front; reference point: {ref} (drawn "
        "where it falls inside the axes); dashed lines: objective bounds."
        + (f" {outside} measured points lie beyond the axes." if outside else "")
    )
    return svg_of(fig, titles), caption


def hypervolume_svg(runs: Sequence[RunData], common: ParetoReport) -> tuple[str, str]:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for k, run in enumerate(runs):
        curve = hypervolume_curve(run, common.objectives, common)
        ax.step(np.arange(1, len(curve) + 1), curve, where="post", c=COLORS[k % len(COLORS)],
                label=f"{run.label} ({curve[-1]:.4f})" if len(curve) else run.label)  # fmt: skip
    ax.set_xlabel("real evaluations")
    ax.set_ylabel("normalized hypervolume")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    caption = (
        "The hypervolume of the measured front after each evaluation, as a share of the box "
        "between the ideal point (the best value of each objective over "
        f"{'all runs' if len(runs) > 1 else 'the run'}) and the reference point"
        + (": the runs are on one scale." if len(runs) > 1 else ".")
    )
    return svg_of(fig), caption


def predictions_svg(found: Sequence[Predictions]) -> tuple[str, str]:
    plt = _pyplot()
    fig, axes = plt.subplots(2, len(found), figsize=(5 * len(found), 7.5), squeeze=False)
    from matplotlib.ticker import MaxNLocator

    for k, p in enumerate(found):
        ax = axes[0][k]
        shown = ax.scatter(p.measured, p.predicted, c=p.iteration, cmap="viridis", s=14)
        lo = float(min(p.measured.min(), p.predicted.min()))
        hi = float(max(p.measured.max(), p.predicted.max()))
        ax.plot([lo, hi], [lo, hi], c="0.4", lw=1, ls="--")
        tau = "n/a" if p.tau is None else f"{p.tau:.3f}"
        ax.set_title(f"{p.name}: Kendall tau {tau}", fontsize=9)
        ax.set_xlabel(f"measured {p.name}")
        ax.set_ylabel(f"predicted {p.name}")
        fig.colorbar(shown, ax=ax, label="batch")
        ax = axes[1][k]
        if p.tau_per_batch:
            batches, taus = zip(*p.tau_per_batch, strict=True)
            ax.plot(batches, taus, marker="o", ms=3, c="tab:blue")
        ax.axhline(0, c="0.5", lw=0.8)
        ax.set_ylim(-1.05, 1.05)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("batch")
        ax.set_ylabel(f"tau ({p.name}), held out")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    caption = (
        "Top: what the predictors said of each sub-network before it was measured, against "
        "what it measured (colour: batch). Bottom: Kendall rank correlation within each batch: "
        "held out, since no member of a batch was in the rows the predictors were fitted on."
    )
    return svg_of(fig), caption


def importance_svg(found: dict[str, dict[str, float]]) -> tuple[str, str]:
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(found), figsize=(5 * len(found), 0.6 + 0.28 * max(
        len(v) for v in found.values())), squeeze=False)  # fmt: skip
    for ax, (name, values) in zip(axes[0], found.items(), strict=True):
        labels = list(values)[::-1]
        ax.barh(labels, [values[v] for v in labels], color="tab:blue")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("drop in Kendall tau when shuffled")
        ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    caption = (
        "Permutation importance of each parameter to the run's final predictors: how much their "
        "rank correlation with the measurements drops when that parameter's features are "
        "shuffled across the training rows (5 shuffles). It says what the predictors lean on, "
        "not what causes the metric."
    )
    return svg_of(fig), caption


def _table(frame: pd.DataFrame, limit: int = 30) -> str:
    shown = frame.head(limit)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for _, row in shown.iterrows():
        cells = []
        for value in row:
            text = f"{value:.6g}" if isinstance(value, float) else str(value)
            kind = "" if isinstance(value, (int, float, np.number)) else ' class="text"'
            cells.append(f"<td{kind}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p>... {len(frame) - limit} more rows in pareto.csv</p>" if len(frame) > limit else ""
    return f'<div class="wide"><table><tr>{head}</tr>{"".join(rows)}</table></div>{more}'


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>"


def build_report(run_dirs: Sequence[Path], importance: bool = True) -> str:
    """The HTML of the report of ``run_dirs`` (one run, or several of the same objectives)."""
    runs = [RunData.load(Path(d)) for d in run_dirs]
    objectives: list[ObjectiveSpec] = same_objectives(runs)
    names = [o.name for o in objectives]
    common = common_report(runs, objectives)
    reports = [
        pareto_report(
            r.frame, objectives, list(common.reference), str(r.run_dir), ideal=list(common.ideal)
        )  # fmt: skip
        for r in runs
    ]
    title = " vs ".join(r.label for r in runs)
    parts = [f"<h1>nas-search report: {html.escape(title)}</h1>"]
    summary = pd.DataFrame(
        {
            "run": [r.label for r in runs],
            "space": [r.definition.name for r in runs],
            "tactic": [r.definition.settings.tactic for r in runs],
            "seed": [r.definition.settings.seed for r in runs],
            "evaluations": [len(r.frame) for r in runs],
            "failed": [int((r.frame["status"] != "ok").sum()) if len(r.frame) else 0 for r in runs],
            "front": [len(p.front) for p in reports],
            "normalized hypervolume": [p.normalized_hypervolume for p in reports],
        }
    )
    ref = ", ".join(f"{n} = {v:.6g}" for n, v in zip(names, common.reference, strict=True))
    parts += ["<h2>Summary</h2>", _table(summary),
              f"<p>Hypervolume on one reference point ({html.escape(ref)}) and one ideal point "
              "for every run: normalized, it is the share of the box between them that the "
              "front dominates.</p>"]  # fmt: skip
    for run, report in zip(runs, reports, strict=True):
        params = [p.name for p in run.definition.space.parameters if not p.is_fixed]
        columns = [c for c in front_columns(report, params) if c != "hash"] + ["hash"]
        parts += [f"<h2>Pareto front: {html.escape(run.label)}</h2>", _table(report.front[columns])]
    parts += ["<h2>Measured front</h2>", _figure(*front_svg(runs, reports, common))]
    parts += ["<h2>Hypervolume</h2>", _figure(*hypervolume_svg(runs, common))]
    for run in runs:
        found = predictions(run.frame, objectives, run.definition.space.exact_metrics)
        if found:
            parts += [f"<h2>Predicted vs measured: {html.escape(run.label)}</h2>",
                      _figure(*predictions_svg(found))]  # fmt: skip
        weights = parameter_importance(run.run_dir) if importance else {}
        if weights:
            parts += [f"<h2>Parameter importance: {html.escape(run.label)}</h2>",
                      _figure(*importance_svg(weights))]  # fmt: skip
    for run in runs:
        settings = {
            k: run.info.get(k) for k in ("command", "created", "seed", "versions", "machine")
        }
        settings["search"] = run.definition.settings.model_dump(mode="json", exclude={"enqueue"})
        text = yaml.safe_dump(settings, sort_keys=False, allow_unicode=True)
        parts += [f"<h2>Settings, versions and machine: {html.escape(run.label)}</h2>",
                  f"<pre>{html.escape(text)}</pre>"]  # fmt: skip
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>nas-search report: {html.escape(title)}</title>"
        f'<meta name="generator" content="nas-search {__version__}">'
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def write_report(run_dirs: Sequence[Path], out: Path, importance: bool = True) -> Path:
    write_atomic(Path(out), build_report(run_dirs, importance))
    return Path(out)
