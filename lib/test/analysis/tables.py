"""Rendering tracker summaries (from ``report.evaluate_trackers``) as md, csv, json or LaTeX.

md / LaTeX show percentages with one decimal (the column headers say "%"); csv and json keep fractions in [0, 1].
csv goes through pandas; markdown and LaTeX are rendered here from plain rows, so that neither ``tabulate`` nor
``jinja2`` (what pandas' own ``to_markdown`` / ``to_latex`` need) is required, and the default table does not pay
pandas' import (about 0.3 s, a sixth of scoring a WebUAV-3M-size benchmark).

* md / LaTeX: the overall table (rows = trackers), then with attributes one table per metric in
  ``ATTRIBUTE_METRICS`` (rows = "attribute (sequence count)", columns = trackers).
* csv: rows = trackers, columns = ``tracker, sequences, <metrics>``; with attributes a tidy table instead, with an
  ``attribute`` column that is ``ALL`` on the overall rows.
* json: ``{label: {<metrics>, sequences, <curves as lists>[, attributes: {name: {<metrics>, sequences}}]}}``.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Mapping, Sequence

from lib.test.analysis.report import SUMMARY_KEYS, Scores

if TYPE_CHECKING:
    import pandas as pd

Grid = tuple[list[str], list[list[float]]]  # row names, rows of fractions

FORMATS = ("md", "csv", "json", "latex")
DISPLAY = {"auc": "AUC", "precision": "Precision", "norm_precision": "Norm. precision", "cauc": "cAUC",
           "macc": "mAcc"}
ATTRIBUTE_METRICS = ("auc", "precision")
CURVES = ("success_curve", "precision_curve", "norm_precision_curve", "complete_success_curve")


def summary_grid(results: Mapping[str, Scores], protocol: str) -> Grid:
    """Rows = trackers, columns = the protocol's summary metrics (fractions)."""
    keys = SUMMARY_KEYS[protocol]
    return list(results), [[float(r[k]) for k in keys] for r in results.values()]


def attribute_grid(results: Mapping[str, Scores], metric: str) -> Grid:
    """Rows = "attribute (sequence count)" in the first tracker's order, columns = trackers."""
    first = next(iter(results.values()))["attributes"]
    return ([f"{a} ({first[a]['sequences']})" for a in first],
            [[float(r["attributes"][a][metric]) for r in results.values()] for a in first])


def tidy_frame(results: Mapping[str, Scores], protocol: str) -> "pd.DataFrame":
    """One row per tracker (and with attributes per (tracker, attribute), overall rows with attribute ``ALL``)."""
    import pandas as pd  # only csv needs it

    keys = SUMMARY_KEYS[protocol]
    rows = []
    for label, r in results.items():
        for attribute, s in [("ALL", r)] + list(r.get("attributes", {}).items()):
            rows.append({"tracker": label, "attribute": attribute, "sequences": s["sequences"],
                         **{k: s[k] for k in keys}})
    frame = pd.DataFrame(rows)
    return frame if any("attributes" in r for r in results.values()) else frame.drop(columns="attribute")


def _percent(rows: Sequence[Sequence[float]]) -> list[list[str]]:
    return [[f"{100 * v:.1f}" for v in row] for row in rows]


def markdown(grid: Grid, index_title: str, headers: list[str]) -> str:
    """A GitHub markdown table of ``grid`` (values as percentages, one decimal)."""
    names, rows = grid
    lines = ["| " + " | ".join([index_title] + headers) + " |",
             "|" + "|".join([":---"] + ["---:"] * len(headers)) + "|"]
    for name, cells in zip(names, _percent(rows)):
        lines.append("| " + " | ".join([str(name)] + cells) + " |")
    return "\n".join(lines)


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _tex(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(c, c) for c in text)


def latex(grid: Grid, index_title: str, headers: list[str], caption: str) -> str:
    """A booktabs ``tabular`` of ``grid`` (values as percentages, one decimal), captioned by a comment line."""
    names, rows = grid
    lines = [f"% {caption}", "\\begin{tabular}{l" + "r" * len(headers) + "}", "\\toprule",
             " & ".join(_tex(h) for h in [index_title] + headers) + " \\\\", "\\midrule"]
    for name, cells in zip(names, _percent(rows)):
        lines.append(" & ".join([_tex(str(name))] + cells) + " \\\\")
    return "\n".join(lines + ["\\bottomrule", "\\end{tabular}"])


def _json_ready(scores: Scores, keys: tuple[str, ...], curves: bool) -> dict:
    out = {k: float(scores[k]) for k in keys}
    out["sequences"] = int(scores["sequences"])
    if "dropped" in scores:
        out["dropped"] = int(scores["dropped"])
    if curves:
        out.update({c: [float(v) for v in scores[c]] for c in CURVES if c in scores})
    return out


def to_json(results: Mapping[str, Scores], protocol: str) -> str:
    keys = SUMMARY_KEYS[protocol]
    data = {}
    for label, r in results.items():
        data[label] = _json_ready(r, keys, curves=True)
        if "attributes" in r:
            data[label]["attributes"] = {a: _json_ready(s, keys, curves=False) for a, s in r["attributes"].items()}
    return json.dumps(data, indent=2)


def render(results: Mapping[str, Scores], protocol: str, fmt: str = "md", title: str = "") -> str:
    """The whole report in ``fmt``; attribute tables whenever the results carry ``attributes``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if not results:
        raise ValueError("no trackers to report")
    with_attributes = any("attributes" in r for r in results.values())
    if fmt == "json":
        return to_json(results, protocol)
    if fmt == "csv":
        return tidy_frame(results, protocol).to_csv(index=False).rstrip("\n")
    keys = SUMMARY_KEYS[protocol]
    headers = [f"{DISPLAY[k]} (%)" for k in keys]
    parts = [(summary_grid(results, protocol), "Tracker", headers, title or "Overall")]
    if with_attributes and next(iter(results.values()))["attributes"]:
        for metric in ATTRIBUTE_METRICS:
            parts.append((attribute_grid(results, metric), "Attribute (sequences)", list(results),
                          f"{DISPLAY[metric]} (%) by attribute"))
    if fmt == "md":
        return "\n\n".join(f"{caption}\n\n{markdown(f, ix, h)}" for f, ix, h, caption in parts)
    return "\n\n".join(latex(f, ix, h, caption) for f, ix, h, caption in parts)
